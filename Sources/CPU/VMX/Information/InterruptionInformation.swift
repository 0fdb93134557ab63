/// The interruption-information format shared by three VMCS fields (SDM Vol. 3C §25.8.3
/// Table 25-17 "VM-entry interruption-information field", §25.9.2 Table 25-19 "VM-exit
/// interruption information", §25.9.3 Table 25-20 "IDT-vectoring information"): vector 7:0,
/// interruption type 10:8, deliver/valid error code 11, NMI unblocking due to IRET 12 (exit
/// information only; reserved at entry), reserved 30:13 (30:12 at entry), valid 31.
/// Every reader and writer of those fields goes through this type.
public struct InterruptionInformation: RawRepresentable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Invalid (bit 31 clear): no event.
    @inlinable public static var none: InterruptionInformation { InterruptionInformation(rawValue: 0) }

    /// A valid event. The error-code bit says the event delivers (or, for exit information,
    /// reports) an error code.
    public init(vector: UInt8, type: InterruptionType, deliversErrorCode: Bool = false,
                nmiUnblockingDueToIRET: Bool = false) {
        rawValue = UInt32(vector) | UInt32(type.rawValue) << 8 | (deliversErrorCode ? Self.errorCodeBit : 0)
            | (nmiUnblockingDueToIRET ? Self.nmiUnblockingBit : 0) | Self.validBit
    }

    static let validBit: UInt32 = 1 << 31
    static let errorCodeBit: UInt32 = 1 << 11
    static let nmiUnblockingBit: UInt32 = 1 << 12

    public var isValid: Bool { rawValue & Self.validBit != 0 }
    public var vector: UInt8 { UInt8(truncatingIfNeeded: rawValue) }
    /// Bits 10:8 as stored (1 is reserved: `type` is nil for it).
    public var typeBits: UInt8 { UInt8((rawValue >> 8) & 7) }
    public var type: InterruptionType? { InterruptionType(rawValue: typeBits) }
    public var deliversErrorCode: Bool { rawValue & Self.errorCodeBit != 0 }
    /// Bit 12 of exit interruption information and IDT-vectoring information (§28.2.2,
    /// §28.2.3): the exit came from a fault of an IRET that had unblocked NMIs.
    public var nmiUnblockingDueToIRET: Bool { rawValue & Self.nmiUnblockingBit != 0 }
    /// Bits 30:12, reserved in the VM-entry field (§27.2.1.3).
    public var entryReservedBits: UInt32 { rawValue & 0x7FFF_F000 }
    /// The same event marked invalid (VM entry clears bit 31 once it delivered the event, §27.6).
    public var invalidated: InterruptionInformation { InterruptionInformation(rawValue: rawValue & ~Self.validBit) }
    /// Vector, type and error-code bit: what re-injecting an IDT-vectoring event copies into
    /// the VM-entry field (§27.6.1; bits 12 and 30:13 are not part of an injection).
    public var asInjection: InterruptionInformation { InterruptionInformation(rawValue: rawValue & 0x8000_0FFF) }

    /// The event this field describes, with the error code and instruction length of the
    /// fields that accompany it. Nil when invalid or when the type is reserved.
    public func event(errorCode: UInt32 = 0, instructionLength: UInt8 = 0) -> Event? {
        guard isValid, let t = type else { return nil }
        return Event(vector: vector, type: t, errorCode: errorCode, hasErrorCode: deliversErrorCode,
                     instructionLength: instructionLength)
    }

    public var description: String {
        guard isValid else { return "none" }
        let name = type.map { "\($0)" } ?? "reserved type \(typeBits)"
        return "vector \(vector) \(name)\(deliversErrorCode ? " with error code" : "")"
    }
}

extension VMCS {
    /// The VM-entry interruption-information field (§25.8.3).
    @inlinable public var entryInterruption: InterruptionInformation {
        get { typed(.entryInterruptionInformation) }
        set { setTyped(.entryInterruptionInformation, newValue) }
    }
    /// The VM-exit interruption-information field (§25.9.2).
    @inlinable public var exitInterruption: InterruptionInformation {
        get { typed(.exitInterruptionInformation) }
        set { setTyped(.exitInterruptionInformation, newValue) }
    }
    /// The IDT-vectoring information field (§25.9.3).
    @inlinable public var idtVectoring: InterruptionInformation {
        get { typed(.idtVectoringInformation) }
        set { setTyped(.idtVectoringInformation, newValue) }
    }

    /// Queues `info` for the next VM entry with its error code and instruction length
    /// (§25.8.3: the three VM-entry event-injection fields).
    public func inject(_ info: InterruptionInformation, errorCode: UInt32 = 0, instructionLength: UInt32 = 0) {
        entryInterruption = info
        self[.entryExceptionErrorCode] = UInt64(errorCode)
        self[.entryInstructionLength] = UInt64(instructionLength)
    }
}
