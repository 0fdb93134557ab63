@testable import CPU

/// L2's fixed environment in its home region (`FuzzLayout`): a GDT with a 64-bit code, a data
/// and a TSS descriptor, an IDT whose every vector leads to a handler that tells L1 which
/// vector it was (`MOV EAX, vector; VMCALL`, forever), and two sets of 4-level page tables —
/// identity for 0–4 GiB plus a window at 4 GiB onto L2-physical `highWindow` (for EPT12 to
/// decide), and, for guests without EPT (L2-physical is L1-physical), tables that reach only
/// what L2 may touch: L2's regions 1:1, every other 2-MByte region of the first 4 GiB aliased
/// onto the L2 arena, and a few windows onto what is not L1 RAM (L0's region, devices, nothing),
/// read-only where writes would reach a device L1 depends on.
enum FuzzL2Home {
    static let bytes: [UInt8] = build()

    /// The page-directory entries of the no-EPT tables, by 2-MByte region of 0–4 GiB.
    static func noEPTEntry(region k: UInt64, ramTop: UInt64) -> UInt64 {
        let address = k << 21
        let large: UInt64 = 0x83                                      // P, RW, PS
        if FuzzLayout.l2Reachable.contains(address) { return address | large }
        if address == ramTop || address == ramTop + (2 << 20) { return address | large }   // L0's region
        if address == 0xFEC0_0000 || address == 0xFEE0_0000 { return address | 0x81 }     // IOAPIC, LAPIC: read-only
        if address >= 0x2000_0000 && address < 0x2020_0000 { return address | large }       // no RAM, no device
        if k % 7 == 3 { return 0 }                                                          // not present
        return FuzzLayout.l2Arena | large
    }

    private static func build() -> [UInt8] {
        var page = [UInt8](repeating: 0, count: Int(FuzzLayout.l2HomeBytes))
        func put(_ value: UInt64, at address: UInt64) {
            let o = Int(address - FuzzLayout.l2Home)
            for k in 0..<8 { page[o + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        }
        // GDT: null, 64-bit code, data, 64-bit TSS (busy).
        put(0x00AF_9B00_0000_FFFF, at: FuzzLayout.l2GDT + 0x08)
        put(0x00CF_9300_0000_FFFF, at: FuzzLayout.l2GDT + 0x10)
        let tss = FuzzLayout.l2TSS
        put(0x67 | (tss & 0xFF_FFFF) << 16 | UInt64(0x8B) << 40 | (tss >> 24 & 0xFF) << 56, at: FuzzLayout.l2GDT + 0x18)
        put(tss >> 32, at: FuzzLayout.l2GDT + 0x20)
        put(FuzzLayout.l2StackTop, at: tss + 4)                                              // RSP0
        // IDT: interrupt gates, DPL 0, to handler k.
        for v in 0..<256 {
            let h = FuzzLayout.l2Handlers + UInt64(v) * 16
            put((h & 0xFFFF) | UInt64(FuzzLayout.l2Code64) << 16 | UInt64(0x8E) << 40 | (h >> 16 & 0xFFFF) << 48,
                at: FuzzLayout.l2IDT + UInt64(v) * 16)
            put(h >> 32, at: FuzzLayout.l2IDT + UInt64(v) * 16 + 8)
            // mov eax, v; vmcall; jmp back to the mov (-10).
            let stub: [UInt8] = [0xB8, UInt8(v), 0, 0, 0, 0x0F, 0x01, 0xC1, 0xEB, 0xF6]
            for (k, b) in stub.enumerated() { page[Int(h - FuzzLayout.l2Home) + k] = b }
        }
        // EPT-mode tables: PML4 → PDPT → PD0…3 (identity, 2 MiB) and PD4 (4–5 GiB → highWindow).
        let e = FuzzLayout.l2TablesEPT
        put((e + 0x1000) | 3, at: e)
        for k: UInt64 in 0..<5 { put((e + 0x2000 + k * 0x1000) | 3, at: e + 0x1000 + k * 8) }
        for k: UInt64 in 0..<(4 * 512) { put(k << 21 | 0x83, at: e + 0x2000 + k * 8) }
        for k: UInt64 in 0..<512 { put((FuzzLayout.highWindow + k << 21) | 0x83, at: e + 0x6000 + k * 8) }
        // No-EPT tables: PML4 → PDPT → PD0…3.
        let n = FuzzLayout.l2TablesNoEPT
        put((n + 0x1000) | 3, at: n)
        for k: UInt64 in 0..<4 { put((n + 0x2000 + k * 0x1000) | 3, at: n + 0x1000 + k * 8) }
        for k: UInt64 in 0..<(4 * 512) { put(noEPTEntry(region: k, ramTop: L1Layout.ramBytes), at: n + 0x2000 + k * 8) }
        return page
    }
}
