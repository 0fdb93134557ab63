/// SSE/SSE2 floating-point instructions: packed and scalar arithmetic, compares, COMIS/UCOMIS,
/// shuffles, RCP/RSQRT (SDM Vol. 1 §10.4.2, §11.4.1; Vol. 2 instruction pages), and the
/// conversions (Vol. 1 §11.4.1.4, Figure 11-8).
extension Processor {
    /// The second source of a floating-point instruction for prefix column `col`: xmm/m128
    /// (packed), or xmm/m32 (SS) and xmm/m64 (SD) in the low lane.
    @inline(__always)
    func fpSource(_ i: Inst, _ a: UInt32, _ col: Int) throws(Fault) -> XMMRegister {
        if !i.pointee.isMemory || col < 2 { return try xmmSource(i, a) }
        return XMMRegister(low: try readMem(i, col == 2 ? 4 : 8), high: 0)
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    func execSSEArithmetic(_ i: Inst, _ op: SIMDOp, _ a: UInt32) throws(Fault) {
        let col = Int((a >> SIMDAttr.columnShift) & 3)
        let d = xmmReg(i.pointee.reg)
        var env = SSEEnvironment(extended.mxcsr)
        var r = d
        switch op {
        case .fadd, .fsub, .fmul, .fdiv, .fmin, .fmax, .fsqrt:
            let s = try fpSource(i, a, col)
            let kind: Int
            switch op {
            case .fadd: kind = SSEFloatOps.add
            case .fsub: kind = SSEFloatOps.sub
            case .fmul: kind = SSEFloatOps.mul
            case .fdiv: kind = SSEFloatOps.div
            case .fmin: kind = SSEFloatOps.min
            case .fmax: kind = SSEFloatOps.max
            default: kind = SSEFloatOps.sqrt
            }
            // SQRT is unary: its operand is the source.
            let x = kind == SSEFloatOps.sqrt ? s : d
            switch col {
            case 0:
                for k in 0..<4 { r.setLane(k, 32, SSEFloatOps.binary(Float.self, kind, x.lane(k, 32), s.lane(k, 32), &env)) }
            case 1:
                r.low = SSEFloatOps.binary(Double.self, kind, x.low, s.low, &env)
                r.high = SSEFloatOps.binary(Double.self, kind, x.high, s.high, &env)
            case 2:
                r.setLane(0, 32, SSEFloatOps.binary(Float.self, kind, x.lane(0, 32), s.lane(0, 32), &env))
            default:
                r.low = SSEFloatOps.binary(Double.self, kind, x.low, s.low, &env)
            }
        case .rcp, .rsqrt:
            let s = try fpSource(i, a, col)
            let n = col == 0 ? 4 : 1
            for k in 0..<n { r.setLane(k, 32, Self.approximate(s.lane(k, 32), sqrt: op == .rsqrt)) }
        case .fcmp:
            let s = try fpSource(i, a, col)
            let p = Int(i.pointee.imm & 7)
            switch col {
            case 0:
                for k in 0..<4 { r.setLane(k, 32, SSEFloatOps.compare(Float.self, p, d.lane(k, 32), s.lane(k, 32), &env) ? ~0 : 0) }
            case 1:
                r.low = SSEFloatOps.compare(Double.self, p, d.low, s.low, &env) ? ~0 : 0
                r.high = SSEFloatOps.compare(Double.self, p, d.high, s.high, &env) ? ~0 : 0
            case 2:
                r.setLane(0, 32, SSEFloatOps.compare(Float.self, p, d.lane(0, 32), s.lane(0, 32), &env) ? ~0 : 0)
            default:
                r.low = SSEFloatOps.compare(Double.self, p, d.low, s.low, &env) ? ~0 : 0
            }
        case .comi, .ucomi:
            // COMISS/COMISD read m32/m64 (SDM Vol. 2A COMISS); column 0 single, 1 double.
            let s = try fpSource(i, a, col + 2)
            try compareToFlags(d.low, s.low, double: col == 1, signalQNaN: op == .comi, &env)
            return
        case .shufps:
            let s = try xmmSource(i, a)
            let imm = Int(i.pointee.imm)
            r = XMMRegister()
            r.setLane(0, 32, d.lane(imm & 3, 32))
            r.setLane(1, 32, d.lane((imm >> 2) & 3, 32))
            r.setLane(2, 32, s.lane((imm >> 4) & 3, 32))
            r.setLane(3, 32, s.lane((imm >> 6) & 3, 32))
            setXMM(i.pointee.reg, r)
            return
        case .shufpd:
            let s = try xmmSource(i, a)
            let imm = i.pointee.imm
            setXMM(i.pointee.reg, XMMRegister(low: imm & 1 != 0 ? d.high : d.low, high: imm & 2 != 0 ? s.high : s.low))
            return
        default:
            throw Fault.ud
        }
        try finishSSE(env)
        setXMM(i.pointee.reg, r)
    }

    /// COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF from the comparison (unordered 111,
    /// greater 000, less 001, equal 100); OF, SF, AF cleared (SDM Vol. 2A COMISS).
    func compareToFlags(_ a: UInt64, _ b: UInt64, double: Bool, signalQNaN: Bool,
                        _ env: inout SSEEnvironment) throws(Fault) {
        let unordered: Bool, less: Bool, equal: Bool
        if double {
            var x = Double(raw: a), y = Double(raw: b)
            unordered = x.isNaN || y.isNaN
            if unordered { if x.isSignalingNaN || y.isSignalingNaN || signalQNaN { env.flags |= MXCSRBits.ie } }
            else { x = SSEFloatOps.source(x, &env); y = SSEFloatOps.source(y, &env) }
            less = x < y; equal = x == y
        } else {
            var x = Float(raw: a), y = Float(raw: b)
            unordered = x.isNaN || y.isNaN
            if unordered { if x.isSignalingNaN || y.isSignalingNaN || signalQNaN { env.flags |= MXCSRBits.ie } }
            else { x = SSEFloatOps.source(x, &env); y = SSEFloatOps.source(y, &env) }
            less = x < y; equal = x == y
        }
        try finishSSE(env)
        var f: UInt64 = 0
        if unordered { f = RFLAGS.zf | RFLAGS.pf | RFLAGS.cf }
        else if less { f = RFLAGS.cf }
        else if equal { f = RFLAGS.zf }
        flags.set(f)
    }

    /// RCPPS/RCPSS/RSQRTPS/RSQRTSS: the architecture allows a relative error ≤ 1.5·2⁻¹²; this
    /// returns the correctly rounded value (which differs from any hardware's table). Denormal
    /// inputs count as zero, tiny results are flushed to zero; no exception is raised.
    static func approximate(_ a: UInt64, sqrt: Bool) -> UInt64 {
        let x = Float(raw: a)
        if x.isNaN { return a | Float.quietBit }
        if x == 0 || x.isSubnormal { return Float(signOf: x, magnitudeOf: .infinity).raw }
        if sqrt && x < 0 { return Float.indefinite }
        let d = sqrt ? 1 / Double(x).squareRoot() : 1 / Double(x)
        let r = Float(d)
        if r.isSubnormal { return Float(signOf: r, magnitudeOf: 0).raw }
        return r.raw
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    func execSSEConversion(_ i: Inst, _ op: SIMDOp, _ a: UInt32) throws(Fault) {
        let reg = i.pointee.reg
        var env = SSEEnvironment(extended.mxcsr)
        let mem = i.pointee.isMemory
        /// A 64-bit source: mm/m64 or xmm/m64 (low quadword).
        func source64(mmx: Bool) throws(Fault) -> UInt64 {
            if mem { return try readMem(i, 8) }
            return mmx ? mmReg(i.pointee.rm) : xmmReg(i.pointee.rm).low
        }
        switch op {
        case .cvtpi2ps:
            let s = try source64(mmx: true)
            var r = xmmReg(reg)
            for k in 0..<2 {
                r.setLane(k, 32, SSEFloatOps.fromInt(Float.self, Int64(Int32(truncatingIfNeeded: s >> UInt64(32 * k))), &env))
            }
            try finishSSE(env); setXMM(reg, r)
        case .cvtpi2pd, .cvtdq2pd:
            let s = try source64(mmx: op == .cvtpi2pd)
            setXMM(reg, XMMRegister(low: Double(Int32(truncatingIfNeeded: s)).raw,
                                    high: Double(Int32(truncatingIfNeeded: s >> 32)).raw))
        case .cvtsi2ss, .cvtsi2sd:
            let size = gprSize(i)
            let v = mem ? try readMem(i, size) : readReg(i.pointee.rm, size)
            let n = size == 8 ? Int64(bitPattern: v) : Int64(Int32(truncatingIfNeeded: v))
            var r = xmmReg(reg)
            if op == .cvtsi2ss { r.setLane(0, 32, SSEFloatOps.fromInt(Float.self, n, &env)) }
            else { r.low = SSEFloatOps.fromInt(Double.self, n, &env) }
            try finishSSE(env); setXMM(reg, r)
        case .cvttps2pi, .cvtps2pi:
            let s = try source64(mmx: false)
            var r: UInt64 = 0
            for k in 0..<2 {
                r |= SSEFloatOps.toInt(Float.self, s >> UInt64(32 * k), bits: 32, truncate: op == .cvttps2pi, &env) << UInt64(32 * k)
            }
            try finishSSE(env); setMM(reg, r)
        case .cvttpd2pi, .cvtpd2pi:
            let s = try xmmSource(i, a)
            let lo = SSEFloatOps.toInt(Double.self, s.low, bits: 32, truncate: op == .cvttpd2pi, &env)
            let hi = SSEFloatOps.toInt(Double.self, s.high, bits: 32, truncate: op == .cvttpd2pi, &env)
            try finishSSE(env); setMM(reg, lo | (hi << 32))
        case .cvttss2si, .cvtss2si, .cvttsd2si, .cvtsd2si:
            let single = op == .cvttss2si || op == .cvtss2si
            let s = mem ? try readMem(i, single ? 4 : 8) : xmmReg(i.pointee.rm).low
            let size = gprSize(i)
            let trunc = op == .cvttss2si || op == .cvttsd2si
            let v = single ? SSEFloatOps.toInt(Float.self, s, bits: Int(size) * 8, truncate: trunc, &env)
                : SSEFloatOps.toInt(Double.self, s, bits: Int(size) * 8, truncate: trunc, &env)
            try finishSSE(env)
            writeReg(reg, size, v)
        case .cvtps2pd:
            let s = try source64(mmx: false)
            let r = XMMRegister(low: SSEFloatOps.widen(s & 0xFFFF_FFFF, &env), high: SSEFloatOps.widen(s >> 32, &env))
            try finishSSE(env); setXMM(reg, r)
        case .cvtpd2ps:
            let s = try xmmSource(i, a)
            let r = XMMRegister(low: SSEFloatOps.narrow(s.low, &env) | (SSEFloatOps.narrow(s.high, &env) << 32), high: 0)
            try finishSSE(env); setXMM(reg, r)
        case .cvtss2sd:
            let s = mem ? try readMem(i, 4) : xmmReg(i.pointee.rm).low
            var r = xmmReg(reg)
            r.low = SSEFloatOps.widen(s & 0xFFFF_FFFF, &env)
            try finishSSE(env); setXMM(reg, r)
        case .cvtsd2ss:
            let s = mem ? try readMem(i, 8) : xmmReg(i.pointee.rm).low
            var r = xmmReg(reg)
            r.setLane(0, 32, SSEFloatOps.narrow(s, &env))
            try finishSSE(env); setXMM(reg, r)
        case .cvtdq2ps:
            let s = try xmmSource(i, a)
            var r = XMMRegister()
            for k in 0..<4 { r.setLane(k, 32, SSEFloatOps.fromInt(Float.self, Int64(Int32(truncatingIfNeeded: s.lane(k, 32))), &env)) }
            try finishSSE(env); setXMM(reg, r)
        case .cvtps2dq, .cvttps2dq:
            let s = try xmmSource(i, a)
            var r = XMMRegister()
            for k in 0..<4 { r.setLane(k, 32, SSEFloatOps.toInt(Float.self, s.lane(k, 32), bits: 32, truncate: op == .cvttps2dq, &env)) }
            try finishSSE(env); setXMM(reg, r)
        case .cvtpd2dq, .cvttpd2dq:
            let s = try xmmSource(i, a)
            let lo = SSEFloatOps.toInt(Double.self, s.low, bits: 32, truncate: op == .cvttpd2dq, &env)
            let hi = SSEFloatOps.toInt(Double.self, s.high, bits: 32, truncate: op == .cvttpd2dq, &env)
            try finishSSE(env); setXMM(reg, XMMRegister(low: lo | (hi << 32), high: 0))
        default:
            throw Fault.ud
        }
    }
}
