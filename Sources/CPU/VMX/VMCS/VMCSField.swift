/// A VMCS component, named by its 32-bit encoding (SDM Vol. 3C §25.11.2, Table 25-21):
/// bit 0 access type (1 = high half of a 64-bit field), bits 9:1 index, bits 11:10 type,
/// bits 14:13 width.
public struct VMCSField: Hashable, Sendable, CustomStringConvertible {
    public let encoding: UInt32

    @inlinable public init(_ encoding: UInt32) { self.encoding = encoding }

    public enum Width: UInt32, Sendable { case bits16 = 0, bits64 = 1, bits32 = 2, natural = 3 }
    public enum FieldType: UInt32, Sendable { case control = 0, exitInformation = 1, guestState = 2, hostState = 3 }

    @inlinable public var width: Width { Width(rawValue: (encoding >> 13) & 3)! }
    public var type: FieldType { FieldType(rawValue: (encoding >> 10) & 3)! }
    /// Access type "high": the upper 32 bits of a 64-bit field.
    @inlinable public var isHighHalf: Bool { encoding & 1 != 0 }
    /// The full field a high-half encoding refers to.
    public var fullField: VMCSField { VMCSField(encoding & ~1) }

    public var name: String { VMCSFieldTable.entry(self)?.name ?? "unknown field" }
    public var description: String { "\(name) (0x\(String(encoding, radix: 16)))" }
}
