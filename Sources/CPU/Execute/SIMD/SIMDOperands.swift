/// MMX/SSE execution conditions and operand access: XMM and MM registers, 16-, 8- and
/// 4-byte memory operands with the alignment rule of SDM Vol. 1 §11.6.1 (#GP(0)).
extension Processor {
    /// The checks before any MMX/SSE instruction (SDM Vol. 3A §2.5 CR0.EM/TS, §13.1.3 CR4.OSFXSR;
    /// Vol. 2 ch. 23 "Exception Conditions for Legacy SIMD/MMX Instructions"):
    /// #UD if the model lacks SSE, CR0.EM = 1, or (SSE forms) CR4.OSFXSR = 0; then #NM if
    /// CR0.TS = 1; then (MMX forms) #MF if an unmasked x87 exception is pending and CR0.NE = 1.
    @inline(__always)
    func simdConditions(_ i: Inst, _ a: UInt32) throws(Fault) {
        if !model.has(.sse) || cr0 & CR0.em != 0 { throw Fault.ud }
        if a & SIMDAttr.sse != 0 && cr4 & CR4.osfxsr == 0 { throw Fault.ud }
        if cr0 & CR0.ts != 0 { throw Fault.nm }
        if a & SIMDAttr.mmx != 0 || (a & SIMDAttr.mmxIfRegister != 0 && !i.pointee.isMemory) {
            try x87PendingFault()
            extended.enterMMXState()
        }
    }

    // MARK: Registers

    @inline(__always) func xmmReg(_ n: UInt8) -> XMMRegister { extended.xmm[Int(n & 15)] }
    @inline(__always) func setXMM(_ n: UInt8, _ v: XMMRegister) { extended.xmm[Int(n & 15)] = v }
    /// MMi (REX bits ignored: SDM Vol. 2A §2.2.1.7).
    @inline(__always) func mmReg(_ n: UInt8) -> UInt64 { extended.x87[Int(n & 7)].significand }
    /// Writes MMi: the significand, and the exponent field set to all ones (SDM Vol. 1 §9.5.1).
    @inline(__always) func setMM(_ n: UInt8, _ v: UInt64) {
        extended.x87[Int(n & 7)] = X87Register(significand: v, signExponent: 0xFFFF)
    }

    // MARK: Memory

    /// Linear address of the memory operand for a `size`-byte access; with `aligned`, a
    /// 16-byte operand not on a 16-byte boundary is #GP(0).
    @inline(__always)
    func simdAddress(_ i: Inst, _ size: Int, write: Bool, aligned: Bool) throws(Fault) -> UInt64 {
        let la = try linearAddress(Int(i.pointee.seg), effectiveAddress(i), size, write: write)
        if aligned && la & 15 != 0 { throw Fault.gp(0) }
        return la
    }

    @inline(__always)
    func readM128(_ i: Inst, aligned: Bool) throws(Fault) -> XMMRegister {
        let la = try simdAddress(i, 16, write: false, aligned: aligned)
        let lo = try readLinear(la, UInt64.self)
        let hi = try readLinear(la &+ 8, UInt64.self)
        return XMMRegister(low: lo, high: hi)
    }

    /// A 16-byte store: both pages are checked before either half is written, so a fault on
    /// the second page leaves memory unchanged.
    @inline(__always)
    func writeM128(_ i: Inst, _ v: XMMRegister, aligned: Bool) throws(Fault) {
        let la = try simdAddress(i, 16, write: true, aligned: aligned)
        try writeLinear128(la, v)
    }

    func writeLinear128(_ la: UInt64, _ v: XMMRegister) throws(Fault) {
        if la & 0xFFF > 0xFF0 { try probeLinear(la, 16, currentAccess(.write)) }
        try writeLinear(la, v.low)
        try writeLinear(la &+ 8, v.high)
    }

    @inline(__always)
    func readMem(_ i: Inst, _ size: UInt8) throws(Fault) -> UInt64 {
        try readSized(Int(i.pointee.seg), effectiveAddress(i), size)
    }

    @inline(__always)
    func writeMem(_ i: Inst, _ size: UInt8, _ v: UInt64) throws(Fault) {
        try writeSized(Int(i.pointee.seg), effectiveAddress(i), size, v)
    }

    /// The XMM source operand: XMM rm or a 16-byte memory operand.
    @inline(__always)
    func xmmSource(_ i: Inst, _ a: UInt32) throws(Fault) -> XMMRegister {
        if i.pointee.isMemory { return try readM128(i, aligned: a & SIMDAttr.aligned != 0) }
        return xmmReg(i.pointee.rm)
    }

    /// The source of an integer operation: XMM/m128 (128-bit form) or MM/m64 in the low half.
    @inline(__always)
    func simdSource(_ i: Inst, _ a: UInt32) throws(Fault) -> XMMRegister {
        if a & SIMDAttr.xmm != 0 { return try xmmSource(i, a) }
        if i.pointee.isMemory { return XMMRegister(low: try readMem(i, 8), high: 0) }
        return XMMRegister(low: mmReg(i.pointee.rm), high: 0)
    }

    @inline(__always)
    func simdDest(_ i: Inst, _ a: UInt32) -> XMMRegister {
        if a & SIMDAttr.xmm != 0 { return xmmReg(i.pointee.reg) }
        return XMMRegister(low: mmReg(i.pointee.reg), high: 0)
    }

    @inline(__always)
    func setSIMDDest(_ i: Inst, _ a: UInt32, _ v: XMMRegister) {
        if a & SIMDAttr.xmm != 0 { setXMM(i.pointee.reg, v) } else { setMM(i.pointee.reg, v.low) }
    }

    /// The general-purpose operand size of MOVD/MOVQ, CVTSI2SS, CVTSS2SI …: 8 with REX.W,
    /// otherwise 4 (66h does not make it 16 bits).
    @inline(__always)
    func gprSize(_ i: Inst) -> UInt8 { i.pointee.flags & DecodedInstruction.Flags.rexW != 0 ? 8 : 4 }
}

/// Lane access on a 128-bit value (little-endian lanes of `bits` width).
extension XMMRegister {
    @inline(__always) static func laneMask(_ bits: Int) -> UInt64 { bits == 64 ? ~0 : (UInt64(1) << UInt64(bits)) &- 1 }

    @inline(__always) func lane(_ k: Int, _ bits: Int) -> UInt64 {
        let pos = k &* bits
        let w = pos < 64 ? low : high
        return (w >> UInt64(pos & 63)) & XMMRegister.laneMask(bits)
    }

    @inline(__always) mutating func setLane(_ k: Int, _ bits: Int, _ v: UInt64) {
        let pos = k &* bits
        let m = XMMRegister.laneMask(bits)
        let sh = UInt64(pos & 63)
        if pos < 64 { low = (low & ~(m << sh)) | ((v & m) << sh) }
        else { high = (high & ~(m << sh)) | ((v & m) << sh) }
    }
}
