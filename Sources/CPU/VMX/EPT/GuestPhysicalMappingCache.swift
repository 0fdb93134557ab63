/// Cached guest-physical mappings (SDM Vol. 3C §29.4.1 "Information That May Be Cached":
/// with EPT in use a processor may cache the guest-physical → host-physical translations
/// and EPT rights it derived from the EPT paging structures, tagged by EP4TA).
///
/// A TLB miss in a guest with EPT walks the guest's paging structures, and each of their
/// guest-physical addresses needs an EPT walk too: up to 24 memory reads for a 4-level guest
/// under 4-level EPT. This direct-mapped cache of 4-KByte guest-physical pages makes those
/// repeated EPT walks one compare. Only translations EPT allowed are cached, and only without
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
    let entries: UnsafeMutablePointer<Entry>

    init() {
        entries = .allocate(capacity: Self.count)
        entries.initialize(repeating: Entry(), count: Self.count)
    }

    deinit { entries.deallocate() }

    @inline(__always)
    func slot(_ gpa: UInt64) -> UnsafeMutablePointer<Entry> {
        entries + Int((gpa >> 12) & UInt64(Self.count - 1))
    }

    /// The cached mapping of `gpa` under `ep4ta`, if any.
    @inline(__always)
    func lookup(_ gpa: UInt64, ep4ta: UInt64) -> Entry? {
        let e = slot(gpa)
        return e.pointee.tag == (gpa & ~0xFFF) | 1 && e.pointee.ep4ta == ep4ta ? e.pointee : nil
    }

    func insert(_ gpa: UInt64, ep4ta: UInt64, hostPhysical: UInt64, rights: UInt8) {
        slot(gpa).pointee = Entry(tag: (gpa & ~0xFFF) | 1, ep4ta: ep4ta, hostPage: hostPhysical & ~0xFFF, rights: rights)
    }

    /// Drops every cached guest-physical mapping (INVEPT of any type).
    func flushAll() {
        for k in 0..<Self.count { entries[k].tag = 0 }
    }
}
