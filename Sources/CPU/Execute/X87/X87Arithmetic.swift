#if arch(x86_64) && canImport(Glibc)
/// x87 arithmetic: FADD/FSUB(R)/FMUL/FDIV(R) and their pop and integer forms, FSQRT,
/// FCHS, FABS, FRNDINT, FSCALE, FXTRACT, FPREM, FPREM1 (SDM Vol. 2A/2B instruction pages,
/// Vol. 1 §8.3.5). The basic operations run on the host FPU (X87HostFPU.swift) under the
/// guest's RC and PC, so rounding, precision, NaN propagation (SDM Vol. 1 Table 4-7),
/// unsupported encodings (→ #IA) and the exception conditions are the hardware's own.
///
/// Unmasked overflow/underflow (SDM Vol. 1 §8.5.4–8.5.5): the register destination gets the
/// result with its exponent divided (overflow) or multiplied (underflow) by 2^24576,
/// computed exactly by scaling the operands before the operation. For FADD/FSUB an operand
/// that would underflow when scaled is replaced by a tiny one of the same sign (it only
/// contributes a sticky bit there). FPREM/FPREM1 results are exact; a tiny remainder with UE
/// unmasked is delivered × 2^24576 with UE.
extension Processor {
    /// Computes x op y on the host under the guest FCW (PC forced to extended when
    /// `fullPrecision`). Returns the result, the exception flags and C1 (rounded up).
    func x87HostCompute(_ op: X87HostOp, _ x: X87Register, _ y: X87Register, fullPrecision: Bool = false)
        -> (X87Register, UInt16, Bool) {
        let s = extended.hostSlots
        let cw = fullPrecision ? fcw | 0x0300 : fcw
        s[0] = x.float80
        s[1] = y.float80
        let f = X87HostFPU.run(op, s, cw: cw)
        let r = X87Register(s[2])
        var up = false
        if f & FSW.pe != 0 && cw & 0x0C00 != 0x0C00 {
            s[0] = x.float80
            s[1] = y.float80
            _ = X87HostFPU.run(op, s, cw: cw | 0x0C00)
            up = X87Register.magnitudeGreater(r, X87Register(s[2]))
        }
        return (r, f, up)
    }

    /// x op y for D8/DC/DA/DE reg-field `kind` (0 add, 1 mul, 4 sub, 5 subr, 6 div,
    /// 7 divr; `a` is the destination's value, `b` the source's), with the guest's
    /// masked/unmasked responses. Writes ST(dst) and pops if asked. `extra` holds conditions
    /// detected while converting a memory operand (DE for a denormal source).
    func x87Arithmetic(_ kind: Int, dst: Int, _ a: X87Register, _ b: X87Register, extra: UInt16 = 0, pop: Bool = false) {
        let zeroDivisor = (kind == 6 && b.isZero) || (kind == 7 && a.isZero)
        if extra & FSW.de != 0 && x87Unmasked(FSW.de) && !a.isNaN && a.kind != .unsupported && !zeroDivisor {
            _ = x87Deliver(FSW.de)
            return
        }
        let op: X87HostOp
        var x = a, y = b
        switch kind {
        case 0: op = .add
        case 1: op = .mul
        case 4: op = .sub
        case 5: op = .sub; x = b; y = a
        case 6: op = .div
        default: op = .div; x = b; y = a
        }
        var (r, f, up) = x87HostCompute(op, x, y)
        // A denormal memory operand is #D unless the other operand is a NaN/unsupported or
        // the result is a division by zero (the host x87 then reports only #Z).
        if !a.isNaN && a.kind != .unsupported && f & FSW.ze == 0 { f |= extra }
        if let adj = x87BiasAdjusted(op, x, y, masked: r, flags: f) { (r, f, up) = adj }
        guard x87Deliver(f) else { return }
        setST(dst, r)
        x87SetCondition(FSW.c1, up)
        if pop { x87Pop() }
    }

    /// The bias-adjusted result for an unmasked overflow or underflow (nil when neither
    /// applies): SDM Vol. 1 §8.5.4 (÷ 2^24576) and §8.5.5 (× 2^24576).
    func x87BiasAdjusted(_ op: X87HostOp, _ x: X87Register, _ y: X87Register, masked r: X87Register, flags f: UInt16)
        -> (X87Register, UInt16, Bool)? {
        if f & (FSW.ie | FSW.ze) != 0 { return nil }
        let overflow = f & FSW.oe != 0 && x87Unmasked(FSW.oe)
        let tiny = f & FSW.ue != 0 || r.kind == .denormal || (r.isZero && f & FSW.pe != 0)
        let underflow = !overflow && tiny && x87Unmasked(FSW.ue)
        guard overflow || underflow else { return nil }
        let k = overflow ? -12288 : 12288
        var kx = k, ky = k, extraShift = 0
        switch op {
        case .div: ky = -k
        case .add, .sub: kx = overflow ? -16000 : 16000; ky = kx; extraShift = overflow ? -8576 : 8576
        case .sqrt: kx = 2 * k; ky = 0; extraShift = -k
        default: break
        }
        guard let sx = x.scaledExactly(kx, tinyAllowed: op == .add || op == .sub),
              let sy = op == .sqrt ? y : y.scaledExactly(ky, tinyAllowed: op == .add || op == .sub) else { return nil }
        var (v, g, up) = x87HostCompute(op, sx, sy)
        if extraShift != 0, let w = v.scaledExactly(extraShift, tinyAllowed: false) { v = w }
        g &= FSW.pe
        g |= (f & ~(FSW.oe | FSW.ue | FSW.pe)) | (overflow ? FSW.oe : FSW.ue)
        return (v, g, up)
    }

    /// FSQRT (SDM Vol. 2A FSQRT).
    func x87Sqrt() {
        guard x87Operands(indefiniteTo: 0) else { return }
        let a = st(0)
        if a.isNegative && (a.kind == .normal || a.kind == .denormal || a.kind == .infinity) {
            if x87Deliver(FSW.ie) { setST(0, .indefinite); x87SetCondition(FSW.c1, false) }   // √(negative): #IA
            return
        }
        let (r, f, up) = x87HostCompute(.sqrt, a, .positiveZero)
        guard x87Deliver(f) else { return }
        setST(0, r)
        x87SetCondition(FSW.c1, up)
    }

    /// FCHS / FABS: sign only, no exceptions but stack underflow (SDM Vol. 2A FCHS, FABS).
    func x87SignOp(abs: Bool) {
        guard x87Operands(indefiniteTo: 0) else { return }
        setST(0, abs ? st(0).absolute : st(0).negated)
        x87SetCondition(FSW.c1, false)
    }

    /// Invalid operand handling shared by the special-case instructions: for a NaN or
    /// unsupported operand returns the x87's propagated result and flags (host addition
    /// applies SDM Vol. 1 Table 4-7 and raises #IA for SNaN/unsupported).
    func x87PropagateNaN(_ a: X87Register, _ b: X87Register) -> (X87Register, UInt16)? {
        let ka = a.kind, kb = b.kind
        guard ka == .nan || ka == .unsupported || kb == .nan || kb == .unsupported else { return nil }
        x87SetCondition(FSW.c1, false)
        let (r, f, _) = x87HostCompute(.add, a, b, fullPrecision: true)
        return (r, f & FSW.ie)
    }

    /// FRNDINT (SDM Vol. 2A FRNDINT): rounds ST(0) to an integer per FCW.RC.
    func x87Rndint() {
        guard x87Operands(indefiniteTo: 0) else { return }
        let a = st(0)
        switch a.kind {
        case .nan, .unsupported:
            let (r, f) = x87PropagateNaN(a, a)!
            if x87Deliver(f) { setST(0, r) }
            return
        case .zero, .infinity: x87SetCondition(FSW.c1, false); return
        default: break
        }
        var flags: UInt16 = a.kind == .denormal ? FSW.de : 0
        if a.exponentField - 16383 >= 63 { x87SetCondition(FSW.c1, false); return }
        let m = a.roundedMagnitude(rc: Int(fcw >> 10) & 3)
        if m.inexact { flags |= FSW.pe }
        guard x87Deliver(flags) else { return }
        var r = X87Register(integer: Int64(bitPattern: m.magnitude))
        if a.isNegative { r.signExponent |= 0x8000 }
        setST(0, r)
        x87SetCondition(FSW.c1, m.up)
    }

    /// The start the x87 instructions on ST(0) and ST(1) share (SDM Vol. 1 §8.5.1.1, §4.8.3.5):
    /// an empty ST(0) or ST(1) stores the indefinite when masked, a NaN operand propagates
    /// into the destination; both end the instruction (nil). Otherwise ST(0), ST(1) and #D
    /// when either is denormal. With `popsIntoST1` (FYL2X, FYL2XP1, FPATAN) the destination
    /// is ST(1) and the stack pops.
    func x87StackTopPair(popsIntoST1: Bool = false) -> (a: X87Register, b: X87Register, denormal: UInt16)? {
        let dst = popsIntoST1 ? 1 : 0
        guard x87Operands(1, indefiniteTo: dst, pop: dst) else { return nil }
        let a = st(0), b = st(1)
        if let (r, f) = x87PropagateNaN(a, b) {
            if x87Deliver(f) {
                setST(dst, r)
                if popsIntoST1 { x87Pop() }
            }
            return nil
        }
        return (a, b, (a.kind == .denormal || b.kind == .denormal) ? FSW.de : 0)
    }

    /// FSCALE (SDM Vol. 2A FSCALE): ST(0) × 2^trunc(ST(1)).
    func x87Scale() {
        guard let (a, b, denormal) = x87StackTopPair() else { return }
        var flags = denormal
        let sign: UInt16 = a.signExponent & 0x8000
        var result: X87Register
        var up = false
        if b.kind == .infinity {
            switch (a.kind, b.isNegative) {
            case (.zero, false), (.infinity, true):
                flags = FSW.ie; result = .indefinite
            case (.infinity, false), (.zero, true): result = a
            case (_, false): result = X87Register(significand: X87Register.integerBit, signExponent: sign | 0x7FFF)
            case (_, true): result = X87Register(significand: 0, signExponent: sign)
            }
        } else if a.kind == .zero || a.kind == .infinity {
            result = a
        } else {
            let n = b.truncatedClamped(100_000)
            let (e, m) = a.normalized!
            let t = e + n
            if let r = X87Register.normal(negative: a.isNegative, exponent: t, significand: m) {
                result = r
            } else {
                let over = t > 0
                let adjusted = over ? t - 24576 : t + 24576
                if x87Unmasked(over ? FSW.oe : FSW.ue) {
                    if let r = X87Register.normal(negative: a.isNegative, exponent: adjusted, significand: m) {
                        result = r
                        flags |= over ? FSW.oe : FSW.ue
                    } else {
                        // Still out of range after the bias adjustment: ±∞ or ±0, inexact.
                        result = X87Register(significand: over ? X87Register.integerBit : 0, signExponent: sign | (over ? 0x7FFF : 0))
                        flags |= (over ? FSW.oe : FSW.ue) | FSW.pe
                        up = over
                    }
                } else {
                    // Masked: let the host round once (overflow per RC, or a denormal).
                    let base = over ? 16383 : -16382
                    let x = X87Register.normal(negative: a.isNegative, exponent: base, significand: m)!
                    let y = X87Register.normal(negative: false, exponent: max(-200, min(200, t - base)), significand: X87Register.integerBit)!
                    let (r, f, u) = x87HostCompute(.mul, x, y, fullPrecision: true)
                    result = r; flags |= f; up = u
                }
            }
        }
        guard x87Deliver(flags) else { return }
        setST(0, result)
        x87SetCondition(FSW.c1, up)
    }

    /// FXTRACT (SDM Vol. 2A FXTRACT): ST(0) ← exponent, then push the significand.
    func x87Xtract() {
        if x87IsEmpty(0) {
            // Masked underflow: both results are the indefinite.
            if x87StackUnderflow() { setST(0, .indefinite); x87Push(.indefinite) }
            return
        }
        let a = st(0)
        if !x87IsEmpty(-1) {
            // Masked overflow: ST(0) and the pushed register are the indefinite.
            if x87StackOverflow() { setST(0, .indefinite); x87Push(.indefinite) }
            return
        }
        var exponent: X87Register, significand: X87Register, flags: UInt16 = 0
        switch a.kind {
        case .nan, .unsupported:
            let (r, f) = x87PropagateNaN(a, a)!
            exponent = r; significand = r; flags = f
        case .zero:
            flags = FSW.ze
            exponent = X87Register(significand: X87Register.integerBit, signExponent: 0xFFFF)
            significand = a
        case .infinity:
            exponent = X87Register(significand: X87Register.integerBit, signExponent: 0x7FFF)
            significand = a
        default:
            if a.kind == .denormal { flags = FSW.de }
            let (e, m) = a.normalized!
            exponent = X87Register(integer: Int64(e))
            significand = X87Register(significand: m, signExponent: (a.signExponent & 0x8000) | 0x3FFF)
        }
        guard x87Deliver(flags) else { return }
        setST(0, exponent)
        x87Push(significand)
        x87SetCondition(FSW.c1, false)
    }

    /// FPREM (IEEE = false) and FPREM1 (SDM Vol. 2A FPREM, FPREM1): partial remainder,
    /// exact. C2 = 1 when the reduction is incomplete (exponent difference D ≥ 64), else
    /// C0 C3 C1 = Q2 Q1 Q0. For an incomplete step the SDM leaves N (the exponent reduction
    /// is D − N … ) implementation-dependent in 32–63; this uses N = 32 + (D mod 32), which is
    /// what the AMD host of the differential test does (the exponent drops to a multiple of 32).
    func x87Prem(ieee: Bool) {
        // Special operands and stack underflow clear C1 and C2 and leave C0 and C3 (as the
        // host x87 does); a computed remainder sets all four.
        x87SetCondition(FSW.c1 | FSW.c2, false)
        guard let (a, b, denormal) = x87StackTopPair() else { return }
        var flags = denormal
        if a.kind == .infinity || b.kind == .zero {
            if x87Deliver(FSW.ie) { setST(0, .indefinite) }
            return
        }
        if a.kind == .zero { guard x87Deliver(flags) else { return }; x87SetConditions(0); return }
        let (ea, ma) = a.normalized!
        // A result equal to ST(0) is delivered in canonical form (a pseudo-denormal becomes
        // the normal encoding with exponent 1, as the host x87 does).
        let canonical = X87Register.exact(negative: a.isNegative, ma, unitExponent: ea - 63)
        if b.kind == .infinity {
            var r = canonical
            x87UnderflowAdjust(&r, &flags)
            guard x87Deliver(flags) else { return }
            setST(0, r)
            x87SetConditions(0)
            return
        }
        let (eb, mb) = b.normalized!
        let d = ea - eb
        var q: UInt64 = 0
        var negative = a.isNegative
        var result = canonical
        var complete = true
        if d >= 64 {
            let n = 32 + (d & 31)
            let num = UInt128(ma) << UInt128(n)
            let r = UInt64(num % UInt128(mb))
            result = X87Register.exact(negative: negative, r, unitExponent: ea - 63 - n)
            complete = false
        } else if d >= 0 {
            let num = UInt128(ma) << UInt128(d)
            q = UInt64(truncatingIfNeeded: num / UInt128(mb))
            var r = UInt64(num % UInt128(mb))
            if ieee && (UInt128(r) * 2 > UInt128(mb) || (UInt128(r) * 2 == UInt128(mb) && q & 1 != 0)) {
                q &+= 1; r = mb - r; negative.toggle()
            }
            result = X87Register.exact(negative: negative, r, unitExponent: eb - 63)
        } else if ieee && d == -1 && ma > mb {
            q = 1
            result = X87Register.exact(negative: !negative, UInt64((UInt128(mb) << 1) - UInt128(ma)), unitExponent: eb - 64)
        }
        if result.isZero { result.signExponent = a.signExponent & 0x8000 }
        x87UnderflowAdjust(&result, &flags)
        guard x87Deliver(flags) else { return }
        setST(0, result)
        if complete {
            x87SetConditions((q & 4 != 0 ? FSW.c0 : 0) | (q & 2 != 0 ? FSW.c3 : 0) | (q & 1 != 0 ? FSW.c1 : 0))
        } else {
            x87SetConditions(FSW.c2)
        }
    }

}

extension Processor {
    /// An exact denormal result with UE unmasked: × 2^24576 and UE (SDM Vol. 1 §8.5.5).
    func x87UnderflowAdjust(_ r: inout X87Register, _ flags: inout UInt16) {
        if r.kind == .denormal && x87Unmasked(FSW.ue), let (e, m) = r.normalized,
           let v = X87Register.normal(negative: r.isNegative, exponent: e + 24576, significand: m) {
            r = v
            flags |= FSW.ue
        }
    }
}

extension X87Register {
    /// |a| > |b| for non-NaN values.
    static func magnitudeGreater(_ a: X87Register, _ b: X87Register) -> Bool {
        let ea = a.signExponent & 0x7FFF, eb = b.signExponent & 0x7FFF
        return ea != eb ? ea > eb : a.significand > b.significand
    }

    /// The value × 2^k if exactly representable as a normal number; zero/inf/NaN as is.
    /// With `tinyAllowed`, a result below the normal range becomes ±2^-16382 (a sticky stand-in).
    func scaledExactly(_ k: Int, tinyAllowed: Bool) -> X87Register? {
        switch kind {
        case .zero, .infinity, .nan, .unsupported: return self
        default: break
        }
        let (e, m) = normalized!
        if let r = X87Register.normal(negative: isNegative, exponent: e + k, significand: m) { return r }
        if tinyAllowed && e + k < -16382 {
            return X87Register(significand: X87Register.integerBit, signExponent: (signExponent & 0x8000) | 1)
        }
        return nil
    }

    /// The exact value ±m × 2^u (normal or denormal; the caller guarantees representability).
    static func exact(negative: Bool, _ m: UInt64, unitExponent u: Int) -> X87Register {
        let sign: UInt16 = negative ? 0x8000 : 0
        if m == 0 { return X87Register(significand: 0, signExponent: sign) }
        let lz = m.leadingZeroBitCount
        let e = u + 63 - lz
        if e >= -16382 { return X87Register(significand: m << UInt64(lz), signExponent: sign | UInt16(e + 16383)) }
        let sh = u + 16445                                    // denormal: m × 2^(u + 16445) units of 2^-16445
        let s = sh >= 0 ? m << UInt64(sh) : m >> UInt64(-sh)
        return X87Register(significand: s, signExponent: sign)
    }

    /// trunc(value) as an Int clamped to ±limit (finite values).
    func truncatedClamped(_ limit: Int) -> Int {
        guard let (e, m) = normalized else { return 0 }
        if e < 0 { return 0 }
        if e >= 62 { return isNegative ? -limit : limit }
        let v = Int(m >> UInt64(63 - e))
        return isNegative ? -min(v, limit) : min(v, limit)
    }

    /// |value| rounded to an integer per rounding control `rc` (0 nearest-even, 1 down,
    /// 2 up, 3 chop; SDM Vol. 1 Table 4-8), for finite values with exponent < 64.
    /// `overflow` when the magnitude is 2^64 or more; `up` when it was increased.
    func roundedMagnitude(rc: Int) -> (magnitude: UInt64, overflow: Bool, inexact: Bool, up: Bool) {
        guard let (e, m) = normalized else { return (0, false, false, false) }
        if e >= 64 { return (0, true, false, false) }
        if e == 63 { return (m, false, false, false) }
        let shift = 63 - e                                    // ≥ 1
        var int: UInt64, rem: UInt128, half: UInt128
        if shift >= 65 {
            int = 0; rem = 1; half = 2                         // below one half, non-zero
        } else {
            int = shift == 64 ? 0 : m >> UInt64(shift)
            rem = UInt128(m) & ((UInt128(1) << UInt128(shift)) - 1)
            half = UInt128(1) << UInt128(shift - 1)
        }
        if rem == 0 { return (int, false, false, false) }
        let increment: Bool
        switch rc {
        case 0: increment = rem > half || (rem == half && int & 1 != 0)
        case 1: increment = isNegative
        case 2: increment = !isNegative
        default: increment = false
        }
        if increment {
            if int == .max { return (0, true, true, true) }
            int += 1
        }
        return (int, false, true, increment)
    }
}
#endif
