import X86Assembler

/// EPT12, the EPT L1 builds for its guests (SDM Vol. 3C §29.3.2 "EPT Translation Mechanism",
/// Tables 29-1 … 29-6): L2-physical 0–64 MiB identity-mapped with 2-MByte pages, except the
/// 2-MByte region at `L1Layout.lazyRegion`, which one page table maps 4 KiB at a time and
/// which starts empty (`mapLazyPage`).
extension L1Program {
    /// Read, write, execute; memory type WB (bits 5:3 = 6); bit 7 = a 2-MByte page.
    static let eptRWX: UInt64 = 7, eptWriteBack: UInt64 = 6 << 3, eptLargePage: UInt64 = 1 << 7
    /// EPT A/D flags (bits 8, 9), with "enable accessed and dirty flags" in the EPTP.
    static let eptAccessed: UInt64 = 1 << 8, eptDirty: UInt64 = 1 << 9
    static let lazyDirectoryIndex = Int(L1Layout.lazyRegion >> 21)

    /// The EPTP of this processor's EPT12: 4-level (bits 5:3 = 3), WB (bits 2:0 = 6), A/D (6).
    func ept12Pointer(accessedDirty: Bool = false) -> UInt64 { area.ept12PML4 | 3 << 3 | 6 | (accessedDirty ? 1 << 6 : 0) }

    /// Writes EPT12 into this processor's area.
    func buildEPT12() {
        for page in [area.ept12PML4, area.ept12PDPT, area.ept12PD, area.ept12PT] { zeroPage(page) }
        store(area.ept12PML4, area.ept12PDPT | Self.eptRWX)
        store(area.ept12PDPT, area.ept12PD | Self.eptRWX)
        for k in 0..<Int(L1Layout.ramBytes >> 21) where k != Self.lazyDirectoryIndex {
            store(area.ept12PD + UInt64(8 * k), UInt64(k) << 21 | Self.eptLargePage | Self.eptWriteBack | Self.eptRWX)
        }
        store(area.ept12PD + UInt64(8 * Self.lazyDirectoryIndex), area.ept12PT | Self.eptRWX)
    }

    /// Page `k` of the lazy region (L2-physical `lazyRegion + k × 4 KiB`) → L1-physical
    /// `physical`, with `rights` (bits 2:0) and the memory type in bits 5:3.
    func mapLazyPage(_ k: Int, to physical: UInt64, rights: UInt64 = 7, memoryType: UInt64 = 6) {
        store(lazyEntry(k), physical | memoryType << 3 | rights)
    }

    func unmapLazyPage(_ k: Int) { store(lazyEntry(k), 0) }

    /// The EPT12 page-table entry for lazy page `k`.
    func lazyEntry(_ k: Int) -> UInt64 { area.ept12PT + UInt64(8 * k) }

    /// The L2-physical (and, through L1's identity paging, L2-linear) address of lazy page `k`.
    static func lazyAddress(_ k: Int) -> UInt64 { L1Layout.lazyRegion + UInt64(k) * 0x1000 }

    /// MOV qword [address], value.
    func store(_ address: UInt64, _ value: UInt64) {
        a.mov(rax, unsigned: value); a.mov(qword[Int64(address)], rax)
    }
}
