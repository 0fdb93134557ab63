/// Where the test L1 keeps things in its (identity-mapped) physical memory. Every address is
/// L1-physical and, since L1 maps its first 4 GiB 1:1, also L1-linear; L2 shares L1's page
/// tables, so with EPT12 the identity part of EPT12 makes them L2-physical too.
enum L1Layout {
    /// Guest RAM of the test machine.
    static let ramBytes: UInt64 = 64 << 20
    /// The AP's real-mode start-up code (SIPI vector 8).
    static let trampoline: UInt64 = 0x8000
    /// The Multiboot image (code and data).
    static let image: UInt64 = 0x10_0000
    /// L1's page tables: PML4, PDPT, four page directories of 2-MByte pages (0–4 GiB).
    static let pml4: UInt64 = 0x30_0000
    static let pdpt: UInt64 = 0x30_1000
    static let pageDirectories: UInt64 = 0x30_2000
    /// The result slots the test reads after the run (`Slot`), 8 bytes each.
    static let results: UInt64 = 0x38_0000
    static let resultSlots = 0x1_0000
    /// Per-processor areas (`CPUArea`), 1 MiB each from here.
    static let cpuAreas: UInt64 = 0x40_0000
    /// Where the EPT tests' lazily mapped L2-physical pages live (32–34 MiB: a 2-MByte region
    /// EPT12 maps with a page table, `EPT12.lazyRegion`).
    static let lazyRegion: UInt64 = 0x200_0000
    /// The local APIC (xAPIC MMIO).
    static let localAPIC: UInt64 = 0xFEE0_0000

    static func area(_ cpu: Int) -> CPUArea { CPUArea(base: cpuAreas + UInt64(cpu) << 20, cpu: cpu) }
}

/// One processor's pages: VMXON region, VMCS regions, bitmaps, MSR lists, stacks, EPT12.
struct CPUArea {
    let base: UInt64
    let cpu: Int

    var vmxonRegion: UInt64 { base }
    /// VMCS regions 0…3 (VMCS `k` at base + (1 + k) × 4 KiB).
    func vmcs(_ k: Int) -> UInt64 { base + UInt64(1 + k) * 0x1000 }
    var ioBitmapA: UInt64 { base + 0x5000 }
    var ioBitmapB: UInt64 { base + 0x6000 }
    var msrBitmap: UInt64 { base + 0x7000 }
    /// Three MSR lists of up to 64 entries: VM-entry MSR-load, VM-exit MSR-store, VM-exit MSR-load.
    var entryMSRLoadList: UInt64 { base + 0x8000 }
    var exitMSRStoreList: UInt64 { base + 0x8400 }
    var exitMSRLoadList: UInt64 { base + 0x8800 }
    /// Memory operands of VMX instructions (pointers, INVEPT/INVVPID descriptors).
    var operands: UInt64 { base + 0x9000 }
    /// L2's general-purpose registers as the exit landing saved them (RAX … R15, by number).
    var savedGPRs: UInt64 { base + 0x9800 }
    func savedGPR(_ number: UInt8) -> UInt64 { savedGPRs + UInt64(number) * 8 }
    /// Where the exit landing continues (a code address the entering code stores).
    var continuation: UInt64 { base + 0x9900 }
    /// The exit reason of the last exit the exit loop logged (for per-exit policies).
    var lastExitReason: UInt64 { base + 0x9908 }
    /// Stacks: L1's, L2 guests' (two), and the ring-0 stack TSS.RSP0 names.
    var l1StackTop: UInt64 { base + 0x2_0000 }
    func l2StackTop(_ k: Int) -> UInt64 { base + 0x2_4000 + UInt64(k) * 0x4000 }
    var ringZeroStackTop: UInt64 { base + 0x3_0000 }
    /// EPT12 (L1's EPT for its guests): PML4, PDPT, PD for 0–1 GiB, PT for `L1Layout.lazyRegion`.
    var ept12PML4: UInt64 { base + 0x4_0000 }
    var ept12PDPT: UInt64 { base + 0x4_1000 }
    var ept12PD: UInt64 { base + 0x4_2000 }
    var ept12PT: UInt64 { base + 0x4_3000 }
    /// A scratch page L2 guests and L1 share data through.
    var shared: UInt64 { base + 0x5_0000 }
    /// TSS selector in the GDT (one TSS per processor).
    var trSelector: UInt16 { UInt16(0x28 + 0x10 * cpu) }
}
