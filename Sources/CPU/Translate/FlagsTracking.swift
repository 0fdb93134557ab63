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

    /// Stores AX as the frame's compact flags.
    mutating func storeCompactFlags() {
        e.store(.at(R.rsi, TranslationFrame.flagsOffset), R.rax, width: 2)
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

    /// Before an instruction that reads flags: load them into the host's RFLAGS.
    mutating func loadFlags() {
        if flagsAt == .frame { restoreFlags() }
        flagsAt = .host
    }

    /// Whether the status flags instruction `k` leaves are dead: a later instruction of the
    /// same translation writes all six without reading any, and none between reads or writes
    /// flags or can exit (register forms only, no crossing-instruction guard): so neither
    /// an instruction nor the interpreter behind an exit can observe them. A shift, rotate or
    /// multiply then need not compute the interpreter's values of the flags the host leaves
    /// undefined.
    func flagsDeadAfter(_ k: Int) -> Bool {
        guard let inst = instructions else { return false }
        var j = k + 1
        while j < blockCount && j != tailIndex && j <= k + 6 {
            let d = inst[j]
            guard !d.isMemory, TranslatableForms.form(of: d) != nil else { return false }
            switch BlockTranslator.flagUse(d) {
            case .writesAll: return true
            case .none: j += 1
            case .other: return false
            }
        }
        return false
    }

    enum FlagUse { case writesAll, none, other }

    /// What a translated register form does with the status flags: writes all six without
    /// reading any, neither reads nor writes them, or anything else. Forms that `instruction`
    /// may still refuse (an immediate beyond imm32) count as `other`: they exit.
    static func flagUse(_ d: DecodedInstruction) -> FlagUse {
        let immFits = immediateFits(d)
        switch d.op.unfused {
        case .aluRMReg, .aluRegRM:
            return ALUKind(rawValue: d.sub & 7)!.readsCarry ? .other : .writesAll
        case .aluRMImm, .aluAccImm:
            return !ALUKind(rawValue: d.sub & 7)!.readsCarry && immFits ? .writesAll : .other
        case .testRMReg, .negRM, .imulRegRM, .imulRegRMImm, .mulRM:
            return .writesAll
        case .testRMImm, .testAccImm:
            return immFits ? .writesAll : .other
        case .shiftRMImm:
            let kind = ShiftKind(rawValue: d.sub & 7)!
            let count = UInt8(truncatingIfNeeded: d.imm) & (d.opSize == 8 ? 63 : 31)
            return kind != .rol && kind != .ror && count != 0 ? .writesAll : .other
        case .nop, .movRegImm, .movRMImm, .movRMReg, .movRegRM, .movzx, .movsx, .movsxd, .bswap, .cbw, .cwd, .notRM:
            return .none
        case .lea:
            return d.addrSize == 8 || (d.addrSize == 4 && d.base != DecodedInstruction.ripBase) ? .none : .other
        default:
            return .other
        }
    }
}
