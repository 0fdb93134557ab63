/// The exit qualification of an I/O-instruction VM exit (SDM Vol. 3C §28.2.1, Table 28-5):
/// size of access 2:0 (0 = 1 byte, 1 = 2, 3 = 4), direction 3 (1 = IN), string 4, REP 5,
/// operand encoding 6 (1 = immediate), port 31:16.
public struct IOInstructionQualification: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(port: UInt16, size: Int, input: Bool, string: Bool, rep: Bool, immediate: Bool) {
        rawValue = UInt64(size - 1) | (input ? 1 << 3 : 0) | (string ? 1 << 4 : 0) | (string && rep ? 1 << 5 : 0)
            | (immediate ? 1 << 6 : 0) | UInt64(port) << 16
    }

    /// Access size in bytes: 1, 2 or 4.
    public var size: Int { Int(rawValue & 7) + 1 }
    public var isInput: Bool { rawValue & (1 << 3) != 0 }
    public var isString: Bool { rawValue & (1 << 4) != 0 }
    public var isREP: Bool { rawValue & (1 << 5) != 0 }
    public var hasImmediatePort: Bool { rawValue & (1 << 6) != 0 }
    public var port: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }
}
