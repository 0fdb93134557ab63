/// Branches and the 64-bit stack forms. A branch ends the code with an exit (`ExitStubs`)
/// that chains to the block at its target; stack slots go through the TLB fast path like any
/// memory operand (SS has base 0 in 64-bit mode).
extension BlockTranslator {
    /// Jcc rel: a taken branch leaves by a side exit to its target.
    mutating func conditionalJump(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let target = p.next &+ Int64(bitPattern: d.imm)
        noteTarget(target)
        loadFlags()
        exitIf(d.sub, exit(Int32(truncatingIfNeeded: target), retired: p.index + 1, .next))
        return .done
    }

    /// JMP rel.
    mutating func jump(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let target = p.next &+ Int64(bitPattern: d.imm)
        noteTarget(target)
        inlineExit(exit(Int32(truncatingIfNeeded: target), retired: p.index + 1, .next))
        return .ended
    }

    /// CALL rel32.
    mutating func call(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let target = p.next &+ Int64(bitPattern: d.imm)
        noteTarget(target)
        pushReturnAddress(using: R.rax, at: p)
        inlineExit(exit(Int32(truncatingIfNeeded: target), retired: p.index + 1, .next))
        return .ended
    }

    /// RET (near, no immediate).
    mutating func ret(at p: Position) -> Outcome {
        stackAddress(0)
        probe(size: 8, write: false, at: p)
        e.load(R.rax, .at(R.rcx), width: 8)
        branchTarget(at: p)
        adjustStack(8, using: R.rax)
        inlineExit(exit(Int32(p.offset), retired: p.index + 1, .indirect))
        return .ended
    }

    /// CALL r/m64 and JMP r/m64.
    mutating func indirectBranch(_ d: DecodedInstruction, at p: Position) -> Outcome {
        if d.isMemory {
            guard memoryOperand(d, size: 8, write: false, at: p) else { return .unsupported }
            spillFlags()                        // a shared-page operand leaves them in the host
            e.load(R.rax, .at(R.rcx), width: 8)
        } else {
            spillFlags()
            e.load(R.rax, slot(d.rm), width: 8)
        }
        branchTarget(at: p)
        if d.op == .callRM { pushReturnAddress(using: R.rdx, at: p) }
        inlineExit(exit(Int32(p.offset), retired: p.index + 1, .indirect))
        return .ended
    }

    /// The target of a RET or an indirect CALL/JMP, in RAX, becomes the frame's
    /// `branchTarget` if it is canonical with 48-bit linear addresses (so with 57-bit ones
    /// too); otherwise the interpreter runs the instruction at `p`, which raises the #GP(0)
    /// the SDM gives a non-canonical target (Vol. 2A "CALL", "JMP"; Vol. 2B "RET") before the
    /// instruction changes anything, or, with 5-level paging, takes the branch. Call with
    /// the flags out of the host (no check below clobbers RAX).
    mutating func branchTarget(at p: Position) {
        e.store(.reg(R.rdx), R.rax, width: 8)
        e.shiftLeft(.reg(R.rdx), 16, width: 8)
        e.shift(.sar, .reg(R.rdx), count: 16, width: 8)
        e.alu(.cmp, R.rdx, .reg(R.rax), width: 8)
        interpretIf(CC.nz, at: p)
        e.store(.at(R.rsi, TranslationFrame.branchTargetOffset), R.rax, width: 8)
    }

    /// A near CALL's push of the next instruction's RIP (entry RIP + `p.next`), through
    /// host register `h`; a stack slot that misses the TLB hands the CALL to the interpreter.
    mutating func pushReturnAddress(using h: UInt8, at p: Position) {
        stackAddress(-8)
        probe(size: 8, write: true, at: p)
        e.load(h, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
        e.lea(h, .at(h, Int32(p.next)))
        e.store(.at(R.rcx), h, width: 8)
        adjustStack(-8, using: h)
    }

    /// PUSH r64 and PUSH imm (sign-extended imm32).
    mutating func push(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let imm = d.op == .pushImm
        guard !imm || BlockTranslator.fitsInt32(d.imm) else { return .unsupported }
        stackAddress(-8)
        probe(size: 8, write: true, at: p)
        if imm {
            e.storeImmediate(.at(R.rcx), d.imm, width: 8)
        } else {
            e.load(R.rax, slot(d.reg), width: 8)
            e.store(.at(R.rcx), R.rax, width: 8)
        }
        adjustStack(-8, using: R.rax)
        return .done
    }

    /// POP r64.
    mutating func pop(_ d: DecodedInstruction, at p: Position) -> Outcome {
        stackAddress(0)
        probe(size: 8, write: false, at: p)
        e.load(R.rax, .at(R.rcx), width: 8)
        adjustStack(8, using: R.rdx)
        e.store(slot(d.reg), R.rax, width: 8)       // after RSP: POP RSP loads the popped value
        return .done
    }

    /// SDM Vol. 2B "PUSHF/PUSHFD/PUSHFQ": in 64-bit mode RFLAGS with VM and RF clear.
    mutating func pushFlags(at p: Position) -> Outcome {
        stackAddress(-8)
        probe(size: 8, write: true, at: p)                          // leaves flags off the host
        let kept = flagsAt
        loadFlags()
        e.pushfq()
        e.popRAX()
        e.alu(.and, .reg(R.rax), immediate: RFLAGS.arithmetic, width: 4)
        e.alu(.or, R.rax, .at(R.rsi, TranslationFrame.otherFlagsOffset), width: 8)
        e.store(.at(R.rcx), R.rax, width: 8)
        adjustStack(-8, using: R.rax)
        flagsAt = kept                                              // still where they were
        return .done
    }

    /// LEAVE: RSP ← RBP, then POP RBP.
    mutating func leave(at p: Position) -> Outcome {
        e.load(R.rcx, slot(.rbp), width: 8)
        probe(size: 8, write: false, at: p)
        e.load(R.rax, .at(R.rcx), width: 8)
        e.load(R.rdx, slot(.rbp), width: 8)
        e.lea(R.rdx, .at(R.rdx, 8))
        e.store(slot(.rsp), R.rdx, width: 8)
        e.store(slot(.rbp), R.rax, width: 8)
        return .done
    }
}
