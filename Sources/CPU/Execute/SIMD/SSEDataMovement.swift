/// MMX/SSE/SSE2 data movement (SDM Vol. 1 §9.4.1, §10.4.1.1, §11.4.4; instruction pages
/// MOVAPS … MASKMOVDQU in Vol. 2B).
extension Processor {
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    func execSIMDMove(_ i: Inst, _ op: SIMDOp, _ a: UInt32) throws(Fault) {
        let mem = i.pointee.isMemory
        let reg = i.pointee.reg, rm = i.pointee.rm
        let aligned = a & SIMDAttr.aligned != 0
        switch op {
        case .load128:
            setXMM(reg, try xmmSource(i, a))
        case .store128:
            if mem { try writeM128(i, xmmReg(reg), aligned: aligned) } else { setXMM(rm, xmmReg(reg)) }
        case .movss:
            // Memory: zero-extends; register: merges the low dword (MOVSS).
            if mem { setXMM(reg, XMMRegister(low: try readMem(i, 4), high: 0)) }
            else {
                var d = xmmReg(reg)
                d.low = (d.low & ~0xFFFF_FFFF) | (xmmReg(rm).low & 0xFFFF_FFFF)
                setXMM(reg, d)
            }
        case .movssStore:
            if mem { try writeMem(i, 4, xmmReg(reg).low) }
            else {
                var d = xmmReg(rm)
                d.low = (d.low & ~0xFFFF_FFFF) | (xmmReg(reg).low & 0xFFFF_FFFF)
                setXMM(rm, d)
            }
        case .movsd:
            if mem { setXMM(reg, XMMRegister(low: try readMem(i, 8), high: 0)) }
            else { var d = xmmReg(reg); d.low = xmmReg(rm).low; setXMM(reg, d) }
        case .movsdStore:
            if mem { try writeMem(i, 8, xmmReg(reg).low) }
            else { var d = xmmReg(rm); d.low = xmmReg(reg).low; setXMM(rm, d) }
        case .movlps:
            // MOVLPS/MOVLPD xmm, m64; MOVHLPS xmm, xmm (low ← source high).
            var d = xmmReg(reg)
            d.low = mem ? try readMem(i, 8) : xmmReg(rm).high
            setXMM(reg, d)
        case .storeLow64:
            try writeMem(i, 8, xmmReg(reg).low)
        case .movhps:
            // MOVHPS/MOVHPD xmm, m64; MOVLHPS xmm, xmm (high ← source low).
            var d = xmmReg(reg)
            d.high = mem ? try readMem(i, 8) : xmmReg(rm).low
            setXMM(reg, d)
        case .storeHigh64:
            try writeMem(i, 8, xmmReg(reg).high)
        case .movmskps:
            let s = xmmReg(rm)
            var m: UInt64 = 0
            for k in 0..<4 { m |= (s.lane(k, 32) >> 31) << UInt64(k) }
            writeReg(reg, 4, m)
        case .movmskpd:
            let s = xmmReg(rm)
            writeReg(reg, 4, (s.low >> 63) | ((s.high >> 63) << 1))
        case .pmovmskb:
            let s = simdSourceRegister(i, a)
            let n = a & SIMDAttr.xmm != 0 ? 16 : 8
            var m: UInt64 = 0
            for k in 0..<n { m |= (s.lane(k, 8) >> 7) << UInt64(k) }
            writeReg(reg, 4, m)
        case .movdToXMM:
            let size = gprSize(i)
            setXMM(reg, XMMRegister(low: mem ? try readMem(i, size) : readReg(rm, size), high: 0))
        case .movdFromXMM:
            let size = gprSize(i)
            let v = xmmReg(reg).low
            if mem { try writeMem(i, size, v) } else { writeReg(rm, size, size == 8 ? v : v & 0xFFFF_FFFF) }
        case .movqLoadXMM:
            setXMM(reg, XMMRegister(low: mem ? try readMem(i, 8) : xmmReg(rm).low, high: 0))
        case .movqStoreXMM:
            if mem { try writeMem(i, 8, xmmReg(reg).low) } else { setXMM(rm, XMMRegister(low: xmmReg(reg).low, high: 0)) }
        case .movdToMM:
            let size = gprSize(i)
            setMM(reg, mem ? try readMem(i, size) : readReg(rm, size))
        case .movdFromMM:
            let size = gprSize(i)
            let v = mmReg(reg)
            if mem { try writeMem(i, size, v) } else { writeReg(rm, size, size == 8 ? v : v & 0xFFFF_FFFF) }
        case .movqLoadMM:
            setMM(reg, mem ? try readMem(i, 8) : mmReg(rm))
        case .movqStoreMM:
            if mem { try writeMem(i, 8, mmReg(reg)) } else { setMM(rm, mmReg(reg)) }
        case .movq2dq:
            setXMM(reg, XMMRegister(low: mmReg(rm), high: 0))
        case .movdq2q:
            setMM(reg, xmmReg(rm).low)
        case .maskmov:
            try execMaskmov(i, a)
        default:
            throw Fault.ud
        }
    }

    /// MASKMOVQ / MASKMOVDQU: bytes of `reg` whose mask byte (in `rm`) has bit 7 set are stored
    /// at DS:rDI (segment overridable; SDM Vol. 2B MASKMOVDQU). All bytes are checked for
    /// writability before any is stored.
    func execMaskmov(_ i: Inst, _ a: UInt32) throws(Fault) {
        let wide = a & SIMDAttr.xmm != 0
        let data = wide ? xmmReg(i.pointee.reg) : XMMRegister(low: mmReg(i.pointee.reg), high: 0)
        let mask = wide ? xmmReg(i.pointee.rm) : XMMRegister(low: mmReg(i.pointee.rm), high: 0)
        let n = wide ? 16 : 8
        let seg = i.pointee.prefixes & DecodedInstruction.Prefix.segmentOverride != 0 ? Int(i.pointee.seg) : 3
        let off = gpr[GPR.rdi.rawValue] & Processor.mask(i.pointee.addrSize)
        var any = false
        for k in 0..<n where mask.lane(k, 8) & 0x80 != 0 { any = true }
        if !any { return }
        try probeWrite(seg, off, n)
        for k in 0..<n where mask.lane(k, 8) & 0x80 != 0 {
            let o = (off &+ UInt64(k)) & Processor.mask(i.pointee.addrSize)
            try writeSized(seg, o, 1, data.lane(k, 8))
        }
    }
}
