/// IEEE-754 operations with the SSE rules (SDM Vol. 1 §4.8.3, §4.9, §11.5): NaN propagation
/// (Table 4-7: the first source NaN wins, SNaNs are quieted), the QNaN floating-point
/// indefinite, DAZ/FZ, all four rounding modes, and the six exception flags.
///
/// The host computes in round-to-nearest; the exact error of that result (TwoSum for add,
/// an FMA residual for multiply/divide/square root, or the exact double-precision result
/// for single precision) gives inexactness and the direction for the directed modes.
/// Double-precision products, quotients and roots near the denormal range are computed scaled
/// by 2^600 so the error term cannot underflow. Known approximations: tininess is judged on
/// the rounded result (x86 detects it after rounding; the edge where only the unbounded-
/// exponent result is tiny is not distinguished), and a round-to-nearest overflow is treated
/// as an overflow under every rounding mode (an exact magnitude in [MAX + ½ulp, MAX + 1ulp)
/// rounded toward zero gives MAX with OE although only PE is due).
protocol SSEFloat: BinaryFloatingPoint {
    init(raw: UInt64)
    var raw: UInt64 { get }
    static var indefinite: UInt64 { get }
    static var quietBit: UInt64 { get }
    /// The round-to-nearest result of `kind` (0 add, 1 sub, 2 mul, 3 div, 4 sqrt) and the sign
    /// of (exact − result).
    static func nearest(_ kind: Int, _ x: Self, _ y: Self) -> (Self, Int)
}

@inline(__always) private func signum<F: BinaryFloatingPoint>(_ v: F) -> Int { v > 0 ? 1 : v < 0 ? -1 : 0 }

/// TwoSum (Knuth): s = fl(a + b) and the sign of the exact error, without overflow.
@inline(__always) private func twoSum<F: BinaryFloatingPoint>(_ a: F, _ b: F) -> (F, Int) {
    let s = a + b
    if !s.isFinite { return (s, 0) }
    let bb = s - a
    let e = (a - (s - bb)) + (b - bb)
    return (s, signum(e))
}

extension Float: SSEFloat {
    @inline(__always) init(raw: UInt64) { self.init(bitPattern: UInt32(truncatingIfNeeded: raw)) }
    @inline(__always) var raw: UInt64 { UInt64(bitPattern) }
    static var indefinite: UInt64 { 0xFFC0_0000 }
    static var quietBit: UInt64 { 0x0040_0000 }
    @inline(__always) static func nearest(_ kind: Int, _ x: Float, _ y: Float) -> (Float, Int) {
        switch kind {
        case 0: return twoSum(x, y)
        case 1: return twoSum(x, -y)
        default:
            // Exact (product) or correctly rounded (quotient, root: 53 ≥ 2·24 + 2) in double.
            let d: Double = kind == 2 ? Double(x) * Double(y) : kind == 3 ? Double(x) / Double(y) : Double(x).squareRoot()
            let r = Float(d)
            return (r, r.isFinite ? signum(d - Double(r)) : 0)
        }
    }
}

extension Double: SSEFloat {
    @inline(__always) init(raw: UInt64) { self.init(bitPattern: raw) }
    @inline(__always) var raw: UInt64 { bitPattern }
    static var indefinite: UInt64 { 0xFFF8_0000_0000_0000 }
    static var quietBit: UInt64 { 0x0008_0000_0000_0000 }
    @inline(__always) static func nearest(_ kind: Int, _ x: Double, _ y: Double) -> (Double, Int) {
        switch kind {
        case 0: return twoSum(x, y)
        case 1: return twoSum(x, -y)
        case 2:
            let r = x * y
            if !r.isFinite { return (r, 0) }
            if r.magnitude < 0x1p-968 && x != 0 && y != 0 { return tinyProduct(x, y) }
            return (r, signum((-r).addingProduct(x, y)))
        case 3:
            let r = x / y
            if !r.isFinite { return (r, 0) }
            if (r.magnitude < 0x1p-968 || x.magnitude < 0x1p-968) && x != 0 { return tinyQuotient(x, y) }
            return (r, signum(x.addingProduct(-r, y)) * signum(y))
        default:
            if x < 0x1p-900 {
                // sqrt(x·2⁶⁰⁰) = sqrt(x)·2³⁰⁰: the residual stays in range, the result is normal.
                let xs = x * 0x1p600
                let rs = xs.squareRoot()
                return (rs * 0x1p-300, signum(xs.addingProduct(-rs, rs)))
            }
            let r = x.squareRoot()
            return (r, signum(x.addingProduct(-r, r)))
        }
    }

    /// Rounds hi·2⁻⁶⁰⁰ (hi + a tail of sign `tail` being an exact scaled value) to the
    /// double grid, denormals included: the result and the sign of (exact − result).
    @inline(__always) static func unscale(_ hi: Double, tail: Int) -> (Double, Int) {
        var r = hi * 0x1p-600
        let d = hi - r * 0x1p600
        let half = 0x1p-475
        if d.magnitude == half && tail != 0 {
            let dSign = signum(d)
            if dSign == tail {
                r = tail > 0 ? r.nextUp : r.nextDown
                return (r, -tail)
            }
            return (r, dSign)
        }
        return (r, d != 0 ? signum(d) : tail)
    }

    /// A product whose rounding error could underflow: computed scaled by 2⁶⁰⁰.
    static func tinyProduct(_ x: Double, _ y: Double) -> (Double, Int) {
        var a = x, b = y
        if a.magnitude > b.magnitude { swap(&a, &b) }
        let xs = a * 0x1p600
        let hi = xs * b
        let lo = (-hi).addingProduct(xs, b)
        var (r, e) = unscale(hi, tail: signum(lo))
        if r == 0 && e == 0 { e = (x.sign == y.sign) ? 1 : -1 }
        return (r, e)
    }

    static func tinyQuotient(_ x: Double, _ y: Double) -> (Double, Int) {
        let xs = x * 0x1p600
        let q = xs / y
        let rem = xs.addingProduct(-q, y)
        var (r, e) = unscale(q, tail: signum(rem) * signum(y))
        if r == 0 && e == 0 { e = (x.sign == y.sign) ? 1 : -1 }
        return (r, e)
    }
}

enum SSEFloatOps {
    static let add = 0, sub = 1, mul = 2, div = 3, sqrt = 4, min = 5, max = 6

    @inline(__always) static func quiet<F: SSEFloat>(_ t: F.Type, _ raw: UInt64) -> UInt64 { raw | F.quietBit }

    /// A source operand after DAZ; a denormal without DAZ raises DE.
    @inline(__always)
    static func source<F: SSEFloat>(_ x: F, _ env: inout SSEEnvironment) -> F {
        if x.isSubnormal {
            if env.daz { return F(signOf: x, magnitudeOf: 0) }
            env.flags |= MXCSRBits.de
        }
        return x
    }

    /// Rounds a round-to-nearest result `r` (with `err` = sign of exact − r) under MXCSR.RC,
    /// then applies overflow, underflow and FZ (SDM Vol. 1 §4.9.1.4–4.9.1.6, §10.2.3.3).
    @inline(__always)
    static func round<F: SSEFloat>(_ r0: F, _ err: Int, _ env: inout SSEEnvironment) -> UInt64 {
        var r = r0
        if r.isInfinite {
            // Overflow of a finite computation.
            env.flags |= MXCSRBits.oe | MXCSRBits.pe
            let neg = r < 0
            switch env.rc {
            case 0: break
            case 1: r = neg ? -F.infinity : F.greatestFiniteMagnitude
            case 2: r = neg ? -F.greatestFiniteMagnitude : F.infinity
            default: r = neg ? -F.greatestFiniteMagnitude : F.greatestFiniteMagnitude
            }
            return r.raw
        }
        if err != 0 {
            env.flags |= MXCSRBits.pe
            switch env.rc {
            case 1: if err < 0 { r = r.nextDown }
            case 2: if err > 0 { r = r.nextUp }
            case 3: if (err < 0 && r > 0) || (err > 0 && r < 0) { r = r > 0 ? r.nextDown : r.nextUp }
            default: break
            }
            if r.isInfinite { env.flags |= MXCSRBits.oe }
        }
        if r.isSubnormal || (r == 0 && err != 0) {
            if !env.underflowMasked { env.flags |= MXCSRBits.ue }
            else if env.fz {
                env.flags |= MXCSRBits.ue | MXCSRBits.pe
                r = F(signOf: r0, magnitudeOf: 0)    // the round-to-nearest result has the exact result's sign
            } else if err != 0 { env.flags |= MXCSRBits.ue }
        }
        return r.raw
    }

    /// ADD/SUB/MUL/DIV/MIN/MAX (y = second source) and SQRT (x = the source).
    @inline(__always)
    static func binary<F: SSEFloat>(_ t: F.Type, _ kind: Int, _ a: UInt64, _ b: UInt64,
                                    _ env: inout SSEEnvironment) -> UInt64 {
        var x = F(raw: a), y = F(raw: b)
        if kind == min || kind == max {
            // MIN/MAX: a NaN in either, or two zeros, return the second source (SDM Vol. 2B MINPS).
            if x.isNaN || y.isNaN {
                env.flags |= MXCSRBits.ie
                return env.daz && y.isSubnormal ? F(signOf: y, magnitudeOf: 0).raw : b
            }
            x = source(x, &env); y = source(y, &env)
            if x == 0 && y == 0 { return y.raw }
            if kind == min { return x < y ? x.raw : y.raw }
            return x > y ? x.raw : y.raw
        }
        if kind == sqrt {
            if x.isNaN {
                if x.isSignalingNaN { env.flags |= MXCSRBits.ie }
                return a | F.quietBit
            }
            let before = env.flags
            x = source(x, &env)
            if x < 0 {
                env.flags = (env.flags & ~MXCSRBits.de) | (before & MXCSRBits.de) | MXCSRBits.ie
                return F.indefinite
            }
            if x.isInfinite || x == 0 { return x.raw }
            let (r, e) = F.nearest(sqrt, x, x)
            return round(r, e, &env)
        }
        if x.isNaN || y.isNaN {
            if x.isSignalingNaN || y.isSignalingNaN { env.flags |= MXCSRBits.ie }
            return x.isNaN ? a | F.quietBit : b | F.quietBit
        }
        // IE and ZE take priority over DE for the same operation (SDM Vol. 1 §11.5.2, exception priority; the host agrees).
        let before = env.flags
        x = source(x, &env); y = source(y, &env)
        func invalid() -> UInt64 {
            env.flags = (env.flags & ~MXCSRBits.de) | (before & MXCSRBits.de) | MXCSRBits.ie
            return F.indefinite
        }
        switch kind {
        case add, sub:
            if x.isInfinite && y.isInfinite && (x.sign == y.sign) == (kind == sub) { return invalid() }
            if x.isInfinite || y.isInfinite { return (kind == add ? x + y : x - y).raw }
        case mul:
            if (x.isInfinite && y == 0) || (x == 0 && y.isInfinite) { return invalid() }
            if x.isInfinite || y.isInfinite { return (x * y).raw }
        default:
            if (x == 0 && y == 0) || (x.isInfinite && y.isInfinite) { return invalid() }
            if y == 0 && !x.isInfinite {
                env.flags = (env.flags & ~MXCSRBits.de) | (before & MXCSRBits.de) | MXCSRBits.ze
                return (x / y).raw
            }
            if x.isInfinite || y.isInfinite { return (x / y).raw }
        }
        let (r, e) = F.nearest(kind, x, y)
        if r == 0 && e == 0 {
            // An exact zero sum of opposite-signed operands is −0 under round-down (IEEE 754 §6.3).
            if env.rc == 1 && (kind == add || kind == sub) && x.sign != (kind == sub ? -y : y).sign {
                return F(-0.0).raw
            }
            return r.raw
        }
        return round(r, e, &env)
    }

    /// CMPPS/CMPSS … predicate `p` (imm8[2:0], SDM Vol. 2A CMPPS Table 3-1): the lane mask.
    /// LT, LE, NLT, NLE signal invalid on any NaN; the others only on an SNaN.
    @inline(__always)
    static func compare<F: SSEFloat>(_ t: F.Type, _ p: Int, _ a: UInt64, _ b: UInt64,
                                     _ env: inout SSEEnvironment) -> Bool {
        var x = F(raw: a), y = F(raw: b)
        let unordered = x.isNaN || y.isNaN
        if unordered {
            if x.isSignalingNaN || y.isSignalingNaN || (p & 3) == 1 || (p & 3) == 2 { env.flags |= MXCSRBits.ie }
        } else {
            x = source(x, &env); y = source(y, &env)
        }
        switch p {
        case 0: return !unordered && x == y
        case 1: return !unordered && x < y
        case 2: return !unordered && x <= y
        case 3: return unordered
        case 4: return unordered || x != y
        case 5: return unordered || !(x < y)
        case 6: return unordered || !(x <= y)
        default: return !unordered
        }
    }

    /// Float → integer (CVT*2SI/DQ/PI; `truncate` for the CVTT forms): NaN or out of range
    /// raises IE and returns the integer indefinite 8000…0 (SDM Vol. 1 §4.8.3.7).
    @inline(__always)
    static func toInt<F: SSEFloat>(_ t: F.Type, _ a: UInt64, bits: Int, truncate: Bool,
                                   _ env: inout SSEEnvironment) -> UInt64 {
        var x = F(raw: a)
        let indefinite = UInt64(1) << UInt64(bits - 1)
        if x.isNaN { env.flags |= MXCSRBits.ie; return indefinite }
        if x.isSubnormal && env.daz { x = 0 }
        let rule: FloatingPointRoundingRule
        switch truncate ? 3 : env.rc {
        case 0: rule = .toNearestOrEven
        case 1: rule = .down
        case 2: rule = .up
        default: rule = .towardZero
        }
        let r = x.rounded(rule)
        let limit = F(sign: .plus, exponent: F.Exponent(bits - 1), significand: 1)
        if !(r >= -limit && r < limit) { env.flags |= MXCSRBits.ie; return indefinite }
        if r != x { env.flags |= MXCSRBits.pe }
        return UInt64(bitPattern: Int64(r)) & XMMRegister.laneMask(bits)
    }

    /// Integer → float under MXCSR.RC (CVTSI2SS/SD, CVTDQ2PS, CVTPI2PS).
    @inline(__always)
    static func fromInt<F: SSEFloat>(_ t: F.Type, _ v: Int64, _ env: inout SSEEnvironment) -> UInt64 {
        let r = F(v)
        let err: Int
        if r >= F(sign: .plus, exponent: 63, significand: 1) { err = -1 }
        else {
            let back = Int64(r)
            err = v > back ? 1 : v < back ? -1 : 0
        }
        return round(r, err, &env)
    }

    /// Single → double (exact; an SNaN is quieted with IE).
    @inline(__always)
    static func widen(_ a: UInt64, _ env: inout SSEEnvironment) -> UInt64 {
        let x = Float(raw: a)
        if x.isNaN {
            if x.isSignalingNaN { env.flags |= MXCSRBits.ie }
            let sign = (a >> 31) & 1
            return (sign << 63) | 0x7FF8_0000_0000_0000 | ((a & 0x3F_FFFF) << 29)
        }
        return Double(source(x, &env)).raw
    }

    /// Double → single under MXCSR.RC.
    @inline(__always)
    static func narrow(_ a: UInt64, _ env: inout SSEEnvironment) -> UInt64 {
        var x = Double(raw: a)
        if x.isNaN {
            if x.isSignalingNaN { env.flags |= MXCSRBits.ie }
            let sign = a >> 63
            return (sign << 31) | 0x7FC0_0000 | ((a >> 29) & 0x3F_FFFF)
        }
        x = source(x, &env)
        if x.isInfinite || x == 0 { return Float(x).raw }
        let r = Float(x)
        return round(r, r.isFinite ? signum(x - Double(r)) : 0, &env)
    }
}
