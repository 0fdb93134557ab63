/// The 80-bit double-extended register format and conversions between it and the memory
/// formats (SDM Vol. 1 §4.2.2, §4.8, §8.2.2). Classification follows SDM Vol. 1 Table 8-3
/// (supported and unsupported double-extended encodings).
extension X87Register {
    static let integerBit: UInt64 = 1 << 63
    static let quietBit: UInt64 = 1 << 62
    /// QNaN floating-point indefinite (SDM Vol. 1 §4.8.3.7, Table 4-3).
    static let indefinite = X87Register(significand: 0xC000_0000_0000_0000, signExponent: 0xFFFF)
    static let positiveZero = X87Register(significand: 0, signExponent: 0)
    static let one = X87Register(significand: integerBit, signExponent: 0x3FFF)

    /// The value classes x87 instructions distinguish.
    enum Kind { case zero, denormal, normal, infinity, nan, unsupported }

    var exponentField: Int { Int(signExponent & 0x7FFF) }
    var isNegative: Bool { signExponent & 0x8000 != 0 }

    /// Denormal includes pseudo-denormals (exponent 0, integer bit 1), which the FPU accepts
    /// as operands (SDM Vol. 1 §8.2.2). Unnormals, pseudo-NaNs and pseudo-infinities are
    /// unsupported (integer bit 0 with a non-zero exponent).
    var kind: Kind {
        let e = signExponent & 0x7FFF
        if e == 0 { return significand == 0 ? .zero : .denormal }
        if significand & Self.integerBit == 0 { return .unsupported }
        if e == 0x7FFF { return significand << 1 == 0 ? .infinity : .nan }
        return .normal
    }
    var isNaN: Bool { kind == .nan }
    var isSignalingNaN: Bool { kind == .nan && significand & Self.quietBit == 0 }
    var isZero: Bool { signExponent & 0x7FFF == 0 && significand == 0 }

    /// Tag for a non-empty register (SDM Vol. 1 §8.1.7): 00 valid, 01 zero, 10 special.
    var tag: UInt16 {
        switch kind {
        case .normal: return 0
        case .zero: return 1
        default: return 2
        }
    }

    var negated: X87Register { X87Register(significand: significand, signExponent: signExponent ^ 0x8000) }
    var absolute: X87Register { X87Register(significand: significand, signExponent: signExponent & 0x7FFF) }
    var quieted: X87Register { X87Register(significand: significand | Self.quietBit, signExponent: signExponent) }

    /// The same value with exponent and significand normalized (denormals shifted left),
    /// as (unbiased exponent, significand with the integer bit set); nil for zero.
    var normalized: (exponent: Int, significand: UInt64)? {
        if significand == 0 { return nil }
        let e = max(exponentField, 1)
        let lz = significand.leadingZeroBitCount
        return (e - 16383 - lz, significand << UInt64(lz))
    }

    /// A finite value 2^exponent × significand/2^63 if it is representable without rounding
    /// as a normal number (nil otherwise).
    static func normal(negative: Bool, exponent: Int, significand: UInt64) -> X87Register? {
        let field = exponent + 16383
        guard field >= 1 && field <= 0x7FFE && significand & integerBit != 0 else { return nil }
        return X87Register(significand: significand, signExponent: UInt16(field) | (negative ? 0x8000 : 0))
    }

    // MARK: Float80 (bit-exact on x86-64)

    #if arch(x86_64)
    init(_ f: Float80) {
        var v = f
        let (s, e) = withUnsafeBytes(of: &v) { ($0.load(fromByteOffset: 0, as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt16.self)) }
        self.init(significand: s, signExponent: e)
    }
    var float80: Float80 {
        var f: Float80 = 0
        withUnsafeMutableBytes(of: &f) {
            $0.storeBytes(of: significand, toByteOffset: 0, as: UInt64.self)
            $0.storeBytes(of: signExponent, toByteOffset: 8, as: UInt16.self)
        }
        return f
    }
    #endif

    // MARK: Memory formats (loads are exact; SDM Vol. 1 §4.2.2)

    /// Converts a binary32/binary64 bit pattern (`fraction` bits of fraction, `bias`).
    /// Returns the register value (an SNaN stays signalling; FLD quiets it) and whether the
    /// source was an SNaN or a denormal (SDM FLD: #IA for SNaN, #D for denormal sources).
    static func fromBinary(_ bits: UInt64, fraction: Int, exponentBits: Int) -> (X87Register, snan: Bool, denormal: Bool) {
        let sign: UInt16 = bits >> UInt64(fraction + exponentBits) & 1 != 0 ? 0x8000 : 0
        let emax = (1 << exponentBits) - 1
        let bias = emax >> 1
        let e = Int(bits >> UInt64(fraction)) & emax
        let f = bits & ((1 << UInt64(fraction)) - 1)
        if e == 0 {
            if f == 0 { return (X87Register(significand: 0, signExponent: sign), false, false) }
            let p = 63 - f.leadingZeroBitCount                    // highest set bit
            let exp = p - fraction - (bias - 1)
            return (X87Register(significand: f << UInt64(63 - p), signExponent: sign | UInt16(exp + 16383)), false, true)
        }
        if e == emax {
            let s = integerBit | (f << UInt64(63 - fraction))
            if f == 0 { return (X87Register(significand: s, signExponent: sign | 0x7FFF), false, false) }
            let snan = s & quietBit == 0
            return (X87Register(significand: s, signExponent: sign | 0x7FFF), snan, false)
        }
        return (X87Register(significand: integerBit | (f << UInt64(63 - fraction)), signExponent: sign | UInt16(e - bias + 16383)), false, false)
    }

    /// Exact conversion of a signed integer (FILD; SDM Vol. 2A FILD).
    init(integer v: Int64) {
        if v == 0 { self.init(significand: 0, signExponent: 0); return }
        let m = v.magnitude
        let lz = m.leadingZeroBitCount
        self.init(significand: m << UInt64(lz), signExponent: UInt16(16383 + 63 - lz) | (v < 0 ? 0x8000 : 0))
    }

    // MARK: Packed BCD (SDM Vol. 1 §4.7, Figure 4-10)

    /// FBLD: 18 BCD digits and a sign byte. Invalid digits give an undefined result
    /// (SDM Vol. 2A FBLD); here each nibble is taken at face value.
    static func fromBCD(low: UInt64, high: UInt16) -> X87Register {
        var v: UInt64 = 0
        let digits = (UInt128(high & 0xFF) << 64) | UInt128(low)
        for k in stride(from: 17, through: 0, by: -1) {
            v = v &* 10 &+ UInt64((digits >> UInt128(4 * k)) & 0xF)
        }
        var r = X87Register(integer: Int64(bitPattern: v & 0x7FFF_FFFF_FFFF_FFFF))
        if high & 0x8000 != 0 { r.signExponent |= 0x8000 }
        return r
    }

    /// The packed-BCD encoding of |v| ≤ 10^18 − 1 with `negative` (FBSTP).
    static func bcd(_ v: UInt64, negative: Bool) -> (low: UInt64, high: UInt16) {
        var d: UInt128 = 0
        var n = v
        for k in 0..<18 { d |= UInt128(n % 10) << UInt128(4 * k); n /= 10 }
        return (UInt64(truncatingIfNeeded: d), UInt16(truncatingIfNeeded: d >> 64) | (negative ? 0x8000 : 0))
    }
    /// Packed BCD indefinite (SDM Vol. 1 Table 4-4).
    static let bcdIndefinite: (low: UInt64, high: UInt16) = (0xC000_0000_0000_0000, 0xFFFF)
}
