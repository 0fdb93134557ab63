import X86Assembler

/// How the test L1 gets to 64-bit mode and what it needs there (SDM Vol. 3A §9.8.5
/// "Initializing IA-32e Mode"): from the Multiboot state (32-bit protected mode, paging off)
/// to 64-bit mode with 0–4 GiB identity-mapped by 2-MByte pages (user-accessible, for the
/// CPL-3 tests), CR0.NE set (IA32_VMX_CR0_FIXED0, §24.8), a GDT with ring-0 and ring-3
/// segments and one 64-bit TSS per processor, and an IDT whose exception gates record the
/// fault for `attempt` and whose other gates count interrupts and EOI the local APIC.
enum L1Boot {
    /// Selectors of the GDT.
    static let code64: UInt16 = 0x08, data: UInt16 = 0x10, userData: UInt16 = 0x1B, userCode64: UInt16 = 0x23
    /// Exceptions that push an error code (SDM Vol. 3A Table 6-1).
    static let errorCodeVectors: Set<Int> = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]

    /// The Multiboot header and the 32-bit code up to the first 64-bit instruction of the
    /// test; leaves the assembler in 64-bit mode.
    static func emitEntry(_ p: L1Program) {
        let a = p.a
        MultibootImage.header(a)
        let long64 = a.label(), fill = a.label()
        a.cli()
        a.lgdt(mem[p.gdtr])
        // Zero PML4, PDPT and the four page directories, then link them (US | RW | P).
        a.mov(edi, Int64(L1Layout.pml4)); a.xor(eax, eax); a.mov(ecx, 6 * 1024); a.cld(); a.rep(); a.stos(4)
        a.mov(dword[Int64(L1Layout.pml4)], Int64(L1Layout.pdpt | 7))
        for k in 0..<4 {
            a.mov(dword[Int64(L1Layout.pdpt) + Int64(8 * k)], Int64(L1Layout.pageDirectories + UInt64(k) * 0x1000) | 7)
        }
        a.mov(edi, Int64(L1Layout.pageDirectories)); a.mov(eax, 0x87); a.mov(ecx, 2048)
        a.bind(fill)
        a.mov(dword[edi], eax); a.add(eax, 0x20_0000); a.add(edi, 8); a.dec(ecx); a.jnz(fill)
        a.mov(eax, cr4); a.or(eax, 1 << 5); a.mov(cr4, eax)                       // CR4.PAE
        a.mov(eax, Int64(L1Layout.pml4)); a.mov(cr3, eax)
        a.mov(ecx, 0xC000_0080); a.rdmsr(); a.or(eax, 0x900); a.wrmsr()            // EFER.LME | NXE
        a.mov(eax, cr0); a.or(eax, Int64(0x8000_0021)); a.mov(cr0, eax)           // PG | NE | PE
        a.jmpFar(selector: code64, long64)
        a.use64()
        a.bind(long64)
        loadDataSegments(a)
        a.mov(rsp, Int64(L1Layout.area(0).l1StackTop))
        a.lidt(mem[p.idtr])
        a.mov(ax, Int64(L1Layout.area(0).trSelector)); a.ltr(ax)
    }

    static func loadDataSegments(_ a: Assembler) {
        a.mov(ax, Int64(data))
        for s in [SegmentRegister.ds, .es, .ss, .fs, .gs] { a.mov(s, ax) }
    }

    /// Handlers, the exit landings, TSSs, GDT, IDT and the AP's start-up code.
    static func emitTrailer(_ p: L1Program) {
        let a = p.a
        // Exception stubs 0–31 (error code or a 0 in its place, then the vector), interrupt
        // stubs 32–255; 16 bytes apart.
        let faultCommon = a.label(), interruptCommon = a.label()
        var stubs: [UInt64] = []
        for v in 0..<256 {
            a.align(16, fill: 0xCC)
            stubs.append(a.here)
            if v < 32 {
                if !errorCodeVectors.contains(v) { a.push(0) }
                a.push(Int64(v))
                a.jmp(faultCommon)
            } else {
                a.push(rax)
                a.mov(eax, Int64(v))
                a.jmp(interruptCommon)
            }
        }
        emitFaultCommon(p, faultCommon)
        // Interrupts: the vector and a count, then EOI (xAPIC EOI register, SDM Vol. 3A §12.8.5).
        a.bind(interruptCommon)
        a.mov(L1Program.Globals.lastInterrupt.memory, rax)
        a.inc(L1Program.Globals.interruptCount.memory)
        a.push(rcx)
        a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0xB0], 0)
        a.pop(rcx); a.pop(rax)
        a.iretq()
        // Exit landings: L2's GPRs into the save area, then wherever the entering code said.
        for (k, landing) in p.landings.enumerated() {
            let area = L1Layout.area(k)
            a.bind(landing)
            for r in 0..<16 where r != 4 {
                a.mov(qword[Int64(area.savedGPR(UInt8(r)))], Register(number: UInt8(r), size: 8))
            }
            a.jmp(qword[Int64(area.continuation)])
        }
        emitAPEntry(p)
        emitTables(p, stubs: stubs)
    }

    /// A fault inside `attempt` is recorded (vector, error code) and execution continues at
    /// the attempt's end on its stack, at CPL 0; any other fault ends the run with
    /// `unexpectedFault` and its vector, error code and RIP.
    static func emitFaultCommon(_ p: L1Program, _ faultCommon: Label) {
        let a = p.a, g = L1Program.Globals.self
        let unexpected = a.label()
        a.bind(faultCommon)
        a.mov(rcx, g.fixup.memory)
        a.test(rcx, rcx); a.jz(unexpected)
        a.mov(rax, g.faultRecord.memory)
        a.pop(qword[rax]); a.pop(qword[rax + 8])
        a.mov(g.fixup.memory, 0)
        loadDataSegments(a)
        a.mov(rsp, g.savedRSP.memory)
        a.jmp(rcx)
        a.bind(unexpected)
        a.mov(rax, qword[rsp]); a.mov(g.unexpectedVector.memory, rax)
        a.mov(rax, qword[rsp + 8]); a.mov(g.unexpectedErrorCode.memory, rax)
        a.mov(rax, qword[rsp + 16]); a.mov(g.unexpectedRIP.memory, rax)
        p.exit(L1Program.ExitCode.unexpectedFault)
    }

    /// The AP's 64-bit entry (from the trampoline): the GDT, segments, stack, IDT and TSS of
    /// processor 1, then `apMain`.
    static func emitAPEntry(_ p: L1Program) {
        guard p.cpus > 1 else { return }
        let a = p.a, area = L1Layout.area(1)
        let reloaded = a.label()
        a.bind(p.apEntry64)
        a.lgdt(mem[p.gdtr])
        loadDataSegments(a)
        a.mov(rsp, Int64(area.l1StackTop))
        a.push(Int64(code64)); a.mov(rax, reloaded); a.push(rax); a.retf(size: 8)
        a.bind(reloaded)
        a.lidt(mem[p.idtr])
        a.mov(ax, Int64(area.trSelector)); a.ltr(ax)
        p.record(L1Program.Globals.apStarted, 1)
        a.jmp(p.apMainEntry)
        // The real-mode start-up code, copied to `L1Layout.trampoline` by `startAP`.
        a.align(16, fill: 0)
        a.bind(p.trampolineImage)
        let bytes = trampoline(entry64: p.apEntry64.address!)
        precondition(bytes.count <= L1Program.trampolineBytes)
        a.db(bytes)
        a.zeros(L1Program.trampolineBytes - bytes.count)
    }

    /// SIPI vector 8 starts the AP in real mode at 8000H (SDM Vol. 3A §9.4.4): protected mode,
    /// PAE paging with L1's tables, IA-32e mode, then a jump to `entry64`.
    static func trampoline(entry64: UInt64) -> [UInt8] {
        let t = Assembler(mode: .bits16, origin: L1Layout.trampoline)
        let gdt = t.label(), gdtr = t.label(), pm32 = t.label(), lm64 = t.label()
        t.cli()
        t.xor(ax, ax); t.mov(SegmentRegister.ds, ax)
        t.lgdt(mem[gdtr])
        t.mov(eax, cr0); t.or(eax, 1); t.mov(cr0, eax)
        t.jmpFar(selector: 0x08, pm32, operandSize: 4)
        t.use32()
        t.bind(pm32)
        t.mov(ax, 0x10); t.mov(SegmentRegister.ds, ax); t.mov(SegmentRegister.es, ax); t.mov(SegmentRegister.ss, ax)
        t.mov(eax, cr4); t.or(eax, 1 << 5); t.mov(cr4, eax)
        t.mov(eax, Int64(L1Layout.pml4)); t.mov(cr3, eax)
        t.mov(ecx, 0xC000_0080); t.rdmsr(); t.or(eax, 0x900); t.wrmsr()
        t.mov(eax, cr0); t.or(eax, Int64(0x8000_0021)); t.mov(cr0, eax)
        t.jmpFar(selector: 0x18, lm64)
        t.use64()
        t.bind(lm64)
        t.mov(rax, unsigned: entry64); t.jmp(rax)
        t.align(8, fill: 0)
        t.bind(gdt)
        t.dq(0)
        t.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xC)     // 08: 32-bit code
        t.descriptor(base: 0, limit: 0xFFFFF, access: 0x92, flags: 0xC)     // 10: data
        t.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xA)     // 18: 64-bit code
        t.bind(gdtr)
        t.dw(4 * 8 - 1); t.dd(gdt)
        return t.assemble()
    }

    /// TSSs (RSP0 = the processor's ring-0 stack), the GDT and the IDT.
    static func emitTables(_ p: L1Program, stubs: [UInt64]) {
        let a = p.a
        for k in 0..<p.cpus {
            a.align(16, fill: 0)
            a.bind(p.tss[k])
            a.dd(0); a.dq(L1Layout.area(k).ringZeroStackTop); a.zeros(8 * 2 + 8 + 8 * 7 + 8 + 2); a.dw(104)
        }
        a.align(16, fill: 0)
        a.bind(p.gdt)
        a.dq(0)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xA)     // 08: 64-bit code
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x92, flags: 0xC)     // 10: data
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0xF2, flags: 0xC)     // 18: data, DPL 3
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0xFA, flags: 0xA)     // 20: 64-bit code, DPL 3
        for t in p.tss {                                                    // 28, 38: 64-bit TSS
            a.descriptor(base: UInt32(t.address!), limit: 0x67, access: 0x89, flags: 0)
            a.dq(0)
        }
        precondition(a.here - p.gdt.address! == p.gdtLimit + 1)
        a.bind(p.gdtr)
        a.dw(UInt16(p.gdtLimit)); a.dq(p.gdt)
        a.align(16, fill: 0)
        a.bind(p.idt)
        for s in stubs { emitGate(a, handler: s) }
        a.bind(p.idtr)
        a.dw(256 * 16 - 1); a.dq(p.idt)
    }

    /// A 64-bit interrupt gate (SDM Vol. 3A §6.14.1, Figure 6-8): present, DPL 0, type 14.
    static func emitGate(_ a: Assembler, handler: UInt64) {
        a.dw(UInt16(truncatingIfNeeded: handler)); a.dw(code64)
        a.db(0, 0x8E); a.dw(UInt16(truncatingIfNeeded: handler >> 16))
        a.dd(UInt32(truncatingIfNeeded: handler >> 32)); a.dd(0)
    }
}
