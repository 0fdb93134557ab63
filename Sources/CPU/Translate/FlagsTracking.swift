/// Where the guest's six status flags are while a block's code runs (`FlagsAt`): the host's
/// RFLAGS hold them after a host instruction computed them, the frame's compact form
/// (`TranslationFrame.flags`) holds them across host code that clobbers RFLAGS.
extension BlockTranslator {
    /// Stores the host's status flags as the guest's, in the frame's compact form (LAHF's
    /// AH and SETO's AL; far cheaper than PUSHFQ). Clobbers RAX.
    mutating func saveFlags() {
        e.lahf()
        e.setcc(CC.o, .reg(R.rax))
        storeCompactFlags()
    }

    /// Stores AX as the frame's compact flags and marks them valid.
    mutating func storeCompactFlags() {
        e.store(.at(R.rsi, TranslationFrame.flagsOffset), R.rax, width: 2)
        e.storeImmediate(.at(R.rsi, TranslationFrame.flagsValidOffset), 1, width: 8)
    }

    /// Loads the guest's status flags from the frame's compact form: ADD AL, 7FH sets OF
    /// exactly when AL = 1, then SAHF sets SF, ZF, AF, PF and CF from AH. Clobbers RAX, so
    /// it comes before an instruction's operands are loaded.
    mutating func restoreFlags() {
        e.movzx(R.rax, .at(R.rsi, TranslationFrame.flagsOffset), from: 2, width: 4)
        e.alu(.add, .reg(R.rax), immediate: 0x7F, width: 1)
        e.sahf()
    }

    /// Before host code that clobbers RFLAGS: keep the guest's flags in the frame.
    mutating func spillFlags() {
        if flagsAt == .host {
            saveFlags()
            flagsAt = .frame
        }
    }

    /// Before code that changes only some flags in the frame: the frame must hold all of
    /// them. The block's entry flags are there when the block needs them (the run loop or a
    /// chain leaves them), so they only become needed.
    mutating func flagsToFrame() {
        if flagsAt == .entry {
            needsFlagsIn = true
            flagsAt = .frame
        } else {
            spillFlags()
        }
    }

    /// Before an instruction that reads flags: load them into the host's RFLAGS.
    mutating func loadFlags() {
        switch flagsAt {
        case .host: return
        case .entry:
            needsFlagsIn = true
            restoreFlags()
        case .frame:
            restoreFlags()
        }
        flagsAt = .host
    }

    /// Whether the status flags instruction `k` leaves are dead: the next instruction, in the
    /// same translation with no exit before it, is an ALU or TEST form on registers that
    /// writes all six without reading any (not ADC or SBB; no memory operand, so no exit to
    /// the interpreter can observe them in between). A shift or rotate then need not compute
    /// the interpreter's values of the flags the host leaves undefined.
    func flagsDeadAfter(_ k: Int) -> Bool {
        guard let inst = instructions, k + 1 < blockCount, k + 1 != tailIndex else { return false }
        let d = inst[k + 1]
        guard !d.isMemory, TranslatableForms.form(of: d) != nil else { return false }
        switch d.op.unfused {
        case .aluRMReg, .aluRegRM:
            let kind = ALUKind(rawValue: d.sub & 7)!
            return !kind.readsCarry
        case .aluRMImm, .aluAccImm:
            let kind = ALUKind(rawValue: d.sub & 7)!
            return !kind.readsCarry && (d.opSize != 8 || BlockTranslator.fitsInt32(d.imm))
        case .testRMReg:
            return true
        case .testRMImm, .testAccImm:
            return d.opSize != 8 || BlockTranslator.fitsInt32(d.imm)
        default:
            return false
        }
    }
}
