/// Multiplication and division in translated code.
extension BlockTranslator {
    /// IMUL r16/32/64, r/m (0F AF) and IMUL r, r/m, imm (69, 6B) (SDM Vol. 2A "IMUL"): the
    /// truncated product into the register (a 32-bit result zero-extended, a 16-bit one
    /// merged), CF = OF = the product does not fit the operand size. The SDM leaves SF, ZF,
    /// AF and PF undefined; the interpreter (`Processor.setMultiplyFlags`) sets SF, ZF and PF
    /// from the truncated result and clears AF, so the code writes those into the frame's
    /// compact flags itself: TEST of the result gives SF, ZF, PF, and SETO the overflow.
    mutating func signedMultiply(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        guard let src = multiplySource(d, at: p) else { return .unsupported }
        // Every status flag is written below: the ones before are dead here, so they need
        // no spill (the exits above keep them where they are).
        // The destination register whole, so a 16-bit product keeps its upper bits.
        e.load(R.rax, slot(d.reg), width: s == 4 ? 4 : 8)
        if d.op == .imulRegRMImm {
            e.imul(R.rax, src, immediate: d.imm, width: s)
        } else {
            e.imul(R.rax, src, width: s)
        }
        e.store(slot(d.reg), R.rax, width: 8)
        return multiplyFlags(width: s, at: p)
    }

    /// MUL r/m32 and MUL r/m64 (F7 /4, SDM Vol. 2B "MUL"): EDX:EAX or RDX:RAX ← RAX × r/m (the
    /// 32-bit halves zero-extended), CF = OF = the upper half is not 0. SF, ZF, AF and PF are
    /// undefined; the interpreter (`Processor.setMultiplyFlags`) sets SF, ZF and PF from the
    /// lower half and clears AF, so the code writes the compact flags as `signedMultiply` does.
    /// The multi-precision loops of Linux's RSA (`mpihelp_*mul_1`) run on this form.
    mutating func unsignedMultiply(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        guard let src = multiplySource(d, at: p) else { return .unsupported }
        // Every status flag is written below (see `signedMultiply`).
        e.load(R.rax, slot(.rax), width: 8)
        e.mul(src, width: s)
        e.store(slot(.rax), R.rax, width: 8)
        e.store(slot(.rdx), R.rdx, width: 8)
        return multiplyFlags(width: s, at: p)
    }

    /// DIV r/m32 and DIV r/m64 (F7 /6, SDM Vol. 2A "DIV"): EAX/RAX ← EDX:EAX or RDX:RAX ÷
    /// r/m, EDX/RDX ← the remainder (32-bit results zero-extended). A zero divisor or a
    /// quotient too wide for the operand size (the upper half of the dividend not below the
    /// divisor) raises #DE: the interpreter runs those. The SDM leaves the flags undefined and
    /// the interpreter keeps them, so the code keeps them in the frame across the host DIV.
    mutating func unsignedDivide(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize), w = s == 4 ? 4 : 8
        guard let src = multiplySource(d, at: p) else { return .unsupported }
        spillFlags()
        e.load(R.r8, src, width: w)
        e.test(.reg(R.r8), R.r8, width: w)
        interpretIf(CC.z, at: p)
        e.load(R.rdx, slot(.rdx), width: w)
        e.alu(.cmp, R.rdx, .reg(R.r8), width: w)
        interpretIf(CC.ae, at: p)
        e.load(R.rax, slot(.rax), width: w)
        e.div(.reg(R.r8), width: w)
        e.store(slot(.rax), R.rax, width: 8)
        e.store(slot(.rdx), R.rdx, width: 8)
        return .done
    }

    /// The r/m source of a multiply: a guest register's slot, or the host address of a memory
    /// operand in RCX (its TLB probe emitted; nil when the form cannot be translated).
    private mutating func multiplySource(_ d: DecodedInstruction, at p: Position) -> Operand? {
        guard d.isMemory else { return slot(d.rm) }
        guard memoryOperand(d, size: Int(d.opSize), write: false, at: p) else { return nil }
        return .at(R.rcx)
    }

    /// The flags of IMUL and MUL as the interpreter leaves them (`Processor.setMultiplyFlags`),
    /// with the product's lower half in host RAX and the host's OF from the multiply: CF = OF,
    /// SF, ZF and PF from the lower half (TEST), AF clear — into the frame's compact flags
    /// (AH as LAHF stores it, AL = OF). Nothing when a later instruction overwrites them
    /// unobserved (`flagsDeadAfter`).
    private mutating func multiplyFlags(width s: Int, at p: Position) -> Outcome {
        if flagsDeadAfter(p.index) {
            flagsAt = .host
            return .done
        }
        e.setcc(CC.o, .reg(R.rdx))                                         // DL = overflow
        e.test(.reg(R.rax), R.rax, width: s)                                 // SF, ZF, PF
        e.lahf()
        e.alu(.and, .reg(R.ah), immediate: ~UInt64(RFLAGS.af) & 0xFF, width: 1, byteHigh: true)
        e.alu(.or, .reg(R.ah), R.rdx, width: 1, byteHigh: true)              // CF (TEST cleared it)
        e.store(.reg(R.rax), R.rdx, width: 1)                                // AL = OF
        storeCompactFlags()
        flagsAt = .frame
        return .done
    }
}
