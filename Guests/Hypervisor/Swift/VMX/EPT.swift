/// An extended-page-table hierarchy (SDM Vol. 3C §29.3): four levels of 512 eight-byte entries,
/// 4-KByte pages only. Every entry L1 writes grants read, write and execute (bits 2:0); a leaf
/// also gives the memory type (bits 5:3).
struct EPT {
    static let readWriteExecute: UInt64 = 7
    static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
    var root: UInt64 = 0

    static func create() -> EPT { EPT(root: PageAllocator.allocate()) }

    /// SDM Vol. 3C §25.6.11 ("Extended-Page-Table Pointer (EPTP)"): memory type for the paging
    /// structures (2:0), page-walk length − 1 (5:3), accessed/dirty flags off (bit 6 = 0).
    func pointer(memoryType: UInt64) -> UInt64 { root | memoryType | (3 << 3) }

    /// The entry for `guestPhysical` at `level` (4 = PML4 … 1 = PT), creating the tables above
    /// it when `create` is set.
    func entry(_ guestPhysical: UInt64, create: Bool) -> UnsafeMutablePointer<UInt64>? {
        var table = root
        var level = 4
        while true {
            let index = Int((guestPhysical >> UInt64(12 + 9 * (level - 1))) & 0x1FF)
            let e = Physical.pointer(table, as: UInt64.self) + index
            if level == 1 { return e }
            if e.pointee & Self.readWriteExecute == 0 {
                guard create else { return nil }
                e.pointee = PageAllocator.allocate() | Self.readWriteExecute
            }
            table = e.pointee & Self.addressMask
            level -= 1
        }
    }

    /// Maps the 4-KByte guest-physical page at `guestPhysical` to `hostPhysical` (§29.3.2,
    /// "EPT Translation Mechanism"), write-back.
    func map(_ guestPhysical: UInt64, to hostPhysical: UInt64) {
        entry(guestPhysical, create: true)!.pointee = hostPhysical | Self.readWriteExecute | (6 << 3)
    }

    /// The host-physical address `guestPhysical` maps to, or nil.
    func translate(_ guestPhysical: UInt64) -> UInt64? {
        guard let e = entry(guestPhysical, create: false), e.pointee & Self.readWriteExecute != 0 else { return nil }
        return (e.pointee & Self.addressMask) | (guestPhysical & 0xFFF)
    }
}
