import X86Assembler
@testable import CPU

/// L2's code for one case: a straight run of random actions — loads and stores at random
/// L2-linear (= L2-physical under L2's page tables) addresses, string moves across pages, and
/// instructions that exit or may (CPUID, I/O, RDMSR/WRMSR, MOV CR/DR, INVLPG, HLT, PAUSE,
/// RDTSC(P), descriptor-table instructions, VMX instructions, exceptions, single steps) —
/// ending in `VMCALL` forever, which always exits to L1 (SDM Vol. 3C §26.1.2). Ports, MSRs and
/// store values come from lists that leave L1 able to drive the next case (no reset port, no
/// isa-debug-exit, no ICR, no EPT-entry values that would give L2 L1's own pages).
enum FuzzL2Code {
    static let start = FuzzLayout.l2Code

    /// Ports L2 may read; ports it may write (nothing that resets, powers off or signals the
    /// test: 0xF4, 0xCF9, 0x64, 0x92 and ACPI PM are left out).
    static let readPorts: [UInt16] = [0x20, 0x21, 0x40, 0x61, 0x71, 0x80, 0x3FD, 0xCFC, 0x2000, 0x510, 0xE9]
    static let writePorts: [UInt16] = [0x70, 0x80, 0x2000, 0x3F8, 0xE9, 0x43]
    static let readMSRs: [UInt32] = [0x10, 0x1B, 0x3A, 0x174, 0x175, 0x176, 0x1D9, 0x277, 0x2FF, 0x480, 0x48B, 0x6E0,
                                     0xC000_0080, 0xC000_0081, 0xC000_0082, 0xC000_0100, 0xC000_0101, 0xC000_0102,
                                     0xC000_0103, 0x4000_0000, 0x1234_5678]
    static let writeMSRs: [UInt32] = [0x10, 0x3A, 0x174, 0x175, 0x176, 0x1D9, 0x277, 0x6E0, 0xC000_0080, 0xC000_0081,
                                      0xC000_0082, 0xC000_0084, 0xC000_0100, 0xC000_0101, 0xC000_0102, 0xC000_0103, 0x480, 0x9E]

    static func generate(_ r: inout FuzzRandom, ramTop: UInt64, actions: Int) -> [UInt8] {
        let a = Assembler(mode: .bits64, origin: start)
        for _ in 0..<actions { action(a, &r, ramTop: ramTop) }
        let again = a.label()
        a.mov(eax, 0x444F_4E45)
        a.bind(again)
        a.vmcall()
        a.jmp(again)
        let bytes = a.assemble()
        return bytes.count <= FuzzLayout.l2CodeBytes ? bytes : Array(bytes.prefix(FuzzLayout.l2CodeBytes - 3)) + [0x0F, 0x01, 0xC1]
    }

    /// A random L2-linear address (L2 runs with identity tables under EPT12).
    static func address(_ r: inout FuzzRandom, ramTop: UInt64) -> UInt64 {
        let inPage = r.chance(1, in: 2) ? UInt64(r.below(512)) * 8 : UInt64(r.below(4096))
        switch r.below(20) {
        case 0..<8: return FuzzLayout.l2Arena + UInt64(r.below(FuzzLayout.l2ArenaPages)) * 0x1000 + inPage
        case 8: return FuzzLayout.hostileData + UInt64(r.below(64)) * 0x1000 + inPage
        case 9: return FuzzLayout.ept12Arena + UInt64(r.below(FuzzLayout.ept12Pages)) * 0x1000 + inPage
        case 10, 11: return 0x1_0000_0000 + UInt64(r.below(1024)) * 0x1000 + inPage          // the high window
        case 12, 13: return r.next() & 0xFFFF_FFF8
        case 14, 15: return FuzzLayout.l2Arena + UInt64(r.below(FuzzLayout.l2ArenaPages)) * 0x1000 + 0xFFC
        case 16: return ramTop + UInt64(r.below(0x200)) * 0x1000 + inPage                     // L0's region
        case 17: return r.pick([0xFEE0_0000, 0xFEC0_0000, 0xFED0_0000, 0x2000_0000]) + inPage
        case 18: return FuzzLayout.l2Home + UInt64(r.below(0x14)) * 0x1000 + inPage
        default: return r.pick([0x8000_0000_0000_0000, 0x0000_8000_0000_0000, ~0]) | inPage   // non-canonical
        }
    }

    /// A value for L2 to store: never an EPT entry that would hand L2 a page outside its regions
    /// (no rights, or a 4-KByte page at 0 — no large page over L1's code).
    static func storeValue(_ r: inout FuzzRandom) -> UInt64 {
        switch r.below(10) {
        case 0..<5: return r.next() & ~7
        case 5..<8: return UInt64(r.below(128))
        default: return (FuzzLayout.l2Arena + UInt64(r.below(FuzzLayout.l2ArenaPages)) * 0x1000) | 6 << 3 | UInt64(r.below(8))
        }
    }

    static func action(_ a: Assembler, _ r: inout FuzzRandom, ramTop: UInt64) {
        switch r.below(40) {
        case 0..<6:
            a.mov(rcx, unsigned: address(&r, ramTop: ramTop)); a.mov(rax, qword[rcx])
        case 6..<11:
            a.mov(rcx, unsigned: address(&r, ramTop: ramTop)); a.mov(rax, unsigned: storeValue(&r))
            if r.chance(1, in: 4) { a.mov(byte[rcx], al) } else { a.mov(qword[rcx], rax) }
        case 11:
            a.mov(rsi, unsigned: address(&r, ramTop: ramTop)); a.mov(rdi, unsigned: address(&r, ramTop: ramTop))
            a.mov(ecx, Int64(r.below(64) + 1)); a.cld(); a.rep(); a.movsb()
        case 12:
            a.mov(eax, Int64(r.pick([0, 1, 7, 0xA, 0xB, 0xD, 0x4000_0000, 0x8000_0001, r.below(0x20)])))
            a.xor(ecx, ecx); a.cpuid()
        case 13, 14:
            if r.chance(1, in: 2) {
                a.mov(edx, Int64(r.pick(readPorts))); a.`in`(al, dx)
            } else {
                a.mov(edx, Int64(r.pick(writePorts))); a.mov(eax, Int64(r.below(256))); a.out(dx, al)
            }
        case 15, 16:
            if r.chance(1, in: 2) {
                a.mov(ecx, Int64(r.pick(readMSRs))); a.rdmsr()
            } else {
                let v = r.chance(1, in: 2) ? UInt64(r.below(16)) : r.next()
                a.mov(ecx, Int64(r.pick(writeMSRs))); a.mov(eax, Int64(UInt32(truncatingIfNeeded: v)))
                a.mov(edx, Int64(UInt32(truncatingIfNeeded: v >> 32))); a.wrmsr()
            }
        case 17:
            let cr = r.pick([cr0, cr3, cr4, cr8])
            a.mov(rax, cr)
            if r.chance(1, in: 2) {
                if cr.number == 8 { a.mov(eax, Int64(r.below(16))) } else { a.xor(rax, Int64(1) << Int64(r.below(31))) }
                a.mov(cr, rax)
            }
        case 18:
            if r.chance(1, in: 2) { a.mov(rax, dr7) } else { a.mov(eax, Int64(r.pick([0x400, 0x401, 0x403, 0xFFFF_0401]))); a.mov(dr7, rax) }
        case 19:
            a.mov(rcx, unsigned: address(&r, ramTop: ramTop)); a.invlpg(mem[rcx])
        case 20:
            if r.chance(1, in: 3) { a.hlt() } else { a.pause() }
        case 21:
            r.chance(1, in: 2) ? a.rdtsc() : a.rdtscp()
        case 22:
            a.xor(ecx, ecx); a.db(0x0F, 0x33)                                  // RDPMC
        case 23:
            r.chance(1, in: 2) ? a.wbinvd() : a.invd()
        case 24:
            a.xor(ecx, ecx); a.mov(eax, Int64(r.pick([1, 3, 7, 0x201]))); a.xor(edx, edx)
            a.db(0x0F, 0x01, 0xD1)                                                 // XSETBV
        case 25:
            a.mov(rcx, Int64(FuzzLayout.l2Arena + 0x100))
            switch r.below(4) {
            case 0: a.sgdt(mem[rcx])
            case 1: a.sidt(mem[rcx])
            case 2: a.str(ax)
            default: a.sldt(ax)
            }
        case 26:
            // VMX instructions: always exit to L1 (unless VMCS shadowing lets a VMREAD/VMWRITE through).
            a.mov(rbx, unsigned: r.chance(3, in: 4) ? UInt64(r.pick(VMCSFieldTable.entries).field.encoding) : r.interesting())
            a.mov(rcx, Int64(FuzzLayout.l2Arena + 0x200))
            switch r.below(6) {
            case 0: a.vmread(rax, rbx)
            case 1: a.mov(rax, unsigned: r.interesting()); a.vmwrite(rbx, rax)
            case 2: a.vmptrld(mem[rcx])
            case 3: a.vmptrst(mem[rcx])
            case 4: a.vmxon(mem[rcx])
            default: a.vmfunc()
            }
        case 27:
            switch r.below(5) {
            case 0: a.int3()
            case 1: a.ud2()
            case 2: a.int(UInt8(r.below(256)))
            case 3: a.xor(ecx, ecx); a.div(ecx)
            default: a.mov(rax, unsigned: r.next()); a.push(rax); a.popf()          // any RFLAGS, AC, TF, IF…
            }
        case 28:
            // Single-step the next instructions (#DB after each).
            a.pushf(); a.or(qword[rsp], 0x100); a.popf(); a.nop()
        case 29:
            r.chance(1, in: 2) ? a.sti() : a.cli()
        case 30:
            a.mov(rcx, Int64(FuzzLayout.l2Arena + 0x300)); a.mov(eax, Int64(r.below(4)))
            a.invpcid(rax, oword[rcx])
        case 31:
            a.mov(rcx, Int64(FuzzLayout.l2Arena + 0x300)); a.mov(eax, Int64(r.below(4)))
            r.chance(1, in: 2) ? a.invept(rax, oword[rcx]) : a.invvpid(rax, oword[rcx])
        case 32:
            // An access that straddles two pages (different EPT12 leaves).
            let p = FuzzLayout.l2Arena + UInt64(r.below(FuzzLayout.l2ArenaPages - 1)) * 0x1000
            a.mov(rcx, Int64(p + 0xFFC)); a.mov(rax, qword[rcx])
            if r.chance(1, in: 2) { a.mov(qword[rcx], rax) }
        case 33:
            // Code fetched from elsewhere: a call to the handler page or to a random address.
            a.mov(rax, unsigned: r.chance(1, in: 2) ? FuzzLayout.l2Handlers + UInt64(r.below(256)) * 16 : address(&r, ramTop: ramTop))
            a.call(rax)
        default:
            a.mov(rcx, unsigned: address(&r, ramTop: ramTop)); a.add(qword[rcx], 1)
        }
    }
}
