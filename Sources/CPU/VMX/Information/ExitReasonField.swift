/// The exit-reason field (SDM Vol. 3C §25.9.1, Table 25-18): basic exit reason 15:0, bit 27
/// exit incident to enclave mode, bit 28 pending MTF VM exit and bit 29 VM exit from VMX root
/// operation (both SMM), bit 31 VM-entry failure. This processor sets only 15:0 and bit 31.
public struct ExitReasonField: RawRepresentable, Equatable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ reason: ExitReason, entryFailure: Bool = false) {
        rawValue = UInt32(reason.rawValue) | (entryFailure ? 1 << 31 : 0)
    }
    public var basicReason: UInt16 { UInt16(truncatingIfNeeded: rawValue) }
    /// Nil for a basic reason Appendix C does not define.
    public var reason: ExitReason? { ExitReason(rawValue: basicReason) }
    public var isEntryFailure: Bool { rawValue & (1 << 31) != 0 }
    public var description: String {
        (reason.map { "\($0)" } ?? "reason \(basicReason)") + (isEntryFailure ? " (VM-entry failure)" : "")
    }
}

extension VMCS {
    @inlinable public var exitReasonField: ExitReasonField {
        get { typed(.exitReason) }
        set { setTyped(.exitReason, newValue) }
    }
}
