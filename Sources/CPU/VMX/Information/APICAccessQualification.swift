/// Bits 15:12 of the exit qualification for APIC-access VM exits (SDM Vol. 3C §28.2.1,
/// Table 28-6).
public enum APICAccessType: UInt8, Sendable {
    /// Linear access for a data read during instruction execution.
    case linearRead = 0
    /// Linear access for a data write during instruction execution.
    case linearWrite = 1
    /// Linear access for an instruction fetch.
    case linearInstructionFetch = 2
    /// Linear access (read or write) during event delivery.
    case linearDuringEventDelivery = 3
    /// Guest-physical access during event delivery.
    case guestPhysicalDuringEventDelivery = 10
    /// Guest-physical access for an instruction fetch or during instruction execution.
    case guestPhysical = 15

    public var isLinear: Bool { rawValue <= 3 }
}

/// The exit qualification of an APIC-access VM exit (SDM Vol. 3C §28.2.1, Table 28-6): page
/// offset 11:0 for linear accesses (undefined, here 0, for guest-physical ones), access type
/// 15:12, bits 63:16 zero (bit 16, asynchronous to instruction execution, is never produced).
public struct APICAccessQualification: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(offset: UInt64, type: APICAccessType) {
        rawValue = (type.isLinear ? offset & 0xFFF : 0) | UInt64(type.rawValue) << 12
    }

    public var offset: UInt64 { rawValue & 0xFFF }
    /// Nil for an encoding Table 28-6 leaves reserved.
    public var accessType: APICAccessType? { APICAccessType(rawValue: UInt8((rawValue >> 12) & 0xF)) }
}
