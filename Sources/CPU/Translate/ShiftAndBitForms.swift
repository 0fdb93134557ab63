/// Shifts, rotates and bit tests, where the host leaves flags undefined that the interpreter
/// defines: the code writes the interpreter's values into the frame's compact flags itself.
extension BlockTranslator {
    /// Group 2 forms of a register (`TranslatableForms` says which): shifts and rotates.
    mutating func shiftOrRotate(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let kind = ShiftKind(rawValue: d.sub & 7)!
        if d.op == .shiftRMImm && flagsDeadAfter(p.index) {
            // The next instruction writes every flag first: only the value matters.
            let s = Int(d.opSize)
            let (count, zero) = immediateCount(d)
            if zero { return .done }
            let slot = slot(d.rm)
            e.load(R.rax, slot, width: s == 2 ? 8 : s)                      // a word keeps the rest
            e.shift(kind, .reg(R.rax), count: count, width: s)
            e.store(slot, R.rax, width: 8)
            flagsAt = .host
            return .done
        }
        return kind == .rol || kind == .ror ? rotate(d, kind) : shift(d, kind)
    }

    /// The count of a group 2 form by imm8, masked as the SDM masks it (5 bits, 6 with
    /// REX.W); nil for a form by CL. A masked count of 0 changes no flag and nothing but a
    /// 32-bit register's upper half, cleared here: then `zero` is true and the form is done.
    mutating func immediateCount(_ d: DecodedInstruction) -> (count: UInt8?, zero: Bool) {
        guard d.op == .shiftRMImm else { return (nil, false) }
        let count = UInt8(truncatingIfNeeded: d.imm) & (d.opSize == 8 ? 63 : 31)
        if count == 0 && d.opSize == 4 {
            e.load(R.rax, slot(d.rm), width: 4)
            e.store(slot(d.rm), R.rax, width: 8)
        }
        return (count, count == 0)
    }

    /// SHL/SHR/SAR of a 32- or 64-bit register by imm8 or CL, or of a 16-bit register by an
    /// imm8 below 16, with the interpreter's flags (`Processor.shift`): CF, ZF, SF, PF as the
    /// SDM defines them, AF clear, and OF computed as for a count of 1 whatever the count
    /// (SHL: MSB(result) XOR CF; SHR: MSB(operand); SAR: 0) — so the host's undefined AF and
    /// OF are replaced (a 16-bit count of 16 or more would leave CF undefined too). A masked
    /// count of 0 changes no flag; a 32-bit destination is still zero-extended (SDM Vol. 2B
    /// "SAL/SAR/SHL/SHR").
    mutating func shift(_ d: DecodedInstruction, _ kind: ShiftKind) -> Outcome {
        let s = Int(d.opSize)
        let mask: UInt8 = s == 8 ? 63 : 31
        let slot = slot(d.rm)
        var skip: Int? = nil
        let (count, zero) = immediateCount(d)
        if zero { return .done }
        if count == nil {
            // The count is known only now: keep the flags in the frame for a count of 0.
            spillFlags()
            if s == 4 { e.load(R.rax, slot, width: 4); e.store(slot, R.rax, width: 8) }
            e.load(R.rcx, self.slot(.rcx), width: 4)
            e.alu(.and, .reg(R.rcx), immediate: UInt64(mask), width: 4)
            skip = e.jump(CC.z)
        }
        e.load(R.rax, slot, width: s == 2 ? 8 : s)                          // a word keeps the rest
        if kind == .shr { e.store(.reg(R.r8), R.rax, width: 8) }
        e.shift(kind, .reg(R.rax), count: count, width: s)
        e.store(slot, R.rax, width: 8)
        // Compact flags: AH from LAHF without AF; AL = OF by the interpreter's rule.
        let msb = UInt8(s * 8 - 1)
        e.store(.reg(R.rdx), R.rax, width: 8)                               // the result
        e.lahf()
        e.alu(.and, .reg(R.ah), immediate: ~UInt64(RFLAGS.af) & 0xFF, width: 1, byteHigh: true)
        switch kind {
        case .shl:                                                          // MSB(result) XOR CF
            e.shiftRight(.reg(R.rdx), msb, width: 8)
            e.store(.reg(R.rax), R.ah, width: 1, byteHigh: true)            // AL = AH
            e.alu(.and, .reg(R.rax), immediate: 1, width: 1)
            e.alu(.xor, .reg(R.rax), R.rdx, width: 1)
        case .shr:                                                          // MSB(operand)
            e.shiftRight(.reg(R.r8), msb, width: 8)
            e.store(.reg(R.rax), R.r8, width: 1)
        default:                                                            // SAR: 0
            e.storeImmediate(.reg(R.rax), 0, width: 1)
        }
        // Above a word's MSB are the register's other bits.
        if s == 2 && kind != .sar { e.alu(.and, .reg(R.rax), immediate: 1, width: 1) }
        storeCompactFlags()
        if let skip { e.bind(skip, to: e.position) }
        flagsAt = .frame
        return .done
    }

    /// ROL/ROR of a 32- or 64-bit register by imm8 or CL, with the interpreter's flags
    /// (`Processor.shift`): CF as the SDM defines it, OF computed as for a count of 1 whatever
    /// the count (ROL: MSB(result) XOR CF; ROR: XOR of the result's two most significant
    /// bits), SF, ZF, AF and PF unchanged, so the guest's flags go through the host
    /// instruction. A masked count of 0 changes no flag, and a 32-bit destination is still
    /// zero-extended (SDM Vol. 2B "RCL/RCR/ROL/ROR").
    mutating func rotate(_ d: DecodedInstruction, _ kind: ShiftKind) -> Outcome {
        let s = Int(d.opSize)
        let mask: UInt8 = s == 8 ? 63 : 31
        let slot = slot(d.rm)
        let (count, zero) = immediateCount(d)
        if zero { return .done }
        loadFlags()
        e.load(R.rax, slot, width: s)
        if count == nil { e.load(R.rcx, self.slot(.rcx), width: 4) }
        e.shift(kind, .reg(R.rax), count: count, width: s)
        e.store(slot, R.rax, width: 8)
        e.store(.reg(R.rdx), R.rax, width: 8)                               // the result
        e.lahf()
        var skip: Int? = nil
        if count == nil {
            // A masked count of 0: the flags as they were, OF too.
            e.setcc(CC.o, .reg(R.rax))
            e.alu(.and, .reg(R.rcx), immediate: UInt64(mask), width: 4)
            skip = e.jump(CC.z)
        }
        // AL = CF (AH bit 0) XOR MSB(result) for ROL, where CF is the LSB; XOR the bit
        // below the MSB for ROR, where CF is the MSB.
        let msb = UInt8(s * 8 - 1)
        e.shiftRight(.reg(R.rdx), kind == .rol ? msb : msb - 1, width: 8)
        e.store(.reg(R.rax), R.ah, width: 1, byteHigh: true)
        e.alu(.xor, .reg(R.rax), R.rdx, width: 1)
        e.alu(.and, .reg(R.rax), immediate: 1, width: 1)
        if let skip { e.bind(skip, to: e.position) }
        storeCompactFlags()
        flagsAt = .frame
        return .done
    }

    /// BT/BTS/BTR/BTC r/m32/64, imm8 (SDM Vol. 2B "BT", "BTS", "BTR", "BTC"): CF ← the bit
    /// (the offset taken modulo the operand size, the address unchanged), then BTS sets it,
    /// BTR clears it and BTC complements it. The interpreter leaves the other flags as they
    /// were (`Processor.bitTest`), where the host's are undefined, so the bit goes straight
    /// into the frame's compact flags and the host's own BTS/BTR/BTC only changes the value.
    mutating func bitTest(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        let operation = HostCodeEmitter.BitOperation(rawValue: d.sub & 3)!
        let bit = UInt8(truncatingIfNeeded: d.imm) & UInt8(s * 8 - 1)
        if d.isMemory {
            guard memoryOperand(d, size: s, write: operation != .bt, at: p) else { return .unsupported }
        }
        spillFlags()                          // saving them clobbers RAX: first
        let operand: Operand = d.isMemory ? .at(R.rcx) : slot(d.rm)
        e.load(R.rax, operand, width: s)
        if operation != .bt {
            // 0F BA /5, /6, /7 ib on a copy; a 32-bit register result zero-extends.
            e.load(R.rdx, .reg(R.rax), width: s)
            e.bitOperation(operation, .reg(R.rdx), bit: bit, width: s)
            if d.isMemory { e.store(operand, R.rdx, width: s) } else { e.store(operand, R.rdx, width: 8) }
        }
        if bit != 0 { e.shiftRight(.reg(R.rax), bit, width: 8) }
        e.alu(.and, .reg(R.rax), immediate: 1, width: 4)
        e.shiftLeft(.reg(R.rax), 8, width: 4)                       // CF is bit 8 of the compact form
        e.alu(.and, .at(R.rsi, TranslationFrame.flagsOffset), immediate: 0xFEFF, width: 2)
        e.alu(.or, .at(R.rsi, TranslationFrame.flagsOffset), R.rax, width: 2)
        return .done
    }
}
