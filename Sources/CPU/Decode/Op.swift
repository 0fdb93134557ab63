/// Execution handlers the decoder selects. One case per instruction form family; the
/// decoded instruction's `sub` field carries the variant (ALU kind, condition code,
/// group `/reg` value, segment register, ...). Operand size, address size and operands
/// come from `DecodedInstruction`.
enum Op: UInt16, Sendable {
    case invalid = 0            // #UD
    case nop                    // NOP, multi-byte NOP, hint NOPs, ENDBR32/64, fences, prefetches

    // Data movement
    case movRMReg               // 88, 89: E ← G
    case movRegRM               // 8A, 8B: G ← E
    case movRMImm               // C6 /0, C7 /0
    case movRegImm              // B0–BF (reg in `reg`)
    case movAccMoffs            // A0, A1
    case movMoffsAcc            // A2, A3
    case movRMSreg              // 8C
    case movSregRM              // 8E
    case movzx                  // 0F B6, 0F B7 (sub = source size)
    case movsx                  // 0F BE, 0F BF (sub = source size)
    case movsxd                 // 63 in 64-bit mode
    case lea                    // 8D
    case xchgRMReg              // 86, 87
    case xchgAccReg             // 91–97 (and 90 with REX.B)
    case pushReg                // 50–57
    case popReg                 // 58–5F
    case pushImm                // 68, 6A
    case pushRM                 // FF /6
    case popRM                  // 8F /0
    case pushSreg               // 06, 0E, 16, 1E, 0F A0, 0F A8 (sub = sreg)
    case popSreg                // 07, 17, 1F, 0F A1, 0F A9 (sub = sreg)
    case pusha, popa
    case pushf, popf
    case lahf, sahf
    case cbw                    // 98: CBW / CWDE / CDQE
    case cwd                    // 99: CWD / CDQ / CQO
    case cmovcc                 // 0F 40+cc (sub = cc)
    case setcc                  // 0F 90+cc (sub = cc)
    case bswap                  // 0F C8+r
    case xlat                   // D7
    case movbe                  // 0F 38 F0/F1 (sub 0 = load, 1 = store)
    case enter, leave
    case loadFarPointer         // LES/LDS (C4/C5), LSS/LFS/LGS (0F B2/B4/B5) (sub = sreg)

    // Arithmetic and logic
    case aluRMReg               // sub = ALUKind; E ← E op G
    case aluRegRM               // G ← G op E
    case aluAccImm              // AL/eAX op imm
    case aluRMImm               // 80, 81, 83 (sub = /reg)
    case testRMReg, testAccImm, testRMImm
    case incReg, decReg         // 40–4F outside 64-bit mode
    case incRM, decRM           // FE/FF /0, /1
    case notRM, negRM
    case mulRM, imulRM, divRM, idivRM     // F6/F7 /4–/7
    case imulRegRM              // 0F AF
    case imulRegRMImm           // 69, 6B
    case shiftRMImm             // C0, C1, D0, D1 (imm = count; sub = /reg)
    case shiftRMCL              // D2, D3
    case shld, shrd             // 0F A4/A5, AC/AD (sub 0 = imm count, 1 = CL)
    case btRMReg                // 0F A3/AB/B3/BB (sub = 0 BT, 1 BTS, 2 BTR, 3 BTC)
    case btRMImm                // 0F BA /4–/7
    case bsf, bsr, tzcnt, lzcnt, popcnt
    case cmpxchg                // 0F B0, B1
    case cmpxchg8b              // 0F C7 /1 (16B with REX.W)
    case xadd                   // 0F C0, C1
    case daa, das, aaa, aas, aam, aad, salc

    // Control transfer
    case jcc                    // 70–7F, 0F 80–8F (sub = cc, imm = displacement)
    case jmpRel                 // E9, EB
    case callRel                // E8
    case jmpRM                  // FF /4
    case callRM                 // FF /2
    case jmpFar                 // EA (imm = offset, imm2 = selector)
    case callFar                // 9A
    case jmpFarRM               // FF /5
    case callFarRM              // FF /3
    case ret, retImm            // C3, C2
    case retFar, retFarImm      // CB, CA
    case loop                   // E0–E2 (sub 0 = LOOPNE, 1 = LOOPE, 2 = LOOP)
    case jrcxz                  // E3
    case int3, intN, into, int1, iret
    case hlt
    case syscall, sysret, sysenter, sysexit

    // String instructions (byte forms when opSize = 1)
    case movs, cmps, stos, lods, scas, ins, outs

    // Flag control
    case clc, stc, cmc, cli, sti, cld, std

    // Port I/O
    case inImm, inDX, outImm, outDX

    // System instructions
    case sldt, str, lldt, ltr, verr, verw          // 0F 00
    case sgdt, sidt, lgdt, lidt, smsw, lmsw, invlpg // 0F 01 memory forms
    case swapgs, rdtscp, monitor, mwait, clac, stac, xgetbv, xsetbv, rdpkru, wrpkru
    case vmcall, vmlaunch, vmresume, vmxoff, vmfunc
    case lar, lsl
    case clts, invd, wbinvd
    case ud                                           // UD0, UD1, UD2: always #UD
    case movToCR, movFromCR, movToDR, movFromDR
    case wrmsr, rdmsr, rdtsc, rdpmc, cpuid
    case vmread, vmwrite, vmptrld, vmptrst, vmclear, vmxon
    case invept, invvpid, invpcid
    case rdrand, rdseed, rdpid
    case pause
    case clflush                                      // CLFLUSH / CLFLUSHOPT / CLWB: address checked, no effect
    case getsec, rsm
    case fxsave, fxrstor, xsave, xrstor               // 0F AE /0 /1 /4 /5 (Execute/SIMD/FXSAVE.swift, XSAVE.swift)
    case x87                                          // D8–DF escape (sub = opcode & 7)
    case fwait                                        // 9B
    case rdfsbase, rdgsbase, wrfsbase, wrgsbase       // F3 0F AE /0–/3 (mod = 3)
    case lfence, mfence, sfence
    case simd                                         // MMX/SSE/SSE2 (sub = SIMDOp, imm2 = SIMDAttr bits)

    // Fused pairs: the decoder never produces these. When a decoded block has a flag-
    // producing ALU or TEST form directly followed by a Jcc, the first one's op becomes its
    // fused form (`fusedWithJcc`), and the interpreter executes both in one dispatch; they
    // still retire as two instructions.
    case aluRMRegJcc, aluRegRMJcc, aluAccImmJcc, aluRMImmJcc
    case testRMRegJcc, testAccImmJcc, testRMImmJcc
}

extension Op {
    /// The form an op takes when a Jcc follows it in a decoded block (nil: not fused).
    var fusedWithJcc: Op? {
        switch self {
        case .aluRMReg: .aluRMRegJcc
        case .aluRegRM: .aluRegRMJcc
        case .aluAccImm: .aluAccImmJcc
        case .aluRMImm: .aluRMImmJcc
        case .testRMReg: .testRMRegJcc
        case .testAccImm: .testAccImmJcc
        case .testRMImm: .testRMImmJcc
        default: nil
        }
    }
}

extension Op {
    /// The op a fused form stands for (the inverse of `fusedWithJcc`; other ops are themselves).
    var unfused: Op {
        switch self {
        case .aluRMRegJcc: .aluRMReg
        case .aluRegRMJcc: .aluRegRM
        case .aluAccImmJcc: .aluAccImm
        case .aluRMImmJcc: .aluRMImm
        case .testRMRegJcc: .testRMReg
        case .testAccImmJcc: .testAccImm
        case .testRMImmJcc: .testRMImm
        default: self
        }
    }
}

extension Op {
    /// MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS: the instructions a REP prefix repeats.
    var isString: Bool {
        switch self {
        case .movs, .cmps, .stos, .lods, .scas, .ins, .outs: true
        default: false
        }
    }
}

/// The eight ALU operations of opcodes 00–3F and group 1 (SDM Vol. 2A, Table A-6).
enum ALUKind: UInt8, Sendable {
    case add = 0, or, adc, sbb, and, sub, xor, cmp
}

/// Group 2 shift/rotate operations by `/reg` (SDM Vol. 2A, Table A-6).
enum ShiftKind: UInt8, Sendable {
    case rol = 0, ror, rcl, rcr, shl, shr, sal, sar
}
