/// Where the hostile L1 keeps things (L1-physical = L1-linear: L1 maps 0–4 GiB 1:1). Beside the
/// harness's areas (`L1Layout`: image, page tables, CPU area 0 at 4 MiB) the fuzz uses:
///
/// | 2-MByte region | content | L2 may reach it |
/// |---|---|---|
/// | 6 MiB | the step list the test writes, results, staging images, operands | no |
/// | 8 MiB | VMCS regions, bitmaps, MSR lists, APIC pages L1 hands to vmcs12 | yes (hostile data) |
/// | 12 MiB | EPT12 arena | yes |
/// | 16 MiB | L2 arena: the pages EPT12 usually maps L2's accesses to | yes |
/// | 20 MiB | L2's home: code, GDT, IDT, handlers, page tables, stack | yes |
///
/// "L2 may reach it": EPT12 leaves (and, without EPT, L2's own page tables) point only into
/// these regions or at what is not L1 RAM, so a hostile L2 cannot break the L1 that drives the
/// fuzz. Everything else is L1's own and must never change under L2.
enum FuzzLayout {
    // MARK: L1's control block (6 MiB)
    static let control: UInt64 = 0x60_0000
    /// Header qwords.
    static let stepCount = control + 0x00
    static let stepIndex = control + 0x08
    /// RSP of the step loop (restored at the exit landing, whatever vmcs12's HOST_RSP).
    static let loopRSP = control + 0x10
    /// L1's CR0, CR3, CR4 and IA32_EFER after boot (the landing restores CR0/CR3/CR4).
    static let l1CR0 = control + 0x18, l1CR3 = control + 0x20, l1CR4 = control + 0x28, l1EFER = control + 0x30
    /// Step records (`FuzzStep`), 32 bytes each.
    static let steps = control + 0x1000
    static let maximumSteps = 128
    /// Result records (`StepResult`), 32 bytes each.
    static let results = control + 0x2000
    /// Staging VMCS images L1 copies into regions (`FuzzOp.copyImage`).
    static func stagingImage(_ k: Int) -> UInt64 { control + 0x4000 + UInt64(k) * 0x1000 }
    static let stagingImages = 4
    /// Memory operands (pointers, INVEPT/INVVPID descriptors, VMWRITE sources, VMREAD/VMPTRST
    /// destinations), 16 bytes a slot.
    static let operands = control + 0x8000
    static func operand(_ k: Int) -> UInt64 { operands + UInt64(k) * 16 }
    static let operandSlots = 256

    // MARK: Hostile data (8 MiB)
    static let hostileData: UInt64 = 0x80_0000
    static func vmcsRegion(_ k: Int) -> UInt64 { hostileData + UInt64(k) * 0x1000 }
    static let vmcsRegions = 16
    static func bitmap(_ k: Int) -> UInt64 { hostileData + 0x1_0000 + UInt64(k) * 0x1000 }
    static let bitmaps = 16
    static func msrList(_ k: Int) -> UInt64 { hostileData + 0x2_0000 + UInt64(k) * 0x1000 }
    static let msrLists = 4
    static func apicPage(_ k: Int) -> UInt64 { hostileData + 0x3_0000 + UInt64(k) * 0x1000 }
    static let apicPages = 4

    // MARK: EPT12 (12 MiB)
    static let ept12Arena: UInt64 = 0xC0_0000
    static let ept12Pages = 64

    // MARK: L2 arena (16 MiB)
    static let l2Arena: UInt64 = 0x100_0000
    static let l2ArenaPages = 32

    // MARK: L2's home (20 MiB)
    static let l2Home: UInt64 = 0x140_0000
    static let l2Code = l2Home
    static let l2CodeBytes = 0x2000
    static let l2GDT = l2Home + 0x2000
    static let l2TSS = l2Home + 0x2100
    static let l2IDT = l2Home + 0x3000
    static let l2Handlers = l2Home + 0x4000
    /// L2's page tables under EPT12: PML4, PDPT, four PDs for 0–4 GiB, one for the high GiB.
    static let l2TablesEPT = l2Home + 0x5000
    /// L2's page tables without EPT (L2-physical = L1-physical): PML4, PDPT, four PDs.
    static let l2TablesNoEPT = l2Home + 0xC000
    static let l2StackTop = l2Home + 0x14000
    static let l2HomeBytes: UInt64 = 0x14000
    /// L2-linear 4 GiB … 5 GiB maps (under EPT12) to L2-physical `highWindow` …, above L1's RAM
    /// and within MAXPHYADDR.
    static let highWindow: UInt64 = 0x80_0000_0000

    /// L2 GDT selectors.
    static let l2Code64: UInt16 = 0x08, l2Data: UInt16 = 0x10, l2TR: UInt16 = 0x18

    /// The L1-physical range EPT12 and L2's tables may hand to L2.
    static let l2Reachable: Range<UInt64> = hostileData..<(l2Home + 0x20_0000)

    /// What L1's RAM holds that is L1's alone and constant after boot (image, page tables):
    /// a change there is an L2 access outside EPT12 ∘ EPT01.
    static let l1Constant: Range<UInt64> = L1Layout.image..<(L1Layout.pageDirectories + 0x4000)

    /// Whether the page of `address` overlaps L1's constant memory. VMX pointers L1 hands out
    /// steer around it where L0 or the processor writes through them (VMCLEAR writes the
    /// launch state, VM exits store MSRs, the processor the VTPR): L1 writing its own code
    /// that way is its own doing, not an access outside EPT12 ∘ EPT01 (`MemoryGuard`).
    static func inL1Constant(_ address: UInt64) -> Bool {
        let page = address & ~0xFFF
        return page < l1Constant.upperBound && page &+ 0x2000 > l1Constant.lowerBound
    }
}
