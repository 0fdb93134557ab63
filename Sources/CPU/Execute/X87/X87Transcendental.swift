#if arch(x86_64) && canImport(Glibc)
import Glibc

/// x87 transcendental instructions: FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X,
/// FYL2XP1 (SDM Vol. 2A pages of the same names, Vol. 1 §8.3.8–8.3.10).
///
/// Partial: values come from glibc's long-double functions (sinl, cosl, tanl, atan2l,
/// expm1l, log2l, log1pl) in round-to-nearest; FCW.RC and FCW.PC are not applied and the
/// result may differ from hardware in the last bits (the x87's own results are not
/// correctly rounded either, SDM Vol. 1 §8.3.10). FSIN/FCOS/FSINCOS/FPTAN first reduce the
/// argument by the hardware's 66-bit π, as the x87 does, so large arguments give the
/// hardware's (not the mathematically exact) values; X87TranscendentalTests checks them
/// against the host within 2^-56. C1 is 0 (the rounding direction is not
/// reported). Special operands, C2 for out-of-range arguments (|x| ≥ 2^63), #IA, #Z, #D
/// are as the instruction pages specify; PE is reported for every inexact finite result,
/// UE for a denormal result.
extension X87Register {
    /// The hardware's argument reduction (SDM Vol. 1 §8.3.10: the x87 reduces with a 66-bit
    /// approximation of π): x − n·π₆₆ with n = round(x / π), computed exactly, and whether n
    /// is odd. For |x| < 2^63.
    func reducedByHardwarePi() -> (Float80, Bool) {
        let x = float80
        guard let (e, m) = normalized, e >= -1 else { return (x, false) }
        let n = (x / Float80.pi).rounded(.toNearestOrEven)
        if n == 0 { return (x, false) }
        let nMag = UInt128(UInt64(n.magnitude))
        let pi66 = (UInt128(0xC90F_DAA2_2168_C234) << 2) | 3       // π × 2^64 (66 bits)
        let xs = UInt128(m) << UInt128(e + 1)                          // |x| × 2^64
        let p = nMag * pi66
        var diff = xs >= p ? Float80(xs - p) : -Float80(p - xs)
        diff = diff * 0x1p-64
        return (isNegative ? -diff : diff, UInt64(n.magnitude) & 1 != 0)
    }
}

extension Processor {
    /// Flags for a computed transcendental result.
    private func x87ResultFlags(_ r: X87Register, exact: Bool) -> UInt16 {
        if exact { return 0 }
        var f = FSW.pe
        if r.kind == .denormal || r.isZero { f |= FSW.ue }
        return f
    }

    /// FSIN (0), FCOS (1), FSINCOS (2), FPTAN (3).
    func x87Trig(_ which: Int) {
        guard x87Operands(indefiniteTo: 0) else { return }
        let a = st(0)
        let pushes = which >= 2
        switch a.kind {
        case .nan, .unsupported:
            if pushes && !x87CanPush() { return }
            let (r, f) = x87PropagateNaN(a, a)!
            guard x87Deliver(f) else { return }
            setST(0, r)
            if pushes { x87Push(r) }
            x87SetCondition(FSW.c2, false)
            return
        case .infinity:
            if pushes && !x87CanPush() { return }
            guard x87Deliver(FSW.ie) else { return }
            setST(0, .indefinite)
            if pushes { x87Push(.indefinite) }
            x87SetCondition(FSW.c2, false)
            return
        default: break
        }
        if a.exponentField - 16383 >= 63 {                // out of range: unchanged, C2 = 1
            x87SetCondition(FSW.c2, true)
            return
        }
        if pushes && !x87CanPush() { return }
        var flags: UInt16 = a.kind == .denormal ? FSW.de : 0
        let zero = a.isZero
        let (x, odd) = a.reducedByHardwarePi()
        let sign: Float80 = odd ? -1 : 1
        var first: X87Register, second = X87Register.one
        switch which {
        case 0: first = zero ? a : X87Register(sign * sinl(x))
        case 1: first = zero ? .one : X87Register(sign * cosl(x))
        case 2: first = zero ? a : X87Register(sign * sinl(x)); second = zero ? .one : X87Register(sign * cosl(x))
        default: first = zero ? a : X87Register(tanl(x))
        }
        flags |= x87ResultFlags(first, exact: zero)
        guard x87Deliver(flags) else { return }
        setST(0, first)
        if pushes { x87Push(second) }
        x87SetCondition(FSW.c2, false)
        x87SetCondition(FSW.c1, false)
    }

    /// F2XM1: ST(0) ← 2^ST(0) − 1 (defined for −1 ≤ ST(0) ≤ +1).
    func x87F2xm1() {
        guard x87Operands(indefiniteTo: 0) else { return }
        let a = st(0)
        if let (r, f) = x87PropagateNaN(a, a) {
            if x87Deliver(f) { setST(0, r) }
            return
        }
        var r: X87Register, flags: UInt16 = a.kind == .denormal ? FSW.de : 0
        switch a.kind {
        case .zero: r = a
        case .infinity: r = a.isNegative ? X87Register.one.negated : a
        default:
            r = X87Register(expm1l(a.float80 * 0.693147180559945309417232121458176568))
            flags |= x87ResultFlags(r, exact: false)
        }
        guard x87Deliver(flags) else { return }
        setST(0, r)
        x87SetCondition(FSW.c1, false)
    }

    /// FYL2X (plus1 = false): ST(1) ← ST(1) × log2 ST(0); FYL2XP1: ST(1) × log2(ST(0) + 1).
    /// Both pop.
    func x87Yl2x(plus1: Bool) {
        guard let (x, y, denormal) = x87StackTopPair(popsIntoST1: true) else { return }
        var flags = denormal
        let xf = x.float80, yf = y.float80
        var r = X87Register.indefinite
        if plus1 {
            if (x.isZero && y.kind == .infinity) || (x.kind == .infinity && y.isZero) || xf < -1 { flags = FSW.ie }
            else if x.kind == .infinity {
                r = X87Register(y.isNegative ? -Float80.infinity : Float80.infinity)
            } else if x.isZero || y.isZero {
                r = X87Register(yf * (x.isNegative ? -0.0 : 0.0))
            } else {
                r = X87Register(yf * (log1pl(xf) * 1.44269504088896340735992468100189214))
                flags |= x87ResultFlags(r, exact: false)
            }
        } else {
            if xf < 0 || (x.isZero && y.isZero) || (x.kind == .infinity && y.isZero)
                || (xf == 1 && y.kind == .infinity) { flags = FSW.ie }
            else if x.isZero {
                if y.kind != .infinity { flags |= FSW.ze }
                r = X87Register(y.isNegative ? Float80.infinity : -Float80.infinity)
            } else {
                let l = log2l(xf)
                r = X87Register(yf * l)
                let exact = x.kind == .infinity || y.kind == .infinity || r.isZero
                flags |= x87ResultFlags(r, exact: exact)
            }
        }
        guard x87Deliver(flags) else { return }
        setST(1, r)
        x87Pop()
        x87SetCondition(FSW.c1, false)
    }

    /// FPATAN: ST(1) ← arctan(ST(1) / ST(0)) with the quadrant of (ST(0), ST(1)); pops.
    func x87Patan() {
        guard let (x, y, denormal) = x87StackTopPair(popsIntoST1: true) else { return }
        var flags = denormal
        let r = X87Register(atan2l(y.float80, x.float80))
        flags |= x87ResultFlags(r, exact: y.isZero && !x.isNegative)
        guard x87Deliver(flags) else { return }
        setST(1, r)
        x87Pop()
        x87SetCondition(FSW.c1, false)
    }
}
#endif
