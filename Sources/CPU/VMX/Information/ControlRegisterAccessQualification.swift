/// The exit qualification of a control-register access (SDM Vol. 3C §28.2.1, Table 28-3):
/// control register 3:0, access type 5:4, LMSW operand type 6 (1 = memory), general-purpose
/// register 11:8 (MOV CR), LMSW source data 31:16.
public struct ControlRegisterAccessQualification: RawRepresentable, Equatable, Sendable {
    public enum AccessType: UInt8, Sendable {
        case movToCR = 0
        case movFromCR = 1
        case clts = 2
        case lmsw = 3
    }

    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(controlRegister: UInt8, access: AccessType, register: UInt8 = 0,
                lmswMemoryOperand: Bool = false, lmswSource: UInt16 = 0) {
        rawValue = UInt64(controlRegister & 15) | UInt64(access.rawValue) << 4 | (lmswMemoryOperand ? 1 << 6 : 0)
            | UInt64(register & 15) << 8 | UInt64(lmswSource) << 16
    }

    public var controlRegister: UInt8 { UInt8(rawValue & 15) }
    public var accessType: AccessType { AccessType(rawValue: UInt8((rawValue >> 4) & 3))! }
    public var lmswMemoryOperand: Bool { rawValue & (1 << 6) != 0 }
    /// The general-purpose register of a MOV CR (0 = RAX … 15 = R15).
    public var register: UInt8 { UInt8((rawValue >> 8) & 15) }
    public var lmswSource: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }
}
