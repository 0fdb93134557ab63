/// Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP, TEST, INC, DEC, NOT, NEG,
/// MUL, IMUL, DIV, IDIV and the BCD adjustments (SDM Vol. 2A/2B, one entry per mnemonic).
extension Processor {
    // MARK: ALU core

    /// Computes `a op b` for ALU kind `kind` (SDM Vol. 2A Table A-6 group 1 order) at `size`
    /// bytes and records the lazy flags. Operands are already masked to the size.
    @inline(__always)
    func alu(_ kind: UInt8, _ a: UInt64, _ b: UInt64, _ size: UInt8) -> UInt64 {
        alu(kind, a, b, mask: Processor.mask(size), signShift: UInt8(size &* 8 &- 1))
    }

    /// `alu` specialised for width W (the constants fold once inlined).
    @inline(__always)
    func alu<W: OperandWidth>(_ kind: UInt8, _ a: UInt64, _ b: UInt64, _: W.Type) -> UInt64 {
        alu(kind, a, b, mask: W.mask, signShift: W.signShift)
    }

    @inline(__always)
    private func alu(_ kind: UInt8, _ a: UInt64, _ b: UInt64, mask m: UInt64, signShift: UInt8) -> UInt64 {
        var r: UInt64
        switch kind {
        case ALUKind.add.rawValue:
            r = (a &+ b) & m
            flags.op = .add
        case ALUKind.or.rawValue:
            r = a | b
            flags.op = .logic
        case ALUKind.adc.rawValue:
            let c: UInt64 = flags.cf ? 1 : 0
            r = (a &+ b &+ c) & m
            flags.op = .adc
            flags.carry = c
        case ALUKind.sbb.rawValue:
            let c: UInt64 = flags.cf ? 1 : 0
            r = (a &- b &- c) & m
            flags.op = .sbb
            flags.carry = c
        case ALUKind.and.rawValue:
            r = a & b
            flags.op = .logic
        case ALUKind.xor.rawValue:
            r = a ^ b
            flags.op = .logic
        default:    // ALUKind.sub, .cmp
            r = (a &- b) & m
            flags.op = .sub
        }
        flags.signShift = signShift
        flags.a = a
        flags.b = b
        flags.res = r
        return r
    }

    /// ALU op with an r/m destination: `E ← E op src` (CMP only compares). A memory
    /// destination is read and written as one read-modify-write access.
    @inline(__always)
    func aluToRM<W: OperandWidth>(_ i: Inst, _ kind: UInt8, _ src: UInt64, _ w: W.Type) throws(Fault) {
        if !i.pointee.isMemory {
            let r = alu(kind, readReg(i.pointee.rm, w), src, w)
            if kind != 7 { writeReg(i.pointee.rm, r, w) }
            return
        }
        if kind == 7 {
            _ = alu(kind, try readRM(i, w), src, w)
            return
        }
        let la = try memoryOperandLinear(i, W.size, write: true)
        let a = UInt64(try readLinearRMW(la, W.Value.self))
        let saved = flags
        let r = alu(kind, a, src, w)
        do { try writeLinear(la, W.Value(truncatingIfNeeded: r)) } catch { flags = saved; throw error }
    }

    /// SDM Vol. 2A "ADD"/"OR"/"ADC"/"SBB"/"AND"/"SUB"/"XOR"/"CMP" — r/m, reg form.
    @inline(__always)
    func aluRMReg<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        try aluToRM(i, i.pointee.sub, readReg(i.pointee.reg, w), w)
    }

    /// ALU — reg, r/m form.
    @inline(__always)
    func aluRegRM<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        let b = try readRM(i, w)
        let r = alu(i.pointee.sub, readReg(i.pointee.reg, w), b, w)
        if i.pointee.sub != 7 { writeReg(i.pointee.reg, r, w) }
    }

    /// ALU — AL/AX/EAX/RAX, imm form.
    @inline(__always)
    func aluAccImm<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        let r = alu(i.pointee.sub, readReg(0, w), i.pointee.imm & W.mask, w)
        if i.pointee.sub != 7 { writeReg(0, r, w) }
    }

    /// ALU — group 1 (80/81/83): r/m, imm.
    @inline(__always)
    func aluRMImm<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        try aluToRM(i, i.pointee.sub, i.pointee.imm & W.mask, w)
    }

    // MARK: TEST

    /// SDM Vol. 2B "TEST": AND without storing the result.
    @inline(__always)
    func testRMReg<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        _ = alu(4, try readRM(i, w), readReg(i.pointee.reg, w), w)
    }

    @inline(__always)
    func testAccImm<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        _ = alu(4, readReg(0, w), i.pointee.imm & W.mask, w)
    }

    @inline(__always)
    func testRMImm<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        _ = alu(4, try readRM(i, w), i.pointee.imm & W.mask, w)
    }

    // MARK: INC / DEC / NOT / NEG

    /// INC/DEC leave CF unchanged (SDM Vol. 2A "INC", "DEC").
    @inline(__always)
    func incDec(_ v: UInt64, _ s: UInt8, dec: Bool) -> UInt64 {
        let c: UInt64 = flags.cf ? 1 : 0
        let r = (dec ? v &- 1 : v &+ 1) & Processor.mask(s)
        flags.op = dec ? .dec : .inc
        flags.carry = c
        flags.signShift = UInt8(s &* 8 &- 1)
        flags.a = v
        flags.b = 1
        flags.res = r
        return r
    }

    @inline(__always)
    func incDec<W: OperandWidth>(_ v: UInt64, dec: Bool, _: W.Type) -> UInt64 {
        let c: UInt64 = flags.cf ? 1 : 0
        let r = (dec ? v &- 1 : v &+ 1) & W.mask
        flags.op = dec ? .dec : .inc
        flags.carry = c
        flags.signShift = W.signShift
        flags.a = v
        flags.b = 1
        flags.res = r
        return r
    }

    @inline(__always)
    func modifyRM(_ i: Inst, _ body: (UInt64, UInt8) -> UInt64) throws(Fault) {
        let s = i.pointee.opSize
        if !i.pointee.isMemory {
            writeReg(i.pointee.rm, s, body(readReg(i.pointee.rm, s), s))
            return
        }
        let la = try memoryOperandLinear(i, s, write: true)
        let v = try readLinearSizedRMW(la, s)
        let saved = flags
        let r = body(v, s)
        do { try writeLinearSized(la, s, r) } catch { flags = saved; throw error }
    }

    @inline(__always)
    func incDecRM<W: OperandWidth>(_ i: Inst, dec: Bool, _ w: W.Type) throws(Fault) {
        if !i.pointee.isMemory {
            writeReg(i.pointee.rm, incDec(readReg(i.pointee.rm, w), dec: dec, w), w)
            return
        }
        let la = try memoryOperandLinear(i, W.size, write: true)
        let v = UInt64(try readLinearRMW(la, W.Value.self))
        let saved = flags
        let r = incDec(v, dec: dec, w)
        do { try writeLinear(la, W.Value(truncatingIfNeeded: r)) } catch { flags = saved; throw error }
    }

    @inline(__always)
    func incReg<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        writeReg(i.pointee.reg, incDec(readReg(i.pointee.reg, w), dec: false, w), w)
    }

    @inline(__always)
    func decReg<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        writeReg(i.pointee.reg, incDec(readReg(i.pointee.reg, w), dec: true, w), w)
    }

    @inline(__always)
    func incRM<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        try incDecRM(i, dec: false, w)
    }

    @inline(__always)
    func decRM<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        try incDecRM(i, dec: true, w)
    }

    /// SDM Vol. 2B "NOT": no flags affected.
    func execNotRM(_ i: Inst) throws(Fault) {
        try modifyRM(i) { v, s in ~v & Processor.mask(s) }
    }

    /// SDM Vol. 2B "NEG": CF = (source ≠ 0), other flags as 0 − source.
    func execNegRM(_ i: Inst) throws(Fault) {
        try modifyRM(i) { v, s in alu(5, 0, v, s) }
    }

    // MARK: Multiply and divide

    /// Materializes flags for MUL/IMUL: CF = OF = `overflow`; SF, ZF, PF from the low half
    /// (undefined by the SDM; this is what the reference processor reports), AF clear.
    @inline(__always)
    func setMultiplyFlags(low: UInt64, size: UInt8, overflow: Bool) {
        var f: UInt64 = 0
        if overflow { f |= RFLAGS.cf | RFLAGS.of }
        let m = Processor.mask(size)
        if low & m == 0 { f |= RFLAGS.zf }
        if (low >> UInt64(size * 8 - 1)) & 1 != 0 { f |= RFLAGS.sf }
        if LazyFlags.parity(low) { f |= RFLAGS.pf }
        flags.set(f)
    }

    /// SDM Vol. 2B "MUL": unsigned rDX:rAX ← rAX × r/m.
    func execMulRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let src = try readRM(i, s)
        switch s {
        case 1:
            let r = (gpr[0] & 0xFF) &* src
            writeReg(0, 2, r)
            setMultiplyFlags(low: r & 0xFF, size: 1, overflow: r >> 8 != 0)
        case 2:
            let r = (gpr[0] & 0xFFFF) &* src
            writeReg(0, 2, r)
            writeReg(2, 2, r >> 16)
            setMultiplyFlags(low: r & 0xFFFF, size: 2, overflow: r >> 16 != 0)
        case 4:
            let r = (gpr[0] & 0xFFFF_FFFF) &* src
            writeReg(0, 4, r)
            writeReg(2, 4, r >> 32)
            setMultiplyFlags(low: r & 0xFFFF_FFFF, size: 4, overflow: r >> 32 != 0)
        default:
            let (hi, lo) = gpr[0].multipliedFullWidth(by: src)
            gpr[0] = lo
            gpr[2] = hi
            setMultiplyFlags(low: lo, size: 8, overflow: hi != 0)
        }
    }

    @inline(__always)
    static func signExtend(_ v: UInt64, _ size: UInt8) -> Int64 {
        let sh = UInt64(64 - Int(size) * 8)
        return Int64(bitPattern: v << sh) >> Int64(sh)
    }

    /// Signed multiply of two `size`-byte values: (low result masked, overflow).
    @inline(__always)
    func signedMultiply(_ a: UInt64, _ b: UInt64, _ s: UInt8) -> (UInt64, UInt64, Bool) {
        let x = Processor.signExtend(a, s)
        let y = Processor.signExtend(b, s)
        if s == 8 {
            let (hi, lo) = x.multipliedFullWidth(by: y)
            let overflow = hi != (Int64(bitPattern: lo) >> 63)
            return (lo, UInt64(bitPattern: hi), overflow)
        }
        let r = x &* y
        let m = Processor.mask(s)
        let overflow = Processor.signExtend(UInt64(bitPattern: r) & m, s) != r
        return (UInt64(bitPattern: r) & m, UInt64(bitPattern: r >> Int64(s * 8)) & m, overflow)
    }

    /// SDM Vol. 2A "IMUL" one-operand form: rDX:rAX ← rAX × r/m (signed).
    func execImulRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let src = try readRM(i, s)
        let (lo, hi, ov) = signedMultiply(readReg(0, s), src, s)
        if s == 1 {
            writeReg(0, 2, lo | (hi << 8))
        } else {
            writeReg(0, s, lo)
            writeReg(2, s, hi)
        }
        setMultiplyFlags(low: lo, size: s, overflow: ov)
    }

    /// IMUL r, r/m (two-operand form).
    func execImulRegRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let src = try readRM(i, s)
        let (lo, _, ov) = signedMultiply(readReg(i.pointee.reg, s), src, s)
        writeReg(i.pointee.reg, s, lo)
        setMultiplyFlags(low: lo, size: s, overflow: ov)
    }

    /// IMUL r, r/m, imm (three-operand form).
    func execImulRegRMImm(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let src = try readRM(i, s)
        let (lo, _, ov) = signedMultiply(src, i.pointee.imm & Processor.mask(s), s)
        writeReg(i.pointee.reg, s, lo)
        setMultiplyFlags(low: lo, size: s, overflow: ov)
    }

    /// SDM Vol. 2A "DIV": unsigned; #DE on a zero divisor or a quotient that does not fit.
    func execDivRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let d = try readRM(i, s)
        if d == 0 { throw Fault.de }
        switch s {
        case 1:
            let n = gpr[0] & 0xFFFF
            let q = n / d
            if q > 0xFF { throw Fault.de }
            writeReg(0, 2, q | ((n % d) << 8))
        case 2:
            let n = ((gpr[2] & 0xFFFF) << 16) | (gpr[0] & 0xFFFF)
            let q = n / d
            if q > 0xFFFF { throw Fault.de }
            writeReg(0, 2, q)
            writeReg(2, 2, n % d)
        case 4:
            let n = ((gpr[2] & 0xFFFF_FFFF) << 32) | (gpr[0] & 0xFFFF_FFFF)
            let q = n / d
            if q > 0xFFFF_FFFF { throw Fault.de }
            writeReg(0, 4, q)
            writeReg(2, 4, n % d)
        default:
            let hi = gpr[2]
            if hi >= d { throw Fault.de }
            let (q, r) = d.dividingFullWidth((high: hi, low: gpr[0]))
            gpr[0] = q
            gpr[2] = r
        }
    }

    /// SDM Vol. 2A "IDIV": signed, quotient truncated toward zero; #DE on a zero divisor or
    /// a quotient outside the destination's signed range.
    func execIdivRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let dRaw = try readRM(i, s)
        if dRaw == 0 { throw Fault.de }
        let d = Processor.signExtend(dRaw, s)
        let bits = Int64(s) * 8
        let maxQ = Int64.max >> (64 - bits)
        let minQ = ~maxQ
        switch s {
        case 1, 2, 4:
            let n: Int64
            if s == 1 { n = Int64(Int16(truncatingIfNeeded: gpr[0])) }
            else if s == 2 { n = Int64(Int32(truncatingIfNeeded: ((gpr[2] & 0xFFFF) << 16) | (gpr[0] & 0xFFFF))) }
            else { n = Int64(bitPattern: ((gpr[2] & 0xFFFF_FFFF) << 32) | (gpr[0] & 0xFFFF_FFFF)) }
            // INT64_MIN / -1 cannot occur here for s < 8 except s == 4 with n = Int64.min.
            if n == Int64.min && d == -1 { throw Fault.de }
            let q = n / d
            let r = n % d
            if q > maxQ || q < minQ { throw Fault.de }
            let m = Processor.mask(s)
            if s == 1 {
                writeReg(0, 2, (UInt64(bitPattern: q) & 0xFF) | ((UInt64(bitPattern: r) & 0xFF) << 8))
            } else {
                writeReg(0, s, UInt64(bitPattern: q) & m)
                writeReg(2, s, UInt64(bitPattern: r) & m)
            }
        default:
            // 128-by-64 signed division via magnitudes.
            let hi = gpr[2], lo = gpr[0]
            let negN = Int64(bitPattern: hi) < 0
            var (mh, ml) = (hi, lo)
            if negN {
                ml = ~lo &+ 1
                mh = ~hi &+ (ml == 0 ? 1 : 0)
            }
            let negD = d < 0
            let md = d.magnitude
            if mh >= md { throw Fault.de }
            let (uq, ur) = md.dividingFullWidth((high: mh, low: ml))
            let negQ = negN != negD
            if negQ {
                if uq > UInt64(1) << 63 { throw Fault.de }
            } else if uq > UInt64(Int64.max) {
                throw Fault.de
            }
            gpr[0] = negQ ? (~uq &+ 1) : uq
            gpr[2] = negN ? (~ur &+ 1) : ur
        }
    }

    // MARK: BCD adjustments (invalid in 64-bit mode; the decoder raises #UD there)

    /// SDM Vol. 2A "DAA".
    func execDaa(_ i: Inst) throws(Fault) {
        let oldAL = gpr[0] & 0xFF
        let oldCF = flags.cf
        var al = oldAL
        var cf = false
        var af = false
        if al & 0x0F > 9 || flags.af {
            al = (al &+ 6) & 0xFF
            cf = oldCF || oldAL > 0xF9
            af = true
        }
        if oldAL > 0x99 || oldCF {
            al = (al &+ 0x60) & 0xFF
            cf = true
        }
        writeReg(0, 1, al)
        setBCDFlags(al, cf: cf, af: af)
    }

    /// SDM Vol. 2A "DAS".
    func execDas(_ i: Inst) throws(Fault) {
        let oldAL = gpr[0] & 0xFF
        let oldCF = flags.cf
        var al = oldAL
        var cf = false
        var af = false
        if al & 0x0F > 9 || flags.af {
            cf = oldCF || al < 6
            al = (al &- 6) & 0xFF
            af = true
        }
        if oldAL > 0x99 || oldCF {
            al = (al &- 0x60) & 0xFF
            cf = true
        }
        writeReg(0, 1, al)
        setBCDFlags(al, cf: cf, af: af)
    }

    /// SDM Vol. 2A "AAA".
    func execAaa(_ i: Inst) throws(Fault) {
        var ax = gpr[0] & 0xFFFF
        let adjust = ax & 0x0F > 9 || flags.af
        if adjust {
            ax = (ax &+ 0x106) & 0xFFFF
        }
        ax &= 0xFF0F
        writeReg(0, 2, ax)
        setBCDFlags(ax & 0xFF, cf: adjust, af: adjust)
    }

    /// SDM Vol. 2A "AAS".
    func execAas(_ i: Inst) throws(Fault) {
        var ax = gpr[0] & 0xFFFF
        let adjust = ax & 0x0F > 9 || flags.af
        if adjust {
            let al = (ax &- 6) & 0xFF
            let ah = ((ax >> 8) &- 1) & 0xFF
            ax = (ah << 8) | al
        }
        ax &= 0xFF0F
        writeReg(0, 2, ax)
        setBCDFlags(ax & 0xFF, cf: adjust, af: adjust)
    }

    /// SDM Vol. 2A "AAM": #DE when the immediate base is 0.
    func execAam(_ i: Inst) throws(Fault) {
        let base = i.pointee.imm & 0xFF
        if base == 0 { throw Fault.de }
        let al = gpr[0] & 0xFF
        let q = al / base, r = al % base
        writeReg(0, 2, (q << 8) | r)
        setBCDFlags(r, cf: false, af: false)
    }

    /// SDM Vol. 2A "AAD".
    func execAad(_ i: Inst) throws(Fault) {
        let base = i.pointee.imm & 0xFF
        let al = gpr[0] & 0xFF, ah = (gpr[0] >> 8) & 0xFF
        let r = (al &+ ah &* base) & 0xFF
        writeReg(0, 2, r)
        setBCDFlags(r, cf: false, af: false)
    }

    /// SALC (undocumented D6): AL ← CF ? FF : 00.
    func execSalc(_ i: Inst) throws(Fault) {
        writeReg(0, 1, flags.cf ? 0xFF : 0)
    }

    /// SF, ZF, PF from the byte result; CF and AF as given; OF cleared (undefined).
    @inline(__always)
    func setBCDFlags(_ r: UInt64, cf: Bool, af: Bool) {
        var f: UInt64 = 0
        if cf { f |= RFLAGS.cf }
        if af { f |= RFLAGS.af }
        if r & 0xFF == 0 { f |= RFLAGS.zf }
        if r & 0x80 != 0 { f |= RFLAGS.sf }
        if LazyFlags.parity(r) { f |= RFLAGS.pf }
        flags.set(f)
    }
}
