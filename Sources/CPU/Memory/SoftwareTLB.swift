/// Permission bits of a cached translation, computed when the entry is filled from the
/// paging-structure walk (and EPT walk) under the paging-control bits then in force
/// (CR0.WP, CR4.SMEP/SMAP, EFER.NXE); changing those bits flushes the TLB.
enum TLBPerm {
    static let readUser: UInt32 = 1 << 0
    static let readSupervisor: UInt32 = 1 << 1
    /// Supervisor read while SMAP is enforced (CPL < 3 with EFLAGS.AC = 0, or implicit).
    static let readSupervisorSMAP: UInt32 = 1 << 2
    static let writeUser: UInt32 = 1 << 3
    static let writeSupervisor: UInt32 = 1 << 4
    static let writeSupervisorSMAP: UInt32 = 1 << 5
    static let execUser: UInt32 = 1 << 6
    static let execSupervisor: UInt32 = 1 << 7
    static let all: UInt32 = 0xFF
    static let allWrite: UInt32 = writeUser | writeSupervisor | writeSupervisorSMAP

    /// Each write permission comes with its read permission (bits 5:3 over bits 2:0): a
    /// present page is readable wherever it is writable (SDM Vol. 3A §4.6; EPT's write
    /// without read is a misconfiguration, Vol. 3C §29.3.3.1). Translated code checks one
    /// write permission for operands that both read and write a page (`BlockTranslator`).
    static func writesImplyReads(_ p: UInt32) -> Bool { (p >> 3) & 7 & ~p == 0 }
}

/// The permission bit each kind of access needs now; depends on CPL, EFLAGS.AC and CR4.SMAP
/// (SDM Vol. 3A §4.6, "Access Rights").
struct AccessMasks {
    var read: UInt32 = TLBPerm.readSupervisor
    var write: UInt32 = TLBPerm.writeSupervisor
    var exec: UInt32 = TLBPerm.execSupervisor
    init() {}
}

/// One cached translation: linear page → host memory (and host-physical page).
struct TLBEntry {
    /// Linear page address | generation (bits 11:0); 0 never matches.
    var tag: UInt64 = 0
    /// Host address minus linear address, the same for every byte of the page (wrapping):
    /// a byte's host address is `hostDelta &+ la`, one addition in translated code
    /// (`BlockTranslator.probe`) and the same across a page for operands that share it.
    var hostDelta: UInt = 0
    /// Host-physical page address (offset into `PhysicalMemory`).
    var physical: UInt64 = 0
    var perms: UInt32 = 0
    var global: Bool = false
    /// Write permissions the walk granted that `perms` withholds because the page holds
    /// decoded code: stores take the slow path (which checks the code, SDM Vol. 3A §11.6)
    /// but need no new walk, since the walk that filled the entry already allowed them.
    var codePageWrites: UInt16 = 0

    /// Moves the write permissions into `codePageWrites` (the page now holds decoded code).
    mutating func withholdWrites() {
        codePageWrites |= UInt16(perms & TLBPerm.allWrite)
        perms &= ~TLBPerm.allWrite
    }
}

/// One paging-structure-cache entry (SDM Vol. 3A §4.10.3.1, the PDE cache): for a 2-MByte
/// region of linear addresses whose walk reached a page table, that table's guest-physical
/// address and the rights the PML4E/PDPTE/PDE (and PML5E) above it grant.
struct PDECacheEntry {
    /// (linear >> 21) << 24 | TLB-set generation << 12 | PDE-cache generation; 0 never matches.
    var tag: UInt64 = 0
    var pageTable: UInt64 = 0
    var user = false
    var writable = false
    var noExecute = false
}

/// One set of cached translations: every translation in it has the same `TranslationTag`.
struct TLBSet {
    /// The entries, allocated the first time the set is used (`SoftwareTLB.count` of them).
    var entries: UnsafeMutablePointer<TLBEntry>? = nil
    /// The set's PDE cache (`SoftwareTLB.pdeCount` entries), allocated with `entries`.
    var pde: UnsafeMutablePointer<PDECacheEntry>? = nil
    /// Advances when the PDE cache alone is invalidated (MOV CR3, INVLPG), 12 bits.
    var pdeGeneration: UInt64 = 1
    /// The generation live entries carry in tag bits 11:0 (see `SoftwareTLB`).
    var generation: UInt64 = 1
    var tag = TranslationTag(vpid: 0, pcid: 0, ep4ta: TranslationTag.linear)
    var inUse = false
    /// `SoftwareTLB.clock` when the set was last current (least recently used is reused first).
    var lastUse: UInt64 = 0
    /// The paging controls the entries' permission bits were computed under (see
    /// `Processor.pagingControlBasis`); a set serves only that basis.
    var basis = TLBBasis()
    /// `SoftwareTLB.writableFilter`: per hash of a physical page, the generation under which
    /// an entry granting writes to such a page was filled (allocated at the first such fill).
    var writableFills: UnsafeMutablePointer<UInt16>? = nil
}

/// What a TLB set's permission bits were computed under (`Processor.pagingControlBasis`).
struct TLBBasis: Equatable {
    /// CR0/CR4/EFER paging controls (bits 11:0) | the APIC-access page (bits 63:12).
    var controls: UInt64 = 0
    /// PKRU (bits 31:0) and IA32_PKRS (bits 63:32) in force (`protectionKeyBasis`).
    var keys: UInt64 = 0
}

/// The software TLB: a few direct-mapped sets of linear-page translations to host pointers,
/// one set per `TranslationTag` (VPID, PCID, EP4TA) and paging-control basis, so translations of several contexts are
/// cached at once and VM entries/exits with VPIDs switch sets instead of flushing
/// (SDM Vol. 3C §29.1, §29.4; Vol. 3A §4.10).
///
/// The hot path sees only the current set: `entries` and `generation`, one compare and one add
/// on a hit. Dropping a whole set is O(1): tags carry a 12-bit generation that advances; the
/// set's array is cleared only when its generation wraps. When all sets are in use the least
/// recently used one is dropped and reused (a processor may drop cached translations at any
/// time, §29.4.3.2).
final class SoftwareTLB {
    static let bits = 12
    static let count = 1 << bits
    static let indexMask: UInt64 = UInt64(count - 1)
    /// Contexts cached at once.
    static let setCount = 8

    /// The current set's entries and generation (hot path).
    private(set) var entries: UnsafeMutablePointer<TLBEntry>
    private(set) var generation: UInt64 = 1
    /// The current set's PDE cache and its generation (TLB misses in 4/5-level paging).
    private(set) var pde: UnsafeMutablePointer<PDECacheEntry>
    private(set) var pdeGeneration: UInt64 = 1
    static let pdeBits = 9
    static let pdeCount = 1 << pdeBits
    /// Advances on every flush and set switch: block-to-block links made under an older epoch
    /// are stale.
    var epoch: UInt64 = 0

    let sets: UnsafeMutablePointer<TLBSet>
    /// Index of the current set in `sets`.
    private(set) var current = 0
    private var clock: UInt64 = 0

    init() {
        sets = .allocate(capacity: SoftwareTLB.setCount)
        sets.initialize(repeating: TLBSet(), count: SoftwareTLB.setCount)
        entries = Self.makeEntries()
        pde = Self.makePDECache()
        sets[0].entries = entries
        sets[0].pde = pde
        sets[0].inUse = true
    }

    deinit {
        for k in 0..<SoftwareTLB.setCount {
            sets[k].entries?.deallocate()
            sets[k].pde?.deallocate()
            sets[k].writableFills?.deallocate()
        }
        sets.deallocate()
    }

    static func makePDECache() -> UnsafeMutablePointer<PDECacheEntry> {
        let e = UnsafeMutablePointer<PDECacheEntry>.allocate(capacity: pdeCount)
        e.initialize(repeating: PDECacheEntry(), count: pdeCount)
        return e
    }

    /// The PDE-cache slot and tag for `linear` in the current set.
    @inline(__always)
    func pdeSlot(_ linear: UInt64) -> (UnsafeMutablePointer<PDECacheEntry>, UInt64) {
        let region = linear >> 21
        return (pde + Int(region & UInt64(SoftwareTLB.pdeCount - 1)),
                (region << 24) | (generation << 12) | pdeGeneration)
    }

    /// Drops set `k`'s PDE cache alone (its TLB entries stay).
    private func dropPDECache(set k: Int) {
        var g = sets[k].pdeGeneration + 1
        if g > 0xFFF {
            g = 1
            if let e = sets[k].pde { for i in 0..<SoftwareTLB.pdeCount { e[i].tag = 0 } }
        }
        sets[k].pdeGeneration = g
        if k == current { pdeGeneration = g }
    }

    static func makeEntries() -> UnsafeMutablePointer<TLBEntry> {
        let e = UnsafeMutablePointer<TLBEntry>.allocate(capacity: count)
        e.initialize(repeating: TLBEntry(), count: count)
        return e
    }

    @inline(__always)
    func slot(_ linear: UInt64) -> UnsafeMutablePointer<TLBEntry> {
        entries + Int((linear >> 12) & SoftwareTLB.indexMask)
    }

    @inline(__always)
    func tag(_ linear: UInt64) -> UInt64 {
        (linear & ~0xFFF) | generation
    }

    // MARK: Choosing the current set

    /// Makes the set for (`tag`, `basis`) current, reusing the least recently used set if none
    /// holds it. Each basis (paging controls the permission bits were computed under) has its
    /// own set, so toggling a control the SDM does not tie to an invalidation (CR0.WP, CR4.SMAP,
    /// CR4.SMEP 1 → 0, PKRU) switches between warm sets instead of emptying one. Invalidations
    /// select sets by tag, so they reach every basis of a context alike.
    /// `fetchUnaffected`: the controls that changed govern data accesses only, so block-to-
    /// block links (made from instruction-fetch translations) stay valid across the switch.
    func activate(_ tag: TranslationTag, basis: TLBBasis, fetchUnaffected: Bool = false) {
        if sets[current].tag == tag && sets[current].basis == basis { return }
        clock &+= 1
        sets[current].lastUse = clock
        var chosen = -1
        for k in 0..<SoftwareTLB.setCount where sets[k].inUse && sets[k].tag == tag && sets[k].basis == basis {
            chosen = k; break
        }
        if chosen < 0 {
            chosen = 0
            for k in 0..<SoftwareTLB.setCount {
                if !sets[k].inUse { chosen = k; break }
                if sets[k].lastUse < sets[chosen].lastUse { chosen = k }
            }
            if sets[chosen].entries == nil {
                sets[chosen].entries = Self.makeEntries()
                sets[chosen].pde = Self.makePDECache()
            }
            drop(set: chosen)
            sets[chosen].inUse = true
            sets[chosen].tag = tag
            sets[chosen].basis = basis
        }
        current = chosen
        entries = sets[chosen].entries!
        generation = sets[chosen].generation
        pde = sets[chosen].pde!
        pdeGeneration = sets[chosen].pdeGeneration
        if !fetchUnaffected { epoch &+= 1 }
    }

    // MARK: Invalidation

    /// Drops every translation of set `k` (advances its generation).
    private func drop(set k: Int) {
        epoch &+= 1
        var g = sets[k].generation + 1
        if g > 0xFFF {
            g = 1
            if let e = sets[k].entries { for i in 0..<SoftwareTLB.count { e[i].tag = 0 } }
            if let e = sets[k].pde { for i in 0..<SoftwareTLB.pdeCount { e[i].tag = 0 } }
        }
        sets[k].generation = g
        if k == current { generation = g }
    }

    /// Drops every cached translation of every context.
    func flushAll() {
        for k in 0..<SoftwareTLB.setCount where sets[k].inUse { drop(set: k) }
    }

    /// Drops every translation of the contexts `matching` selects.
    func invalidate(_ matching: (TranslationTag) -> Bool) {
        for k in 0..<SoftwareTLB.setCount where sets[k].inUse && matching(sets[k].tag) { drop(set: k) }
    }

    /// Drops the translations other than global ones of the contexts `matching` selects
    /// (global translations: Vol. 3A §4.10.2.4).
    func invalidateNonGlobal(_ matching: (TranslationTag) -> Bool) {
        for k in 0..<SoftwareTLB.setCount where sets[k].inUse && matching(sets[k].tag) {
            epoch &+= 1
            dropPDECache(set: k)             // paging-structure caches hold no global entries
            let g = sets[k].generation, e = sets[k].entries!
            for i in 0..<SoftwareTLB.count where e[i].tag & 0xFFF == g && !e[i].global { e[i].tag = 0 }
        }
    }

    /// Which translations of one linear page a context loses (`invalidatePage`).
    enum PageInvalidation { case none, all, globalOnly, nonGlobalOnly }

    /// Drops the translation of the page containing `linear` in each context, as `rule` says.
    func invalidatePage(_ linear: UInt64, _ rule: (TranslationTag) -> PageInvalidation) {
        let index = Int((linear >> 12) & SoftwareTLB.indexMask)
        for k in 0..<SoftwareTLB.setCount where sets[k].inUse {
            let r = rule(sets[k].tag)
            if r == .none { continue }
            epoch &+= 1
            // INVLPG (and the single-address INVPCID/INVVPID) drop every paging-structure-cache
            // entry of the context, whatever its linear address (SDM Vol. 3A §4.10.4.1).
            dropPDECache(set: k)
            let e = sets[k].entries! + index
            guard e.pointee.tag == (linear & ~0xFFF) | sets[k].generation else { continue }
            switch r {
            case .all: e.pointee.tag = 0
            case .globalOnly: if e.pointee.global { e.pointee.tag = 0 }
            case .nonGlobalOnly: if !e.pointee.global { e.pointee.tag = 0 }
            case .none: break
            }
        }
    }

    /// Whether the context `tag` holds a live translation of the page containing `linear`
    /// (for tests and diagnostics; the hot path never asks).
    func holds(_ linear: UInt64, for tag: TranslationTag) -> Bool {
        for k in 0..<SoftwareTLB.setCount where sets[k].inUse && sets[k].tag == tag {
            let e = sets[k].entries! + Int((linear >> 12) & SoftwareTLB.indexMask)
            if e.pointee.tag == (linear & ~0xFFF) | sets[k].generation { return true }
        }
        return false
    }

    // MARK: Write permission to pages holding code

    /// Buckets of `TLBSet.writableFills` (physical page number modulo this).
    static let writableFilterCount = 1 << 14

    @inline(__always)
    static func writableBucket(_ physicalPage: UInt64) -> Int {
        Int((physicalPage >> 12) & UInt64(writableFilterCount - 1))
    }

    /// Notes that the current set now holds an entry granting writes to host-physical page
    /// `page`, so `revokeWrites` must look at this set for it. A bucket stamped with the
    /// set's live generation may be a false positive (an entry since replaced, another page
    /// of the bucket, a stamp from before the generation wrapped), never a false negative.
    func noteWritableFill(physicalPage page: UInt64) {
        var f = sets[current].writableFills
        if f == nil {
            let a = UnsafeMutablePointer<UInt16>.allocate(capacity: SoftwareTLB.writableFilterCount)
            a.initialize(repeating: 0, count: SoftwareTLB.writableFilterCount)
            sets[current].writableFills = a
            f = a
        }
        f![SoftwareTLB.writableBucket(page)] = UInt16(generation)
    }

    /// Removes write permission from every entry, in every context, mapping host-physical page
    /// `page` (the page now holds decoded code, so stores must take the slow path; SDM Vol. 3A
    /// §11.6, self-modifying code). Only sets whose filter bucket for `page` carries the set's
    /// live generation are scanned; a scan that finds no other writable page of the bucket
    /// clears it.
    func revokeWrites(toPhysicalPage page: UInt64) {
        let bucket = SoftwareTLB.writableBucket(page)
        for k in 0..<SoftwareTLB.setCount where sets[k].inUse {
            guard let f = sets[k].writableFills else { continue }
            let g = sets[k].generation
            if UInt64(f[bucket]) != g { continue }
            let e = sets[k].entries!
            var bucketStillWritable = false
            for i in 0..<SoftwareTLB.count where e[i].tag & 0xFFF == g && e[i].perms & TLBPerm.allWrite != 0 {
                if e[i].physical == page {
                    e[i].withholdWrites()
                } else if SoftwareTLB.writableBucket(e[i].physical) == bucket {
                    bucketStillWritable = true
                }
            }
            if !bucketStillWritable { f[bucket] = 0 }
        }
    }
}
