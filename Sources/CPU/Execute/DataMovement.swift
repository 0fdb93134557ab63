/// Data movement: MOV forms, MOVZX/MOVSX/MOVSXD, LEA, XCHG, PUSH/POP, PUSHA/POPA, LAHF/SAHF,
/// CBW/CWD families, CMOVcc, SETcc, BSWAP, XLAT, MOVBE, ENTER/LEAVE (SDM Vol. 2A–2C).
extension Processor {
    /// SDM Vol. 2B "MOV" 88/89: r/m ← reg.
    @inline(__always)
    func movRMReg<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        try writeRM(i, readReg(i.pointee.reg, w), w)
    }

    /// MOV 8A/8B: reg ← r/m.
    @inline(__always)
    func movRegRM<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        writeReg(i.pointee.reg, try readRM(i, w), w)
    }

    /// MOV C6/C7: r/m ← imm.
    @inline(__always)
    func movRMImm<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        try writeRM(i, i.pointee.imm & W.mask, w)
    }

    /// MOV B0–BF: reg ← imm (imm64 with REX.W).
    @inline(__always)
    func movRegImm<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        writeReg(i.pointee.reg, i.pointee.imm, w)
    }

    /// MOV A0/A1: AL/rAX ← moffs.
    func execMovAccMoffs(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let off = UInt64(bitPattern: i.pointee.disp) & Processor.mask(i.pointee.addrSize)
        writeReg(0, s, try readSized(Int(i.pointee.seg), off, s))
    }

    /// MOV A2/A3: moffs ← AL/rAX.
    func execMovMoffsAcc(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let off = UInt64(bitPattern: i.pointee.disp) & Processor.mask(i.pointee.addrSize)
        try writeSized(Int(i.pointee.seg), off, s, readReg(0, s))
    }

    /// SDM Vol. 2B "MOVZX" (sub = source size).
    func execMovzx(_ i: Inst) throws(Fault) {
        writeReg(i.pointee.reg, i.pointee.opSize, try readRM(i, i.pointee.sub))
    }

    /// SDM Vol. 2B "MOVSX" (sub = source size).
    func execMovsx(_ i: Inst) throws(Fault) {
        let src = i.pointee.sub
        let v = try readRM(i, src)
        let s = i.pointee.opSize
        writeReg(i.pointee.reg, s, UInt64(bitPattern: Processor.signExtend(v, src)) & Processor.mask(s))
    }

    /// SDM Vol. 2B "MOVSXD" (63 in 64-bit mode): sign-extends a doubleword with REX.W;
    /// without it the result is the doubleword itself.
    func execMovsxd(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        if s == 8 {
            let v = try readRM(i, 4)
            writeReg(i.pointee.reg, 8, UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v))))
        } else {
            writeReg(i.pointee.reg, s, try readRM(i, s))
        }
    }

    /// SDM Vol. 2A "LEA": the effective address, truncated to the operand size.
    @inline(__always)
    func lea<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        writeReg(i.pointee.reg, effectiveAddress(i), w)
    }

    /// SDM Vol. 2C "XCHG" with memory: implicitly locked; the memory access is a
    /// read-modify-write.
    func execXchgRMReg(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let r = readReg(i.pointee.reg, s)
        if i.pointee.isMemory {
            let la = try memoryOperandLinear(i, s, write: true)
            let m = try readLinearSizedRMW(la, s)
            try writeLinearSized(la, s, r)
            writeReg(i.pointee.reg, s, m)
        } else {
            let m = readReg(i.pointee.rm, s)
            writeReg(i.pointee.rm, s, r)
            writeReg(i.pointee.reg, s, m)
        }
    }

    /// XCHG rAX, r (91–97; 90 with REX.B).
    func execXchgAccReg(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let a = readReg(0, s)
        writeReg(0, s, readReg(i.pointee.reg, s))
        writeReg(i.pointee.reg, s, a)
    }

    // MARK: Stack

    /// SDM Vol. 2B "PUSH" 50+r.
    @inline(__always)
    func pushReg<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        try push(readReg(i.pointee.reg, w), size: W.size)
    }

    /// SDM Vol. 2B "POP" 58+r.
    @inline(__always)
    func popReg<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        let v = try peek(size: W.size)
        adjustSP(UInt64(W.size))
        writeReg(i.pointee.reg, v, w)
    }

    /// PUSH imm (68 / 6A), sign-extended to the operand size.
    func execPushImm(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        try push(i.pointee.imm & Processor.mask(s), size: s)
    }

    /// PUSH r/m (FF /6).
    func execPushRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        try push(try readRM(i, s), size: s)
    }

    /// POP r/m (8F /0): a memory destination addressed through rSP uses the value of rSP
    /// after the pop (SDM Vol. 2B "POP", operation notes).
    func execPopRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let v = try peek(size: s)
        let oldSP = gpr[GPR.rsp.rawValue]
        adjustSP(UInt64(s))
        do { try writeRM(i, s, v) } catch {
            gpr[GPR.rsp.rawValue] = oldSP
            throw error
        }
    }

    /// SDM Vol. 2B "PUSHA/PUSHAD": pushes AX..DI with the original SP.
    func execPusha(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let sp = gpr[GPR.rsp.rawValue]
        // Check the whole 8-slot area is writable before changing anything.
        let total = UInt64(s) * 8
        let low = (sp &- total) & Processor.mask(stackSize)
        try probeWrite(SegmentRegisterIndex.ss.rawValue, low, Int(total))
        for r in 0..<8 {
            let v = r == 4 ? sp : gpr[r]
            try push(v & Processor.mask(s), size: s)
        }
    }

    /// SDM Vol. 2B "POPA/POPAD": the SP slot is discarded.
    func execPopa(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        var vals = [UInt64](repeating: 0, count: 8)
        for k in 0..<8 { vals[7 - k] = try peek(size: s, offset: UInt64(k) * UInt64(s)) }
        adjustSP(UInt64(s) * 8)
        for r in 0..<8 where r != 4 { writeReg(UInt8(r), s, vals[r]) }
    }

    // MARK: Flags to/from AH

    /// SDM Vol. 2A "LAHF": AH ← SF:ZF:0:AF:0:PF:1:CF. In 64-bit mode it requires
    /// CPUID.80000001H:ECX.LAHF-SAHF[bit 0], which this processor reports.
    func execLahf(_ i: Inst) throws(Fault) {
        let f = (rflags & 0xD5) | 0x02
        writeReg(DecodedInstruction.highByteBase, 1, f)
    }

    /// SDM Vol. 2B "SAHF": SF, ZF, AF, PF, CF ← AH.
    func execSahf(_ i: Inst) throws(Fault) {
        let ah = (gpr[0] >> 8) & 0xD5
        let f = (flags.value & ~UInt64(0xD5)) | ah
        flags.set(f)
    }

    /// SDM Vol. 2A "CBW/CWDE/CDQE".
    func execCbw(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let half = s / 2
        let v = Processor.signExtend(readReg(0, half), half)
        writeReg(0, s, UInt64(bitPattern: v) & Processor.mask(s))
    }

    /// SDM Vol. 2A "CWD/CDQ/CQO".
    func execCwd(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let neg = (readReg(0, s) >> UInt64(s * 8 - 1)) & 1 != 0
        writeReg(2, s, neg ? Processor.mask(s) : 0)
    }

    /// SDM Vol. 2A "CMOVcc": the source is read (and may fault) whatever the condition; with
    /// a 32-bit operand the destination's upper half is zeroed even when no move happens.
    @inline(__always)
    func cmovcc<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) {
        let v = try readRM(i, w)
        if flags.condition(i.pointee.sub) {
            writeReg(i.pointee.reg, v, w)
        } else if W.size == 4 {
            writeReg(i.pointee.reg, readReg(i.pointee.reg, w), w)
        }
    }

    /// SDM Vol. 2B "SETcc": byte destination.
    func execSetcc(_ i: Inst) throws(Fault) {
        try writeRM(i, 1, flags.condition(i.pointee.sub) ? 1 : 0)
    }

    /// SDM Vol. 2A "BSWAP" (16-bit operand: undefined; this processor clears the word, as
    /// Intel processors do).
    func execBswap(_ i: Inst) throws(Fault) {
        let r = i.pointee.reg
        switch i.pointee.opSize {
        case 8: gpr[Int(r)] = gpr[Int(r)].byteSwapped
        case 4: writeReg(r, 4, UInt64(UInt32(truncatingIfNeeded: gpr[Int(r)]).byteSwapped))
        default: writeReg(r, 2, 0)
        }
    }

    /// SDM Vol. 2C "XLAT": AL ← [seg:rBX + zero-extended AL].
    func execXlat(_ i: Inst) throws(Fault) {
        let off = (gpr[GPR.rbx.rawValue] &+ (gpr[0] & 0xFF)) & Processor.mask(i.pointee.addrSize)
        writeReg(0, 1, UInt64(try read(Int(i.pointee.seg), off, UInt8.self)))
    }

    /// SDM Vol. 2B "MOVBE" (sub 0: load, 1: store). #UD when CPUID does not report it.
    func execMovbe(_ i: Inst) throws(Fault) {
        guard model.has(.movbe) else { throw Fault.ud }
        let s = i.pointee.opSize
        func swap(_ v: UInt64) -> UInt64 {
            switch s {
            case 8: return v.byteSwapped
            case 4: return UInt64(UInt32(truncatingIfNeeded: v).byteSwapped)
            default: return UInt64(UInt16(truncatingIfNeeded: v).byteSwapped)
            }
        }
        if i.pointee.sub == 0 {
            writeReg(i.pointee.reg, s, swap(try readRM(i, s)))
        } else {
            try writeRM(i, s, swap(readReg(i.pointee.reg, s)))
        }
    }

    /// SDM Vol. 2A "ENTER": level taken modulo 32; nested levels copy frame pointers.
    /// On a fault rSP and rBP are restored (the instruction is restartable).
    func execEnter(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let alloc = i.pointee.imm & 0xFFFF
        let level = UInt64(i.pointee.imm2 & 31)
        let ss = SegmentRegisterIndex.ss.rawValue
        let spMask = Processor.mask(stackSize)
        let savedSP = gpr[GPR.rsp.rawValue]
        let savedBP = gpr[GPR.rbp.rawValue]
        do {
            try push(savedBP & Processor.mask(s), size: s)
            let frameTemp = gpr[GPR.rsp.rawValue] & spMask
            if level > 0 {
                var bp = savedBP
                if level > 1 {
                    for _ in 1..<level {
                        bp = (bp &- UInt64(s)) & spMask
                        try push(try readSized(ss, bp, s), size: s)
                    }
                }
                try push(frameTemp & Processor.mask(s), size: s)
            }
            writeReg(UInt8(GPR.rbp.rawValue), stackSize, frameTemp)
            adjustSP(0 &- alloc)
        } catch {
            gpr[GPR.rsp.rawValue] = savedSP
            gpr[GPR.rbp.rawValue] = savedBP
            throw error
        }
    }

    /// SDM Vol. 2B "LEAVE": rSP ← rBP, then pop rBP.
    func execLeave(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let bp = gpr[GPR.rbp.rawValue] & Processor.mask(stackSize)
        let v = try readSized(SegmentRegisterIndex.ss.rawValue, bp, s)
        switch stackSize {
        case 8: gpr[GPR.rsp.rawValue] = bp &+ UInt64(s)
        case 4: gpr[GPR.rsp.rawValue] = (bp &+ UInt64(s)) & 0xFFFF_FFFF
        default: gpr[GPR.rsp.rawValue] = (gpr[GPR.rsp.rawValue] & ~0xFFFF) | ((bp &+ UInt64(s)) & 0xFFFF)
        }
        writeReg(UInt8(GPR.rbp.rawValue), s, v)
    }
}
