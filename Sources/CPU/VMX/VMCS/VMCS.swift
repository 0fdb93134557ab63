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
    @usableFromInline let values: UnsafeMutablePointer<UInt64>
    @usableFromInline let indexByEncoding: UnsafePointer<Int16>
    /// `VMCSFieldTable.accessibleByEncoding`, reached like the index map.
    let accessibleByEncoding: UnsafePointer<UInt8>
    /// Which fields changed value since each consumer last looked (`DirtyFields`): a write of
    /// the value a field already holds marks nothing, so a consumer redoes only real changes.
    @usableFromInline let dirty: UnsafeMutablePointer<UInt64>
    /// The entry checks' results for this VMCS (`VMEntryCheckCache`), made at its first entry.
    var checkCache: VMEntryCheckCache? {
        didSet { checkCacheUnretained = checkCache.map { Unmanaged.passUnretained($0) } }
    }
    /// `checkCache` without a reference count, for the entry fast path (no retain/release).
    private(set) var checkCacheUnretained: Unmanaged<VMEntryCheckCache>?
    /// The controls `unpackControls` last made from this VMCS (`currentVMCS` nil: no cycle),
    /// under the VMCS registry of the processor whose `vmcsRegistryToken` is `unpackedUnder`
    /// (the shadow VMCS is looked up there). Valid while no control field changed since:
    /// every entry takes the `.processor` dirty set and unpacks again when a control is in it.
    var unpackedControls = NonRootControls()
    var unpackedUnder: VMCSRegistryToken?

    public init(revision: UInt32 = VMXCapabilities.revisionIdentifier) {
        self.revision = revision
        values = .allocate(capacity: VMCSFieldTable.entries.count)
        values.initialize(repeating: 0, count: VMCSFieldTable.entries.count)
        indexByEncoding = VMCSFieldTable.indexByEncoding
        accessibleByEncoding = VMCSFieldTable.accessibleByEncoding
        dirty = .allocate(capacity: DirtyFields.words * DirtyFields.Consumer.allCases.count)
        // Everything counts as changed until each consumer has seen it once.
        dirty.initialize(repeating: ~0, count: DirtyFields.words * DirtyFields.Consumer.allCases.count)
        self[.vmcsLinkPointer] = ~0
    }

    deinit {
        values.deallocate()
        dirty.deallocate()
    }

    @inlinable @inline(__always)
    func index(of f: VMCSField) -> Int? { VMCSFieldTable.index(of: f, in: indexByEncoding) }

    @inlinable
    static func widthMask(_ f: VMCSField) -> UInt64 {
        switch f.width {
        case .bits16: return 0xFFFF
        case .bits32: return 0xFFFF_FFFF
        case .bits64, .natural: return ~0
        }
    }

    /// Full-field access by L0 (no read-only or support restrictions; width-masked). Inlined
    /// into callers, where the field is usually a constant: one load, or a compare and store.
    @inlinable
    public subscript(_ f: VMCSField) -> UInt64 {
        get {
            guard let k = index(of: f) else { return 0 }
            return f.isHighHalf ? values[k] >> 32 : values[k]
        }
        set {
            guard let k = index(of: f) else { return }
            let old = values[k]
            let new = f.isHighHalf ? (old & 0xFFFF_FFFF) | (newValue << 32) : newValue & Self.widthMask(f)
            if new != old {
                values[k] = new
                markDirty(k)
            }
        }
    }

    /// Field index `k` changed value: every consumer sees it changed.
    @inlinable @inline(__always)
    func markDirty(_ k: Int) {
        let w = k >> 6, bit = UInt64(1) << UInt64(k & 63)
        dirty[w] |= bit
        dirty[DirtyFields.words + w] |= bit
        dirty[2 * DirtyFields.words + w] |= bit
    }

    /// The value at table index `k` (a field L0, the processor or nested VMX names by a
    /// precomputed index, `VMCSFieldTable.index(of:)`): the whole stored value, both halves of
    /// a 64-bit field; a written value must already fit the field's width. Inlined across
    /// modules: a load, or a compare, store and dirty mark.
    @inlinable @inline(__always)
    public subscript(index k: Int) -> UInt64 {
        get { values[k] }
        set {
            if values[k] != newValue {
                values[k] = newValue
                markDirty(k)
            }
        }
    }

    /// Takes the fields that changed since `consumer` last looked, and clears them for it.
    @inline(__always)
    public func takeDirty(_ consumer: DirtyFields.Consumer) -> DirtyFields {
        let base = dirty + consumer.rawValue * DirtyFields.words
        let d = DirtyFields(base)
        for w in 0..<DirtyFields.words { base[w] = 0 }
        return d
    }

    /// Copies `fields` from `source` by table index (values as stored, so already masked to
    /// their widths); a field whose value changes is marked changed for every consumer.
    public func copy(_ fields: DirtyFields, from source: VMCS) {
        fields.forEach { k in self[index: k] = source.values[k] }
    }

    /// The table index VMREAD/VMWRITE of encoding `e` reaches, or nil (unsupported component):
    /// bits 63:32 must be 0 (in 64-bit mode; the caller checks), the field supported, and a
    /// high-half access only to a 64-bit field.
    @inline(__always)
    func accessibleIndex(_ e: UInt64) -> Int? {
        guard e < 0x8000, accessibleByEncoding[Int(e)] != 0 else { return nil }
        return index(of: VMCSField(UInt32(e)))
    }

    /// VMREAD semantics for encoding `e` (bits 63:32 of the register operand must be 0 in
    /// 64-bit mode; the caller checks). High-half access to a non-64-bit field is unsupported.
    public func read(encoding e: UInt64) -> Result<UInt64, VMInstructionError> {
        guard let k = accessibleIndex(e) else { return .failure(.unsupportedComponent) }
        return .success(e & 1 != 0 ? values[k] >> 32 : values[k])
    }

    /// VMWRITE semantics: exit-information fields are read-only unless IA32_VMX_MISC[29]
    /// ("VMWRITE to any supported field") is reported.
    public func write(encoding e: UInt64, value: UInt64, anyFieldWritable: Bool) -> VMInstructionError? {
        guard accessibleIndex(e) != nil else { return .unsupportedComponent }
        let f = VMCSField(UInt32(e))
        if f.type == .exitInformation && !anyFieldWritable { return .readOnlyComponent }
        self[f] = f.isHighHalf ? value & 0xFFFF_FFFF : value
        return nil
    }
}
