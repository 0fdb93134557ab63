/// A virtual-machine control structure: every field of `VMCSFieldTable`, stored densely by
/// table index, with the width and access-type rules of VMREAD/VMWRITE (SDM Vol. 3C §25.11.2;
/// Vol. 3C ch. 31 "VMREAD", "VMWRITE"). The memory image is implementation-specific (§25.2):
/// this one is the revision identifier, the abort indicator, then the values by index.
public final class VMCS {
    public var revision: UInt32
    /// Launch state (§25.11.3): VMLAUNCH needs "clear", VMRESUME "launched".
    public var launched = false
    /// The VMX-abort indicator (byte offset 4 of the VMCS region, §25.2, §28.7); 0 = no abort.
    public var abortIndicator: UInt32 = 0
    /// Field values by table index. VM entry and exit touch ~150 fields, so storage and the
    /// encoding → index map are reached through plain pointers (the map is loaded once per
    /// VMCS, not through a lazy global per access).
    let values: UnsafeMutablePointer<UInt64>
    let indexByEncoding: UnsafePointer<Int16>

    public init(revision: UInt32 = VMXCapabilities.revisionIdentifier) {
        self.revision = revision
        values = .allocate(capacity: VMCSFieldTable.entries.count)
        values.initialize(repeating: 0, count: VMCSFieldTable.entries.count)
        indexByEncoding = VMCSFieldTable.indexByEncoding
        self[.vmcsLinkPointer] = ~0
    }

    deinit { values.deallocate() }

    @inline(__always)
    func index(of f: VMCSField) -> Int? { VMCSFieldTable.index(of: f, in: indexByEncoding) }

    static func widthMask(_ f: VMCSField) -> UInt64 {
        switch f.width {
        case .bits16: return 0xFFFF
        case .bits32: return 0xFFFF_FFFF
        case .bits64, .natural: return ~0
        }
    }

    /// Full-field access by L0 (no read-only or support restrictions; width-masked).
    public subscript(_ f: VMCSField) -> UInt64 {
        get {
            guard let k = index(of: f) else { return 0 }
            return f.isHighHalf ? values[k] >> 32 : values[k]
        }
        set {
            guard let k = index(of: f) else { return }
            if f.isHighHalf {
                values[k] = (values[k] & 0xFFFF_FFFF) | (newValue << 32)
            } else {
                values[k] = newValue & Self.widthMask(f)
            }
        }
    }

    /// VMREAD semantics for encoding `e` (bits 63:32 of the register operand must be 0 in
    /// 64-bit mode; the caller checks). High-half access to a non-64-bit field is unsupported.
    public func read(encoding e: UInt64) -> Result<UInt64, VMInstructionError> {
        guard e >> 32 == 0 else { return .failure(.unsupportedComponent) }
        let f = VMCSField(UInt32(e))
        guard let entry = VMCSFieldTable.entry(f), entry.supported,
              !(f.isHighHalf && f.width != .bits64) else { return .failure(.unsupportedComponent) }
        return .success(self[f])
    }

    /// VMWRITE semantics: exit-information fields are read-only unless IA32_VMX_MISC[29]
    /// ("VMWRITE to any supported field") is reported.
    public func write(encoding e: UInt64, value: UInt64, anyFieldWritable: Bool) -> VMInstructionError? {
        guard e >> 32 == 0 else { return .unsupportedComponent }
        let f = VMCSField(UInt32(e))
        guard let entry = VMCSFieldTable.entry(f), entry.supported,
              !(f.isHighHalf && f.width != .bits64) else { return .unsupportedComponent }
        if f.type == .exitInformation && !anyFieldWritable { return .readOnlyComponent }
        self[f] = f.isHighHalf ? value & 0xFFFF_FFFF : value
        return nil
    }
}
