@testable import CPU

/// Random EPT12 hierarchies (SDM Vol. 3C §29.3.2, Tables 29-1 … 29-6) in the EPT12 arena, as a
/// hostile L1 might write them: L2's home and arena mapped (usually) so L2 runs, with leaves
/// that point anywhere — other arena pages, hostile data, the EPT12 tables themselves, L0's
/// region, devices, nothing, beyond MAXPHYADDR — with every combination of rights (write-only
/// and execute-only included), memory types (reserved ones included), large pages (misaligned
/// ones included), tables shared and looping, tables in L1's code. No entry that allows
/// writing points at L1 RAM outside L2's regions (`set` enforces it, whatever made the entry),
/// so L2 cannot break the fuzz L1 and `MemoryGuard` may treat a change there as L0's doing;
/// L1's own pages appear read-only.
///
/// The arena is rebuilt (`regenerate`) or edited (`modify`) between cases; `image` is what the
/// test writes to L1 memory.
struct FuzzEPT12 {
    let ramTop: UInt64
    let physicalAddressBits: Int
    private(set) var image = [UInt64](repeating: 0, count: FuzzLayout.ept12Pages * 512)
    /// Pages used as tables so far in this image (the rest are free for `table`).
    private var used = 0
    /// Roots EPTPs may name.
    private(set) var roots: [UInt64] = []
    /// Table pages (arena addresses) that exist, by level, for sharing and loops.
    private var tables: [[UInt64]] = [[], [], [], [], []]

    init(ramTop: UInt64, physicalAddressBits: Int) {
        self.ramTop = ramTop
        self.physicalAddressBits = physicalAddressBits
    }

    static func page(_ k: Int) -> UInt64 { FuzzLayout.ept12Arena + UInt64(k) * 0x1000 }

    private mutating func newTable(level: Int) -> UInt64? {
        guard used < FuzzLayout.ept12Pages else { return nil }
        let p = Self.page(used)
        used += 1
        for k in 0..<512 { image[Int(p - FuzzLayout.ept12Arena) / 8 + k] = 0 }
        tables[level].append(p)
        return p
    }

    private mutating func set(_ table: UInt64, _ index: UInt64, _ entry: UInt64) {
        image[Int(table - FuzzLayout.ept12Arena) / 8 + Int(index)] = confined(entry)
    }

    /// `entry` without its write right (bit 1) when it grants read and write (§29.3.2: bits 1:0
    /// both set; write without read is a misconfiguration, §29.3.3.1, and stays) at L1 RAM
    /// outside L2's regions. Which level walks it does not matter: as a leaf it maps no more
    /// than its address's page or aligned large page (L2's regions are 2-MByte aligned), as a
    /// table its rights cap every leaf beneath (rights AND down the walk) — so `modify`'s
    /// rights flips, loops and tables in L1's code cannot hand L2 L1's own memory to write.
    private func confined(_ entry: UInt64) -> UInt64 {
        let target = entry & 0x000F_FFFF_FFFF_F000
        let l1Own = target < ramTop && !FuzzLayout.l2Reachable.contains(target)
        return entry & 3 == 3 && l1Own ? entry & ~2 : entry
    }
    private func get(_ table: UInt64, _ index: UInt64) -> UInt64 { image[Int(table - FuzzLayout.ept12Arena) / 8 + Int(index)] }

    /// Extra bits of a leaf: memory type (bits 5:3), ignore PAT (6), accessed/dirty (8, 9),
    /// user-execute (10), ignored bits, suppress #VE (63).
    private func leafBits(_ r: inout FuzzRandom) -> UInt64 {
        var b = UInt64(r.weighted([(15, 6), (2, 0), (1, 4), (1, 5), (1, r.pick([2, 3, 7]))])) << 3
        if r.chance(1, in: 4) { b |= 1 << 6 }
        if r.chance(1, in: 4) { b |= 1 << 8 }
        if r.chance(1, in: 4) { b |= 1 << 9 }
        if r.chance(1, in: 8) { b |= 1 << 10 | 1 << 11 }
        if r.chance(1, in: 16) { b |= (r.next() & 0x7FF) << 52 }
        return b
    }

    private func rights(_ r: inout FuzzRandom, writable: Bool) -> UInt64 {
        let v = UInt64(r.weighted([(20, 7), (4, 1), (4, 3), (4, 5), (2, 4), (2, 2), (1, 6), (3, 0)]))
        return writable ? v : v & ~2
    }

    /// A 4-KByte leaf for L2-physical `gpa`: a target and whether writing it may be allowed.
    private func pageLeaf(_ r: inout FuzzRandom) -> UInt64 {
        let (target, writable): (UInt64, Bool)
        switch r.below(100) {
        case 0..<55: (target, writable) = (FuzzLayout.l2Arena + UInt64(r.below(FuzzLayout.l2ArenaPages)) * 0x1000, true)
        case 55..<63: (target, writable) = (FuzzLayout.hostileData + UInt64(r.below(64)) * 0x1000, true)
        case 63..<68: (target, writable) = (Self.page(r.below(FuzzLayout.ept12Pages)), true)
        case 68..<72: (target, writable) = (FuzzLayout.l2Home + UInt64(r.below(0x14)) * 0x1000, true)
        case 72..<78: (target, writable) = (ramTop + UInt64(r.below(0x300)) * 0x1000, true)
        case 78..<82: (target, writable) = (r.pick([0xFEE0_0000, 0xFEC0_0000, 0xFED0_0000, 0xFEB0_0000]), false)
        case 82..<87: (target, writable) = (r.pick([0x2000_0000, 0x1_0000_0000, 0x40_0000_0000]) + UInt64(r.below(64)) * 0x1000, true)
        case 87..<91: (target, writable) = (r.pick([L1Layout.image, L1Layout.pml4, FuzzLayout.control, L1Layout.area(0).base]) + UInt64(r.below(4)) * 0x1000, false)
        case 91..<96: (target, writable) = ((UInt64(1) << UInt64(physicalAddressBits + r.below(52 - physicalAddressBits))) | UInt64(r.below(64)) << 12, true)
        default: (target, writable) = (r.next() & 0x000F_FFFF_FFFF_F000 & ~((1 << 26) - 1), false)
        }
        return target | rights(&r, writable: writable) | leafBits(&r)
    }

    /// A 2-MByte leaf (level 2).
    private func largeLeaf(_ r: inout FuzzRandom, identity gpa: UInt64) -> UInt64 {
        let (target, writable): (UInt64, Bool)
        switch r.below(10) {
        case 0..<4: (target, writable) = (FuzzLayout.l2Reachable.lowerBound + UInt64(r.below(7)) << 21, true)
        case 4: (target, writable) = (UInt64(r.below(4)) << 21, false)                    // L1's own first 8 MiB
        case 5: (target, writable) = (ramTop + UInt64(r.below(2)) << 21, true)
        case 6: (target, writable) = (0x2000_0000, true)
        case 7: (target, writable) = (FuzzLayout.l2Arena | UInt64(1 + r.below(511)) << 12, true)   // misaligned
        default: (target, writable) = (FuzzLayout.l2Reachable.contains(gpa) ? gpa : FuzzLayout.l2Arena, true)
        }
        return target | 0x80 | rights(&r, writable: writable) | leafBits(&r)
    }

    /// A pointer to a table that is not in the arena: L1 code (constant), L0's region, nothing,
    /// beyond MAXPHYADDR, or reserved bits.
    private func oddTable(_ r: inout FuzzRandom) -> UInt64 {
        switch r.below(5) {
        case 0: return (L1Layout.image + UInt64(r.below(4)) * 0x1000) | 7
        case 1: return (ramTop + UInt64(r.below(0x100)) * 0x1000) | 7
        case 2: return 0x2000_0000 | 7
        case 3: return (UInt64(1) << UInt64(physicalAddressBits)) | 7
        default: return Self.page(r.below(max(used, 1))) | 7 | UInt64(1 + r.below(31)) << 3
        }
    }

    /// Rebuilds the arena from nothing.
    mutating func regenerate(_ r: inout FuzzRandom) {
        used = 0
        tables = [[], [], [], [], []]
        roots = []
        let rootCount = 1 + r.below(3)
        for _ in 0..<rootCount {
            guard let pml4 = newTable(level: 4) else { break }
            roots.append(pml4)
            buildLowGiB(&r, pml4)
            if r.chance(1, in: 2) { buildHighWindow(&r, pml4) }
        }
        // Sharing and loops: entries that point at existing tables of another level.
        for _ in 0..<r.below(4) { addOddLink(&r) }
    }

    private mutating func buildLowGiB(_ r: inout FuzzRandom, _ pml4: UInt64) {
        let pdpt: UInt64
        if r.chance(1, in: 4), let shared = tables[3].last, r.chance(1, in: 2) {
            pdpt = shared
        } else {
            guard let t = newTable(level: 3) else { return }
            pdpt = t
            // 1–4 GiB: nothing, 1-GByte pages, or a directory with device windows.
            for k: UInt64 in 1..<4 where r.chance(1, in: 4) {
                switch r.below(3) {
                case 0: set(pdpt, k, (k << 30) | 0x80 | rights(&r, writable: k >= 1) | leafBits(&r) | (r.chance(1, in: 5) ? 0x1000 : 0))
                case 1: set(pdpt, 0x3, r.chance(1, in: 2) ? 0xC000_0000 | 0x80 | 1 | 6 << 3 : 0)
                default: if let pd = newTable(level: 2) {
                    set(pdpt, k, pd | 7)
                    for _ in 0..<r.below(6) { set(pd, UInt64(r.below(512)), (k << 30 | UInt64(r.below(512)) << 21) | 0x80 | rights(&r, writable: true) | leafBits(&r)) }
                    if k == 3 { set(pd, 0x1F6, 0xFEC0_0000 | 0x80 | 1 | 6 << 3); set(pd, 0x1F7, 0xFEE0_0000 | 0x80 | 5 | 6 << 3) }
                }
                }
            }
        }
        set(pml4, 0, pdpt | rights(&r, writable: true).nonZero(or: 7) | (r.chance(1, in: 30) ? 0x80 : 0))
        if r.chance(1, in: 2) { set(pml4, 0, pdpt | 7) }
        if get(pdpt, 0) & 7 != 0 && r.chance(1, in: 3) { return }                      // shared, already built
        guard let pd = newTable(level: 2) else { return }
        set(pdpt, 0, pd | (r.chance(9, in: 10) ? 7 : rights(&r, writable: true)))
        // The 2-MByte regions of the first GiB.
        for region: UInt64 in 0..<48 {
            let gpa = region << 21
            let home = gpa == FuzzLayout.l2Home, arena = gpa == FuzzLayout.l2Arena
            if home {
                if r.chance(9, in: 10) { set(pd, region, gpa | 0x80 | 7 | 6 << 3) } else { mapWithPageTable(&r, pd, region, identity: true) }
            } else if arena {
                mapWithPageTable(&r, pd, region, identity: false)
            } else if FuzzLayout.l2Reachable.contains(gpa) {
                switch r.below(4) {
                case 0: set(pd, region, gpa | 0x80 | 7 | 6 << 3)
                case 1: mapWithPageTable(&r, pd, region, identity: false)
                case 2: set(pd, region, largeLeaf(&r, identity: gpa))
                default: break
                }
            } else if r.chance(1, in: 12) {
                set(pd, region, r.chance(1, in: 3) ? oddTable(&r) : largeLeaf(&r, identity: gpa))
            }
        }
    }

    /// A page table for a 2-MByte region: identity (L2's home) or random leaves.
    private mutating func mapWithPageTable(_ r: inout FuzzRandom, _ pd: UInt64, _ region: UInt64, identity: Bool) {
        if !identity, r.chance(1, in: 6), let shared = tables[1].last {
            set(pd, region, shared | 7)
            return
        }
        guard let pt = newTable(level: 1) else { return }
        set(pd, region, pt | (r.chance(15, in: 16) ? 7 : rights(&r, writable: true)))
        let base = region << 21
        if identity {
            for k: UInt64 in 0..<0x14 { set(pt, k, (base + k * 0x1000) | 7 | 6 << 3) }
            for _ in 0..<1 + r.below(3) { set(pt, UInt64(r.below(0x14)), pageLeaf(&r)) }
        } else {
            for k in 0..<FuzzLayout.l2ArenaPages + 8 where r.chance(7, in: 8) { set(pt, UInt64(k), pageLeaf(&r)) }
            for _ in 0..<r.below(4) { set(pt, UInt64(r.below(512)), pageLeaf(&r)) }
        }
    }

    /// L2-physical `highWindow` (PML4 entry 1): 2-MByte pages onto the L2 regions, or a table.
    private mutating func buildHighWindow(_ r: inout FuzzRandom, _ pml4: UInt64) {
        guard let pdpt = newTable(level: 3), let pd = newTable(level: 2) else { return }
        set(pml4, FuzzLayout.highWindow >> 39, pdpt | 7)
        set(pdpt, 0, pd | 7)
        for k: UInt64 in 0..<4 where r.chance(2, in: 3) { set(pd, k, largeLeaf(&r, identity: FuzzLayout.l2Arena)) }
        if r.chance(1, in: 2) { mapWithPageTable(&r, pd, 4, identity: false) }
    }

    private mutating func addOddLink(_ r: inout FuzzRandom) {
        let level = 2 + r.below(3)
        guard let table = tables[level].randomElement(using: &r) else { return }
        let target: UInt64
        if r.chance(1, in: 2), let other = tables[r.below(5)].randomElement(using: &r) { target = other | 7 } else { target = oddTable(&r) }
        set(table, UInt64(r.chance(1, in: 2) ? r.below(512) : r.below(8)), target)
    }

    /// A few entries rewritten (an L1 editing its EPT12 between entries). A new entry is a
    /// leaf, or a link to a table in the arena: EPT12's tables stay in the arena, the memory
    /// the fuzz watches for changes to EPT12 (`EPT12Staleness`).
    mutating func modify(_ r: inout FuzzRandom) {
        guard used > 0 else { return regenerate(&r) }
        for _ in 0..<1 + r.below(4) {
            let table = Self.page(r.below(used))
            let level = (1...4).first { tables[$0].contains(table) } ?? 1
            let index = UInt64(r.chance(3, in: 4) ? r.below(FuzzLayout.l2ArenaPages + 8) : r.below(512))
            switch r.below(4) {
            case 0: set(table, index, 0)
            case 1:
                switch level {
                case 1: set(table, index, pageLeaf(&r))
                case 2, 3 where r.chance(1, in: 2): set(table, index, largeLeaf(&r, identity: FuzzLayout.l2Arena))
                default: set(table, index, tables[level - 1].randomElement(using: &r).map { $0 | 7 } ?? 0)
                }
            case 2: set(table, index, get(table, index) ^ UInt64(1 + r.below(7)))
            default: set(table, index, get(table, index) & ~2)
            }
        }
    }

    /// An EPTP for vmcs12 or an INVEPT descriptor: one of the roots, WB, 4-level, A/D
    /// sometimes; now and then something VM entry must refuse, or a root that is not one.
    func pointer(_ r: inout FuzzRandom) -> UInt64 {
        let root = roots.isEmpty ? FuzzLayout.ept12Arena : r.pick(roots)
        let ad: UInt64 = r.chance(1, in: 3) ? 1 << 6 : 0
        switch r.below(90) {
        case 0: return root | 3 << 3 | 0 | ad                                          // UC
        case 1: return root | UInt64(r.below(8)) << 3 | UInt64(r.below(8)) | ad
        case 2: return root | 3 << 3 | 6 | UInt64(1 + r.below(31)) << 7
        case 3: return Self.page(r.below(FuzzLayout.ept12Pages)) | 3 << 3 | 6 | ad
        case 4: return (ramTop + UInt64(r.below(0x100)) * 0x1000) | 3 << 3 | 6
        case 5: return r.next()
        default: return root | 3 << 3 | 6 | ad
        }
    }
}

private extension UInt64 {
    func nonZero(or fallback: UInt64) -> UInt64 { self & 7 == 0 ? fallback : self }
}

extension FuzzRandom: RandomNumberGenerator {}
