/// Entry point of `Op.simd`: execution conditions, then the handler of the SIMDOp in `sub`.
extension Processor {
    func execSIMD(_ i: Inst) throws(Fault) {
        let a = i.pointee.imm2
        try simdConditions(i, a)
        guard let op = SIMDOp(rawValue: i.pointee.sub) else { throw Fault.ud }
        switch op {
        case .invalid: throw Fault.ud
        case .load128, .store128, .movss, .movssStore, .movsd, .movsdStore, .movlps, .storeLow64,
             .movhps, .storeHigh64, .movmskps, .movmskpd, .pmovmskb, .movdToXMM, .movdFromXMM,
             .movqLoadXMM, .movqStoreXMM, .movdToMM, .movdFromMM, .movqLoadMM, .movqStoreMM,
             .movq2dq, .movdq2q, .maskmov:
            try execSIMDMove(i, op, a)
        case .ldmxcsr: try execLdmxcsr(i)
        case .stmxcsr: try execStmxcsr(i)
        case .emms: execEmms()
        case .fadd, .fsub, .fmul, .fdiv, .fmin, .fmax, .fsqrt, .rcp, .rsqrt, .fcmp, .comi, .ucomi,
             .shufps, .shufpd:
            try execSSEArithmetic(i, op, a)
        case .cvtpi2ps, .cvtpi2pd, .cvtsi2ss, .cvtsi2sd, .cvttps2pi, .cvttpd2pi, .cvttss2si, .cvttsd2si,
             .cvtps2pi, .cvtpd2pi, .cvtss2si, .cvtsd2si, .cvtps2pd, .cvtpd2ps, .cvtss2sd, .cvtsd2ss,
             .cvtdq2ps, .cvtps2dq, .cvttps2dq, .cvttpd2dq, .cvtdq2pd, .cvtpd2dq:
            try execSSEConversion(i, op, a)
        case .pextrw:
            let src = simdSourceRegister(i, a)
            let n = a & SIMDAttr.xmm != 0 ? 8 : 4
            writeReg(i.pointee.reg, 4, src.lane(Int(i.pointee.imm) & (n - 1), 16))
        case .pinsrw:
            let n = a & SIMDAttr.xmm != 0 ? 8 : 4
            let w = i.pointee.isMemory ? try readMem(i, 2) : readReg(i.pointee.rm, 4)
            var d = simdDest(i, a)
            d.setLane(Int(i.pointee.imm) & (n - 1), 16, w)
            setSIMDDest(i, a, d)
        default:
            try execSIMDInteger(i, op, a)
        }
    }

    /// The register (rm) operand of a register-only form, as MM (low half) or XMM.
    @inline(__always)
    func simdSourceRegister(_ i: Inst, _ a: UInt32) -> XMMRegister {
        a & SIMDAttr.xmm != 0 ? xmmReg(i.pointee.rm) : XMMRegister(low: mmReg(i.pointee.rm), high: 0)
    }
}
