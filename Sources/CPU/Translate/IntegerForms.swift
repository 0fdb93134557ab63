/// Data movement and ALU forms: each becomes the same host instruction on the guest's
/// operands, and the host computes the flags the SDM defines (SDM Vol. 1 Appendix A).
extension BlockTranslator {
    /// The operands of an ALU or TEST form: r/m and reg, r/m and an immediate, reg and r/m,
    /// or the accumulator and an immediate.
    enum ALUOperands { case rmReg, rmImm, regRM, accImm }

    /// ADD … CMP in every operand form (SDM Vol. 2A "ADD", "ADC", "AND", "CMP", Vol. 2B "OR",
    /// "SBB", "SUB", "XOR"); the accumulator form is the r/m, imm form on register 0.
    mutating func alu(_ d: DecodedInstruction, _ operands: ALUOperands, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        let kind = ALUKind(rawValue: d.sub & 7)!
        let imm = operands == .rmImm || operands == .accImm
        if imm && !BlockTranslator.immediateFits(d) { return .unsupported }
        let mem = d.isMemory && operands != .accImm
        if mem {
            guard memoryOperand(d, size: s, write: kind != .cmp && operands != .regRM, at: p) else { return .unsupported }
            if kind.readsCarry { loadFlags() }
            if operands == .regRM {
                let dst = loadRegister(d.reg, s, into: R.rax)
                e.alu(kind, dst.code, .at(R.rcx), width: s, byteHigh: dst.high)
                if kind != .cmp { storeRegister(d.reg, s, from: R.rax) }
            } else if imm {
                e.alu(kind, .at(R.rcx), immediate: d.imm, width: s)
            } else {
                let src = loadRegister(d.reg, s, into: R.rdx)
                e.alu(kind, .at(R.rcx), src.code, width: s, byteHigh: src.high)
            }
            flagsAt = .host
            return .done
        }
        switch operands {
        case .rmReg: aluRegisters(kind, d.rm, d.reg, size: s)
        case .regRM: aluRegisters(kind, d.reg, d.rm, size: s)
        case .rmImm, .accImm:
            let g = operands == .accImm ? 0 : d.rm
            if kind.readsCarry { loadFlags() }
            if let h = cachedHost(g, size: s) {
                e.alu(kind, .reg(h), immediate: d.imm, width: s)
                flagsAt = .host
                return .done
            }
            let dst = loadRegister(g, s, into: R.rax)
            e.alu(kind, .reg(dst.code), immediate: d.imm, width: s, byteHigh: dst.high)
            if kind != .cmp { storeRegister(g, s, from: R.rax) }
            flagsAt = .host
        }
        return .done
    }

    /// BSWAP r32/r64 (SDM Vol. 2A "BSWAP"): the register's bytes reversed (a 32-bit result
    /// zero-extended); no flags change. The 16-bit form, undefined, stays with the interpreter.
    mutating func byteSwap(_ d: DecodedInstruction) -> Outcome {
        let s = Int(d.opSize)
        e.load(R.rax, slot(d.reg), width: s)
        e.bswap(R.rax, width: s)
        e.store(slot(d.reg), R.rax, width: 8)
        return .done
    }

    /// CWDE/CDQE (98) and CDQ/CQO (99) (SDM Vol. 2A "CBW/CWDE/CDQE", "CWD/CDQ/CQO"): the host
    /// instruction on the guest's RAX (and RDX); no flags change.
    mutating func extendAccumulator(_ d: DecodedInstruction) -> Outcome {
        let s = Int(d.opSize)
        e.load(R.rax, slot(.rax), width: 8)
        e.accumulatorExtension(d.op == .cbw ? 0x98 : 0x99, width: s)
        e.store(slot(d.op == .cbw ? .rax : .rdx), d.op == .cbw ? R.rax : R.rdx, width: 8)
        return .done
    }

    /// ALU `kind` on two registers: `dst ← dst op src` (CMP only compares).
    mutating func aluRegisters(_ kind: ALUKind, _ dst: UInt8, _ src: UInt8, size s: Int) {
        if kind.readsCarry { loadFlags() }
        if let h = cachedHost(dst, size: s), src < 16 {
            e.alu(kind, h, slot(src), width: s)
            flagsAt = .host
            return
        }
        let d = loadRegister(dst, s, into: R.rax)
        let r = loadRegister(src, s, into: R.rdx)
        e.alu(kind, .reg(d.code), r.code, width: s, byteHigh: d.high || r.high)
        if kind != .cmp { storeRegister(dst, s, from: R.rax) }
        flagsAt = .host
    }

    /// TEST r/m, reg; TEST r/m, imm; TEST AL/eAX, imm (SDM Vol. 2B "TEST").
    mutating func test(_ d: DecodedInstruction, _ operands: ALUOperands, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        let imm = operands != .rmReg
        if imm && !BlockTranslator.immediateFits(d) { return .unsupported }
        let acc = operands == .accImm
        var a: Operand
        var high = false
        if d.isMemory && !acc {
            guard memoryOperand(d, size: s, write: false, at: p) else { return .unsupported }
            a = .at(R.rcx)
        } else {
            let r = loadRegister(acc ? 0 : d.rm, s, into: R.rax)
            a = .reg(r.code)
            high = r.high
        }
        if imm {
            e.test(a, immediate: d.imm, width: s, byteHigh: high)
        } else {
            let b = loadRegister(d.reg, s, into: R.rdx)
            e.test(a, b.code, width: s, byteHigh: high || b.high)
        }
        flagsAt = .host
        return .done
    }

    /// INC, DEC (CF kept, so the guest's flags go into the host first), NOT (no flags), NEG.
    mutating func unary(_ u: HostCodeEmitter.Unary, _ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        if d.isMemory {
            guard memoryOperand(d, size: s, write: true, at: p) else { return .unsupported }
            if u == .inc || u == .dec { loadFlags() }
            e.unary(u, .at(R.rcx), width: s)
        } else if let h = cachedHost(d.rm, size: s) {
            if u == .inc || u == .dec { loadFlags() }
            e.unary(u, .reg(h), width: s)
        } else {
            if u == .inc || u == .dec { loadFlags() }
            let r = loadRegister(d.rm, s, into: R.rax)
            e.unary(u, .reg(r.code), width: s, byteHigh: r.high)
            storeRegister(d.rm, s, from: R.rax)
        }
        if u != .not { flagsAt = .host }
        return .done
    }

    /// SETcc r/m8.
    mutating func setByte(_ d: DecodedInstruction, at p: Position) -> Outcome {
        if d.isMemory {
            guard memoryOperand(d, size: 1, write: true, at: p) else { return .unsupported }
            loadFlags()
            e.setcc(d.sub, .at(R.rcx))
        } else {
            loadFlags()
            let r = loadRegister(d.rm, 1, into: R.rax)
            e.setcc(d.sub, .reg(r.code), byteHigh: r.high)
            storeRegister(d.rm, 1, from: R.rax)
        }
        return .done
    }

    /// CMOVcc r32/64, r/m: the source is read whatever the condition, and a 32-bit
    /// destination is zero-extended even when the move does not happen (SDM Vol. 2A "CMOVcc").
    mutating func conditionalMove(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        if d.isMemory {
            guard memoryOperand(d, size: s, write: false, at: p) else { return .unsupported }
            loadFlags()
            e.load(R.rdx, .at(R.rcx), width: s)
        } else {
            loadFlags()
            e.load(R.rdx, slot(d.rm), width: s)
        }
        e.load(R.rax, slot(d.reg), width: s)
        e.cmovcc(d.sub, R.rax, .reg(R.rdx), width: s)
        e.store(slot(d.reg), R.rax, width: 8)
        return .done
    }

    /// MOV r/m, imm.
    mutating func moveImmediate(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        if !d.isMemory { return moveImmediate(toRegister: d.rm, d.imm, size: s) }
        guard BlockTranslator.immediateFits(d) else { return .unsupported }
        guard memoryOperand(d, size: s, write: true, at: p) else { return .unsupported }
        e.storeImmediate(.at(R.rcx), d.imm, width: s)
        return .done
    }

    /// MOV reg, imm: 32-bit writes zero-extend, bytes and words merge.
    mutating func moveImmediate(toRegister g: UInt8, _ imm: UInt64, size s: Int) -> Outcome {
        if s >= 4, let h = cachedHost(g, size: s) {
            e.loadImmediate64(h, s == 8 ? imm : imm & 0xFFFF_FFFF)
            return .done
        }
        switch s {
        case 8:
            e.loadImmediate64(R.rax, imm)
        case 4:
            e.loadImmediate64(R.rax, imm & 0xFFFF_FFFF)
        default:
            let r = loadRegister(g, s, into: R.rax)
            e.storeImmediate(.reg(r.code), imm, width: s, byteHigh: r.high)
        }
        storeRegister(g, s, from: R.rax)
        return .done
    }

    /// MOV r/m, reg.
    mutating func moveToRM(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        if !d.isMemory { moveRegister(d.reg, to: d.rm, size: s); return .done }
        guard memoryOperand(d, size: s, write: true, at: p) else { return .unsupported }
        let src = loadRegister(d.reg, s, into: R.rdx)
        e.store(.at(R.rcx), src.code, width: s, byteHigh: src.high)
        return .done
    }

    /// MOV reg, r/m.
    mutating func moveFromRM(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        if !d.isMemory { moveRegister(d.rm, to: d.reg, size: s); return .done }
        guard memoryOperand(d, size: s, write: false, at: p) else { return .unsupported }
        if s >= 4 {
            e.load(R.rax, .at(R.rcx), width: s)
        } else {
            let dst = loadRegister(d.reg, s, into: R.rax)
            e.load(dst.code, .at(R.rcx), width: s, byteHigh: dst.high)
        }
        storeRegister(d.reg, s, from: R.rax)
        return .done
    }

    /// MOV reg, reg at `s` bytes.
    mutating func moveRegister(_ from: UInt8, to: UInt8, size s: Int) {
        if s >= 4, let h = cachedHost(to, size: s), from < 16 {
            e.load(h, slot(from), width: s)                                 // 32 bits zero-extend
            return
        }
        if s >= 4 {
            e.load(R.rdx, slot(from), width: s)
            e.store(slot(to), R.rdx, width: 8)
            return
        }
        let dst = loadRegister(to, s, into: R.rax)
        let src = loadRegister(from, s, into: R.rdx)
        e.store(.reg(dst.code), src.code, width: s, byteHigh: dst.high || src.high)
        storeRegister(to, s, from: R.rax)
    }

    /// LEA r32/64, m: the effective address, no segment base (SDM Vol. 2A "LEA").
    mutating func loadEffectiveAddress(_ d: DecodedInstruction, at p: Position) -> Outcome {
        if let h = cachedHost(d.reg, size: Int(d.opSize)), d.addrSize == 8, d.disp == Int64(Int32(truncatingIfNeeded: d.disp)),
           case .reg(let b)? = d.base < 16 ? slot(d.base) : nil,
           d.index == DecodedInstruction.noRegister || cachedHost(d.index, size: 8) != nil {
            // One host LEA on the cached registers; a 32-bit destination takes the low half.
            let x = d.index == DecodedInstruction.noRegister ? nil : cachedHost(d.index, size: 8)
            e.lea(h, .mem(base: b, index: x, scale: d.scale, disp: Int32(d.disp)), width: Int(d.opSize))
            return .done
        }
        guard address(d, next: p.next, segment: false) else { return .unsupported }
        if d.opSize == 4 { e.store(.reg(R.rcx), R.rcx, width: 4) }
        e.store(slot(d.reg), R.rcx, width: 8)
        return .done
    }

    /// MOVZX, MOVSX (sub = source size) and MOVSXD into a 32- or 64-bit register.
    mutating func extend(_ d: DecodedInstruction, at p: Position) -> Outcome {
        let s = Int(d.opSize)
        let from = d.op == .movsxd ? (s == 8 ? 4 : s) : Int(d.sub)
        if d.op == .movsxd && s == 4 {
            // Without REX.W, MOVSXD is a 32-bit move.
            if d.isMemory {
                guard memoryOperand(d, size: 4, write: false, at: p) else { return .unsupported }
                e.load(R.rax, .at(R.rcx), width: 4)
                e.store(slot(d.reg), R.rax, width: 8)
            } else {
                moveRegister(d.rm, to: d.reg, size: 4)
            }
            return .done
        }
        var src: Operand
        var high = false
        if d.isMemory {
            guard memoryOperand(d, size: from, write: false, at: p) else { return .unsupported }
            src = .at(R.rcx)
        } else {
            let r = loadRegister(d.rm, from, into: R.rdx)
            src = .reg(r.code)
            high = r.high
        }
        if d.op == .movzx {
            e.movzx(R.rax, src, from: from, width: 4, byteHigh: high)     // zero-extends to 64
        } else if high && s == 8 {
            e.movsx(R.rax, src, from: 1, width: 4, byteHigh: true)       // DH needs no REX
            e.movsx(R.rax, .reg(R.rax), from: 4, width: 8)
        } else {
            e.movsx(R.rax, src, from: from, width: s, byteHigh: high)
        }
        e.store(slot(d.reg), R.rax, width: 8)
        return .done
    }
}

extension ALUKind {
    /// ADC and SBB read CF.
    var readsCarry: Bool { self == .adc || self == .sbb }
}
