/// A set of VMCS fields by table index (`VMCSFieldTable.entries`), three 64-bit words: what
/// changed value since a consumer last looked. Each consumer of a VMCS keeps its own set in the
/// VMCS (`VMCS.dirty`), so the VM-entry checks, the processor's loaded copy of the guest state
/// and nested VMX's VMCS02 merge each redo only the fields that really changed.
public struct DirtyFields: Equatable, Sendable {
    public enum Consumer: Int, CaseIterable, Sendable {
        /// `VMEntryCheckCache`: rows reading a changed field run again.
        case entryChecks = 0
        /// The processor's state loaded from this VMCS and its unpacked controls.
        case processor = 1
        /// Nested VMX: on a vmcs12, the fields L1 changed since its VMCS02 was last built; on a
        /// VMCS02, the fields that changed (L2's exits save into it) since that build.
        case vmcs02 = 2
    }

    @usableFromInline static let words = 3
    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0

    public init() {}

    init(_ p: UnsafeMutablePointer<UInt64>) {
        w0 = p[0]; w1 = p[1]; w2 = p[2]
    }

    /// The set of `fields`.
    public init(_ fields: [VMCSField]) {
        for f in fields { if let k = VMCSFieldTable.index(of: f) { insert(k) } }
    }

    /// Both sets together (for consumers outside this module, which build sets of fields).
    public func union(_ o: DirtyFields) -> DirtyFields { var d = self; d.formUnion(o); return d }
    /// The fields in both sets.
    public func intersection(_ o: DirtyFields) -> DirtyFields {
        var d = self; d.w0 &= o.w0; d.w1 &= o.w1; d.w2 &= o.w2; return d
    }
    @inline(__always) mutating func remove(_ k: Int) {
        let bit = ~(UInt64(1) << UInt64(k & 63))
        switch k >> 6 { case 0: w0 &= bit; case 1: w1 &= bit; default: w2 &= bit }
    }
    @inline(__always) mutating func insert(_ k: Int) {
        let bit = UInt64(1) << UInt64(k & 63)
        switch k >> 6 { case 0: w0 |= bit; case 1: w1 |= bit; default: w2 |= bit }
    }
    @inline(__always) func word(_ k: Int) -> UInt64 { k == 0 ? w0 : (k == 1 ? w1 : w2) }
    @inline(__always) func contains(_ k: Int) -> Bool { word(k >> 6) & (UInt64(1) << UInt64(k & 63)) != 0 }
    @inline(__always) var isEmpty: Bool { w0 | w1 | w2 == 0 }
    @inline(__always) func intersects(_ o: DirtyFields) -> Bool { (w0 & o.w0) | (w1 & o.w1) | (w2 & o.w2) != 0 }
    @inline(__always) public func subtracting(_ o: DirtyFields) -> DirtyFields {
        var d = self; d.w0 &= ~o.w0; d.w1 &= ~o.w1; d.w2 &= ~o.w2; return d
    }
    @inline(__always) public mutating func formUnion(_ o: DirtyFields) { w0 |= o.w0; w1 |= o.w1; w2 |= o.w2 }

    /// Calls `body` with each index in the set, lowest first.
    @inline(__always)
    func forEach(_ body: (Int) -> Void) {
        for w in 0..<Self.words {
            var bits = word(w)
            while bits != 0 {
                body(w << 6 | bits.trailingZeroBitCount)
                bits &= bits &- 1
            }
        }
    }
}
