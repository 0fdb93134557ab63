#if arch(x86_64) && canImport(Glibc)
/// Decoding of the x87 escape opcodes D8–DF (SDM Vol. 2D Appendix A.4, Tables A-7 to
/// A-22) and the steps every x87 instruction shares: the #MF check of waiting
/// instructions and the last-instruction/data pointer and opcode update (SDM Vol. 1
/// §8.1.8–8.1.9, done by all but the control instructions).
///
/// The register-form aliases that hardware executes but the SDM's maps leave blank are
/// executed as on hardware: D9 D8+i (FSTP), DC D0+i (FCOM), DC D8+i (FCOMP), DD C8+i
/// (FXCH), DE D0+i (FCOMP), DF C8+i (FXCH), DF D0+i / D8+i (FSTP); DF C0+i is FFREEP.
/// DB E0, E1, E4 (8087 FENI, FDISI and 287 FSETPM) are no-wait no-ops. All other blank
/// entries raise #UD. FISTTP (an SSE3 instruction) is always executed.
///
/// Fidelity (checked by X87DifferentialTests against the host x87, an AMD processor):
/// FADD/FSUB/FMUL/FDIV/FSQRT and FST m32/m64 honour FCW.RC and FCW.PC exactly (host FPU);
/// FIST/FISTP/FISTTP, FBSTP, FRNDINT, FLD constants honour RC exactly (software); FPREM,
/// FPREM1, FSCALE, FXTRACT are exact; transcendentals are partial (X87Transcendental.swift).
/// Where the SDM leaves behaviour undefined or implementation-specific (condition codes of
/// FFREE and of special FPREM operands, FPREM's partial-reduction step, C1 after suppressed
/// results, condition codes of compares with unmasked exceptions, FLD of a denormal with
/// DE unmasked, denormal-vs-zero-divide precedence), this follows the AMD host. FCOMI and
/// FUCOMI clear C1 as the SDM says (the AMD host leaves it), and with an unmasked exception
/// leave RFLAGS unchanged (not compared against hardware).
extension Processor {
    /// Instruction classes for the shared steps.
    private enum X87Kind { case arithmetic, control, noWaitControl, invalid }

    private func x87Classify(_ esc: Int, _ modrm: UInt8, memory: Bool) -> X87Kind {
        let reg = Int(modrm >> 3) & 7
        if memory {
            switch (esc, reg) {
            case (1, 1), (3, 4), (3, 6), (5, 5): return .invalid
            case (1, 4), (1, 5), (5, 4): return .control            // FLDENV FLDCW FRSTOR
            case (1, 6), (1, 7), (5, 6), (5, 7): return .noWaitControl // FNSTENV FNSTCW FNSAVE FNSTSW
            default: return .arithmetic
            }
        }
        switch esc {
        case 1:
            switch modrm {
            case 0xD1...0xD7, 0xE2, 0xE3, 0xE6, 0xE7, 0xEF: return .invalid
            default: return .arithmetic
            }
        case 2: return reg < 4 || modrm == 0xE9 ? .arithmetic : .invalid
        case 3:
            switch modrm {
            case 0xE0, 0xE1, 0xE2, 0xE3, 0xE4: return .noWaitControl
            case 0xE5...0xE7, 0xF8...0xFF: return .invalid
            default: return .arithmetic
            }
        case 5: return reg == 6 || reg == 7 ? .invalid : .arithmetic
        case 6: return reg == 3 && modrm != 0xD9 ? .invalid : .arithmetic
        case 7:
            if modrm == 0xE0 { return .noWaitControl }
            return reg == 4 || reg == 7 ? .invalid : .arithmetic
        default: return .arithmetic
        }
    }

    func x87Execute(_ i: Inst) throws(Fault) {
        let esc = Int(i.pointee.sub)
        let modrm = i.pointee.modrm
        let memory = i.pointee.isMemory
        let kind = x87Classify(esc, modrm, memory: memory)
        switch kind {
        case .invalid: throw Fault.ud
        case .noWaitControl: break
        case .control: try x87PendingFault()
        case .arithmetic:
            try x87PendingFault()
            var c = extended.control
            c.opcode = UInt16(esc) << 8 | UInt16(modrm)
            c.instructionPointer = rip
            c.instructionSelector = segments[SegmentRegisterIndex.cs.rawValue].selector
            if memory {
                c.dataPointer = effectiveAddress(i)
                c.dataSelector = segments[Int(i.pointee.seg)].selector
            }
            extended.control.opcode = c.opcode
            extended.control.instructionPointer = c.instructionPointer
            extended.control.instructionSelector = c.instructionSelector
            extended.control.dataPointer = c.dataPointer
            extended.control.dataSelector = c.dataSelector
        }
        let reg = Int(modrm >> 3) & 7
        if memory {
            try x87ExecuteMemory(i, esc, reg)
        } else {
            x87ExecuteRegister(i, esc, reg, Int(modrm & 7), modrm)
        }
    }

    private func x87ExecuteMemory(_ i: Inst, _ esc: Int, _ reg: Int) throws(Fault) {
        switch esc {
        case 0, 4, 2, 6:
            // Arithmetic with m32fp (D8), m64fp (DC), m32int (DA), m16int (DE).
            var b: X87Register, extra: UInt16 = 0
            switch esc {
            case 0, 4:
                let (v, _, denormal) = try x87ReadReal(i, esc == 0 ? 4 : 8)
                b = v; if denormal { extra = FSW.de }
            default: b = try x87ReadInteger(i, esc == 2 ? 4 : 2)
            }
            switch reg {
            case 2, 3: x87Compare(b, other: -1, ordered: true, pops: reg - 2, extra: extra)
            default:
                guard x87Operands(indefiniteTo: 0) else { return }
                x87Arithmetic(reg, dst: 0, st(0), b, extra: extra)
            }
        case 1:
            switch reg {
            case 0: try x87LoadReal(i, 4)
            case 2, 3: try x87StoreReal(i, 4, pop: reg == 3)
            case 4: try x87Fldenv(i)
            case 5: x87LoadControlWord(UInt16(truncatingIfNeeded: try x87ReadMemory(i, 2)))
            case 6: try x87Fnstenv(i)
            default: try x87WriteMemory(i, 2, UInt64(extended.control.control))
            }
        case 3:
            switch reg {
            case 0: try x87LoadInteger(i, 4)
            case 1: try x87StoreInteger(i, 4, pop: true, truncate: true)
            case 2, 3: try x87StoreInteger(i, 4, pop: reg == 3)
            case 5: try x87LoadExtended(i)
            default: try x87StoreExtended(i)
            }
        case 5:
            switch reg {
            case 0: try x87LoadReal(i, 8)
            case 1: try x87StoreInteger(i, 8, pop: true, truncate: true)
            case 2, 3: try x87StoreReal(i, 8, pop: reg == 3)
            case 4: try x87Frstor(i)
            case 6: try x87Fnsave(i)
            default: try x87WriteMemory(i, 2, UInt64(extended.control.statusWord))
            }
        default: // 7
            switch reg {
            case 0: try x87LoadInteger(i, 2)
            case 1: try x87StoreInteger(i, 2, pop: true, truncate: true)
            case 2, 3: try x87StoreInteger(i, 2, pop: reg == 3)
            case 4: try x87LoadBCD(i)
            case 5: try x87LoadInteger(i, 8)
            case 6: try x87StoreBCD(i)
            default: try x87StoreInteger(i, 8, pop: true)
            }
        }
    }

    private func x87ExecuteRegister(_ i: Inst, _ esc: Int, _ reg: Int, _ r: Int, _ modrm: UInt8) {
        switch esc {
        case 0:
            switch reg {
            case 2, 3: x87Compare(.positiveZero, other: r, ordered: true, pops: reg - 2)
            default:
                guard x87Operands(r, indefiniteTo: 0) else { return }
                x87Arithmetic(reg, dst: 0, st(0), st(r))
            }
        case 4, 6:
            // DC: ST(i) ← ST(i) op ST(0); DE: the same, then pop. Reg 4/5 and 6/7 swap
            // their direct/reversed sense relative to D8.
            switch reg {
            case 2: x87Compare(.positiveZero, other: r, ordered: true, pops: esc == 4 ? 0 : 1)
            case 3:
                if esc == 4 { x87Compare(.positiveZero, other: r, ordered: true, pops: 1) }
                else { x87Compare(.positiveZero, other: 1, ordered: true, pops: 2) }     // FCOMPP
            default:
                let pop = esc == 6
                guard x87Operands(r, indefiniteTo: r, pop: pop ? 1 : 0) else { return }
                x87Arithmetic(reg >= 4 ? reg ^ 1 : reg, dst: r, st(r), st(0), pop: pop)
            }
        case 1:
            switch modrm {
            case 0xC0...0xC7: x87LoadRegister(r)
            case 0xC8...0xCF: x87Exchange(r)
            case 0xD0: break                                                  // FNOP
            case 0xD8...0xDF: x87StoreRegister(r, pop: true)
            case 0xE0: x87SignOp(abs: false)
            case 0xE1: x87SignOp(abs: true)
            case 0xE4:
                x87Compare(.positiveZero, other: -1, ordered: true, pops: 0)     // FTST
            case 0xE5: x87Examine()
            case 0xE8...0xEE: x87LoadConstant(Int(modrm - 0xE8))
            case 0xF0: x87F2xm1()
            case 0xF1: x87Yl2x(plus1: false)
            case 0xF2: x87Trig(3)
            case 0xF3: x87Patan()
            case 0xF4: x87Xtract()
            case 0xF5: x87Prem(ieee: true)
            case 0xF6: x87RotateTop(-1)
            case 0xF7: x87RotateTop(1)
            case 0xF8: x87Prem(ieee: false)
            case 0xF9: x87Yl2x(plus1: true)
            case 0xFA: x87Sqrt()
            case 0xFB: x87Trig(2)
            case 0xFC: x87Rndint()
            case 0xFD: x87Scale()
            case 0xFE: x87Trig(0)
            default: x87Trig(1)                                               // 0xFF FCOS
            }
        case 2:
            if modrm == 0xE9 { x87Compare(.positiveZero, other: 1, ordered: false, pops: 2); return }  // FUCOMPP
            x87ConditionalMove(r, cc: reg, negate: false)
        case 3:
            switch modrm {
            case 0xE2: x87ClearExceptions()
            case 0xE3: x87Init()
            case 0xE0, 0xE1, 0xE4: break
            case 0xE8...0xEF: x87CompareToFlags(r, ordered: false, pop: false)
            case 0xF0...0xF7: x87CompareToFlags(r, ordered: true, pop: false)
            default: x87ConditionalMove(r, cc: reg, negate: true)
            }
        case 5:
            switch reg {
            case 0: x87Free(r, pop: false)
            case 1: x87Exchange(r)
            case 2: x87StoreRegister(r, pop: false)
            case 3: x87StoreRegister(r, pop: true)
            case 4: x87Compare(.positiveZero, other: r, ordered: false, pops: 0)
            default: x87Compare(.positiveZero, other: r, ordered: false, pops: 1)
            }
        default: // 7
            switch reg {
            case 0: x87Free(r, pop: true)
            case 1: x87Exchange(r)
            case 2, 3: x87StoreRegister(r, pop: true)
            case 4: writeReg(0, 2, UInt64(extended.control.statusWord))    // FNSTSW AX
            case 5: x87CompareToFlags(r, ordered: false, pop: true)
            default: x87CompareToFlags(r, ordered: true, pop: true)
            }
        }
    }
}
#endif
