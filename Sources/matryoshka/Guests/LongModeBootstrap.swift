import X86Assembler

/// The 32-bit Multiboot entry code shared by the bundled guests: from the Multiboot machine state
/// (protected mode, flat segments, paging off, IF = 0; Multiboot Specification §3.2) to 64-bit
/// mode with the first 1 GiB identity-mapped by 2 MiB pages (SDM Vol. 3A §9.8.5 "Initializing
/// IA-32e Mode").
enum LongModeBootstrap {
    /// Where the bootstrap builds its page tables and stack (ordinary RAM above the image).
    static let pageTables: Int64 = 0x40_0000
    static let stackTop: Int64 = 0x30_0000

    /// Emits the bootstrap at the assembler's current position (32-bit code) and leaves the
    /// assembler in 64-bit mode at the first 64-bit instruction.
    static func emit(_ a: Assembler) {
        let gdt = a.label(), gdtr = a.label(), long64 = a.label(), fill = a.label()
        let pml4 = pageTables, pdpt = pageTables + 0x1000, pd = pageTables + 0x2000
        a.cli()
        a.lgdt(mem[gdtr])
        // Zero the three tables, then link PML4[0] → PDPT, PDPT[0] → PD, PD[i] → 2 MiB frames.
        a.mov(edi, pml4); a.xor(eax, eax); a.mov(ecx, 3 * 1024); a.cld(); a.rep(); a.stos(4)
        a.mov(dword[pml4], pdpt | 3)
        a.mov(dword[pdpt], pd | 3)
        a.mov(edi, pd); a.mov(eax, 0x83); a.mov(ecx, 512)
        a.bind(fill)
        a.mov(dword[edi], eax); a.add(eax, 0x20_0000); a.add(edi, 8); a.dec(ecx); a.jnz(fill)
        a.mov(eax, cr4); a.or(eax, 1 << 5); a.mov(cr4, eax)                 // CR4.PAE
        a.mov(eax, pml4); a.mov(cr3, eax)
        a.mov(ecx, 0xC000_0080); a.rdmsr(); a.or(eax, 1 << 8); a.wrmsr()    // EFER.LME
        a.mov(eax, cr0); a.or(eax, Int64(0x8000_0001)); a.mov(cr0, eax)      // CR0.PG | PE
        a.jmpFar(selector: 0x08, long64)
        // GDT: null, 64-bit code (L=1), flat data.
        a.align(8, fill: 0)
        a.bind(gdt)
        a.dq(0)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xA)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x92, flags: 0xC)
        a.bind(gdtr)
        a.dw(3 * 8 - 1); a.dd(gdt); a.dd(0)
        a.use64()
        a.bind(long64)
        a.mov(ax, 0x10); a.mov(SegmentRegister.ds, ax); a.mov(SegmentRegister.es, ax); a.mov(SegmentRegister.ss, ax)
        a.mov(rsp, stackTop)
    }
}
