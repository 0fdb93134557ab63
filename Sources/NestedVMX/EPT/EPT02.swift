import CPU

/// Nested EPT (SDM Vol. 3C §29.3 "The Extended Page Table Mechanism", applied twice): when a
/// guest hypervisor's VMCS enables EPT, its guest (L2) runs under EPT02, a real EPT hierarchy
/// in L0's pages that caches EPT12 ∘ EPT01. It starts empty; each EPT02 violation walks EPT12
/// (in L1's memory, bounded to L1's RAM) for the access and either fills EPT02 — L1 RAM maps
/// 1:1 through EPT01 — or is the guest hypervisor's own EPT violation or misconfiguration, or
/// an access to one of L1's devices that L0 emulates.
///
/// EPT02 entries are cached translations in the sense of §29.4: dropped on L1's INVEPT, VMXOFF
/// and when the pool runs out, never used to deny an access without walking EPT12 again (so
/// EPT12 changes that add rights take effect as they would on hardware). With EPT12 A/D flags
/// on, a leaf is writable in EPT02 only once the walk for a write has set EPT12's dirty flag.
final class EPT02 {
    /// L0 memory for EPT02 paging structures (all processors share the pool).
    static let poolBytes: UInt64 = 16 << 20

    let pool: L0Pages
    let l1: L1Memory
    let features: EPTFeatures
    let physicalAddressBits: Int
    /// Called when the pool is used up (drops every processor's EPT02, then this one retries).
    var reclaim: (() -> Void)?
    /// EPT02 roots by EPT12's EPTP (the EP4TA and the A/D flag).
    private(set) var roots: [UInt64: UInt64] = [:]

    init(pool: L0Pages, l1: L1Memory, features: EPTFeatures, physicalAddressBits: Int) {
        self.pool = pool
        self.l1 = l1
        self.features = features
        self.physicalAddressBits = physicalAddressBits
    }

    /// EPT02's key for an EPTP12: bits 51:12 and the A/D flag (6).
    static func key(_ eptp12: EPTPointer) -> UInt64 { eptp12.raw & 0x000F_FFFF_FFFF_F040 }

    /// The EPTP for VMCS02 while L2 runs under `eptp12`: 4-level, write-back, A/D as EPT12 has
    /// it (the processor then treats guest paging-structure accesses as writes, §29.3.3.2).
    func pointer(for eptp12: EPTPointer) -> EPTPointer? {
        guard let root = root(for: eptp12) else { return nil }
        return EPTPointer.make(root: root, levels: 4, accessedDirty: eptp12.accessedDirtyEnabled)
    }

    private func root(for eptp12: EPTPointer) -> UInt64? {
        let k = Self.key(eptp12)
        if let r = roots[k] { return r }
        guard let r = allocate() else { return nil }
        roots[k] = r
        return r
    }

    private func allocate() -> UInt64? {
        if let p = pool.allocate() { return p }
        reclaim?()
        return pool.allocate()
    }

    /// What an EPT02 violation at L2-physical `gpa` turns out to be.
    enum Resolution: Equatable {
        /// EPT02 now maps the page with the rights EPT12 grants: resume L2.
        case filled
        /// EPT12 denies the access: L1's EPT violation, with EPT12's rights (bits 2:0).
        case violation(rights: UInt8)
        /// EPT12 is misconfigured for the address: L1's EPT misconfiguration.
        case misconfiguration
        /// EPT12 maps the page to one of L1's device windows at this L1-physical address.
        case l1Device(physical: UInt64)
    }

    /// SDM Vol. 3C §29.3.2/§29.3.3 for EPT12, then EPT01 (identity on L1 RAM): resolves an EPT02
    /// violation for `access` at `gpa` under `eptp12`.
    func resolve(_ gpa: UInt64, _ access: EPTAccess, eptp12: EPTPointer) -> Resolution {
        let walker = EPTWalker(memory: l1.memory, features: features, physicalAddressBits: physicalAddressBits,
                               ramLimit: l1.ramTop)
        switch walker.translate(gpa, access, eptp: eptp12) {
        case .violation(let rights): return .violation(rights: rights)
        case .misconfiguration: return .misconfiguration
        case .translated(let physical, let rights, _):
            guard l1.isRAM(physical & ~0xFFF, length: 4096) else { return .l1Device(physical: physical) }
            var granted = rights & 7
            // A/D in EPT12: write permission only once EPT12's dirty flag is set, which this
            // walk does for a write (or a paging-structure access, counted as a write).
            if eptp12.accessedDirtyEnabled && !(access.write || access.pagingStructure) { granted &= ~2 }
            return map(gpa, to: physical & ~0xFFF, rights: granted, eptp12: eptp12) ? .filled : .misconfiguration
        }
    }

    /// EPT02 entry bits (Tables 29-1 … 29-6): RWX, and WB memory type on leaves.
    static let readWriteExecute: UInt64 = 0b111
    static let writeBack: UInt64 = 6 << 3

    /// Installs the 4-KByte translation `gpa` → `hpa` in EPT02, creating tables as needed.
    private func map(_ gpa: UInt64, to hpa: UInt64, rights: UInt8, eptp12: EPTPointer) -> Bool {
        let generation = pool.generation
        guard var table = root(for: eptp12) else { return false }
        if pool.generation != generation { return map(gpa, to: hpa, rights: rights, eptp12: eptp12) }
        for level in stride(from: 4, to: 1, by: -1) {
            let index = (gpa >> UInt64(12 + 9 * (level - 1))) & 0x1FF
            let at = table + index * 8
            let entry = (try? l1.memory.load(UInt64.self, at: at)) ?? 0
            if entry & 7 != 0 {
                table = entry & 0x000F_FFFF_FFFF_F000
                continue
            }
            guard let next = allocate() else { return false }
            // A reclaim dropped this hierarchy (`table` may now be another table): start again
            // from a fresh root.
            if pool.generation != generation { return map(gpa, to: hpa, rights: rights, eptp12: eptp12) }
            try? l1.memory.store(next | Self.readWriteExecute, at: at)
            table = next
        }
        let leaf = hpa | UInt64(rights & 7) | (rights & 7 != 0 ? Self.writeBack : 0)
        try? l1.memory.store(leaf, at: table + ((gpa >> 12) & 0x1FF) * 8)
        return true
    }

    /// SDM Vol. 3C ch. 31 INVEPT, §29.4.3.1 — single-context for `eptp12`: the mappings of its
    /// EP4TA (bits 51:12), whatever the A/D flag, so both EPT02s of that EP4TA are dropped (the
    /// caller flushes the processor's translations for the returned EPTP02s).
    func drop(_ eptp12: EPTPointer) -> [EPTPointer] {
        let ep4ta = Self.key(eptp12) & ~Self.accessedDirtyFlag
        return [ep4ta, ep4ta | Self.accessedDirtyFlag].compactMap { k in
            roots.removeValue(forKey: k).map { EPTPointer.make(root: $0, levels: 4, accessedDirty: k & Self.accessedDirtyFlag != 0) }
        }
    }

    /// EPTP bit 6, part of EPT02's key.
    static let accessedDirtyFlag: UInt64 = 1 << 6

    /// INVEPT all-context, VMXOFF, pool reclaim: every EPT02 of this processor (roots are made
    /// again on the next lookup).
    func dropAll() { roots.removeAll() }
}
