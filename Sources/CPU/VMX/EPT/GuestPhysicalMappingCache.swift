/// Cached guest-physical mappings (SDM Vol. 3C §29.4.1 "Information That May Be Cached":
/// with EPT in use a processor may cache the guest-physical → host-physical translations
/// and EPT rights it derived from the EPT paging structures, tagged by EP4TA).
///
/// A TLB miss in a guest with EPT walks the guest's paging structures, and each of their
/// guest-physical addresses needs an EPT walk too: up to 24 memory reads for a 4-level guest
/// under 4-level EPT. This direct-mapped cache of 4-KByte guest-physical pages makes those
/// repeated EPT walks one compare; translations EPT makes with 2-MByte or 1-GByte pages are
/// kept per 2-MByte region in a second table, so a large guest working set under an EPT with
/// large pages (EPT01) stays cached. Only translations EPT allowed are cached, and only without
/// EPT A/D flags (whose setting is a side effect of the walk); any INVEPT empties it
/// (§29.4.3.1: INVEPT invalidates guest-physical mappings), and a change of EPTP needs no
/// flush because entries carry their EP4TA.
final class GuestPhysicalMappingCache {
    struct Entry {
        /// Guest-physical page | 1 (valid); 0 never matches.
        var tag: UInt64 = 0
        var ep4ta: UInt64 = 0
        /// Host-physical address of the 4-KByte page.
        var hostPage: UInt64 = 0
        /// EPT read/write/execute rights of the walk (bits 0–2).
        var rights: UInt8 = 0
    }

    static let bits = 10
    static let count = 1 << bits
    /// 4-KByte mappings, by guest-physical page.
    let entries: UnsafeMutablePointer<Entry>
    /// Mappings from 2-MByte and 1-GByte EPT pages, by 2-MByte region.
    let regions: UnsafeMutablePointer<Entry>
    static let regionShift: UInt64 = 21
    static let regionMask: UInt64 = (1 << regionShift) - 1

    init() {
        entries = .allocate(capacity: Self.count)
        entries.initialize(repeating: Entry(), count: Self.count)
        regions = .allocate(capacity: Self.count)
        regions.initialize(repeating: Entry(), count: Self.count)
    }

    deinit {
        entries.deallocate()
        regions.deallocate()
    }

    @inline(__always)
    func slot(_ gpa: UInt64) -> UnsafeMutablePointer<Entry> {
        entries + Int((gpa >> 12) & UInt64(Self.count - 1))
    }

    @inline(__always)
    func regionSlot(_ gpa: UInt64) -> UnsafeMutablePointer<Entry> {
        regions + Int((gpa >> Self.regionShift) & UInt64(Self.count - 1))
    }

    /// The cached mapping of `gpa` under `ep4ta` (host page = the 4-KByte page holding the
    /// translation of `gpa`), if any.
    @inline(__always)
    func lookup(_ gpa: UInt64, ep4ta: UInt64) -> Entry? {
        let e = slot(gpa)
        if e.pointee.tag == (gpa & ~0xFFF) | 1 && e.pointee.ep4ta == ep4ta { return e.pointee }
        let r = regionSlot(gpa)
        if r.pointee.tag == (gpa & ~Self.regionMask) | 1 && r.pointee.ep4ta == ep4ta {
            var hit = r.pointee
            hit.hostPage = hit.hostPage | (gpa & Self.regionMask & ~0xFFF)
            return hit
        }
        return nil
    }

    /// Caches the translation of `gpa` that EPT made with a page of `pageSize` bytes.
    func insert(_ gpa: UInt64, ep4ta: UInt64, hostPhysical: UInt64, rights: UInt8, pageSize: UInt64 = 4096) {
        if pageSize > Self.regionMask {
            regionSlot(gpa).pointee = Entry(tag: (gpa & ~Self.regionMask) | 1, ep4ta: ep4ta,
                                            hostPage: hostPhysical & ~Self.regionMask, rights: rights)
        } else {
            slot(gpa).pointee = Entry(tag: (gpa & ~0xFFF) | 1, ep4ta: ep4ta, hostPage: hostPhysical & ~0xFFF, rights: rights)
        }
    }

    /// Drops every cached guest-physical mapping (INVEPT of any type).
    func flushAll() {
        for k in 0..<Self.count {
            entries[k].tag = 0
            regions[k].tag = 0
        }
    }
}
