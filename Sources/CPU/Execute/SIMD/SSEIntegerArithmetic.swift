/// Integer SIMD on MM (64-bit) and XMM (128-bit) registers: add/subtract with wraparound and
/// saturation, compares, logic, shifts, multiplies, pack/unpack, shuffles, averages, min/max,
/// SAD (SDM Vol. 1 §9.4, §10.4.4, §11.4.3; instruction pages in Vol. 2B).
@inline(__always) private func sx(_ v: UInt64, _ bits: Int) -> Int64 {
    let s = UInt64(64 - bits)
    return Int64(bitPattern: v << s) >> Int64(s)
}

@inline(__always) private func signedSaturate(_ v: Int64, _ bits: Int) -> UInt64 {
    let hi = (Int64(1) << Int64(bits - 1)) - 1, lo = -(Int64(1) << Int64(bits - 1))
    return UInt64(bitPattern: min(max(v, lo), hi)) & XMMRegister.laneMask(bits)
}

@inline(__always) private func unsignedSaturate(_ v: Int64, _ bits: Int) -> UInt64 {
    let hi = (Int64(1) << Int64(bits)) - 1
    return UInt64(bitPattern: min(max(v, 0), hi))
}

/// Applies `f` to each pair of `bits`-wide lanes of the first `bytes` bytes.
@inline(__always) private func map2(_ a: XMMRegister, _ b: XMMRegister, _ bits: Int, _ bytes: Int,
                                    _ f: (UInt64, UInt64) -> UInt64) -> XMMRegister {
    var r = XMMRegister()
    for k in 0..<(bytes * 8 / bits) { r.setLane(k, bits, f(a.lane(k, bits), b.lane(k, bits))) }
    return r
}

extension Processor {
    // swiftlint:disable:next cyclomatic_complexity function_body_length
    func execSIMDInteger(_ i: Inst, _ op: SIMDOp, _ a: UInt32) throws(Fault) {
        let bytes = a & SIMDAttr.xmm != 0 ? 16 : 8
        let d = simdDest(i, a)
        let isImmShift = op.rawValue >= SIMDOp.psrlwI.rawValue && op.rawValue <= SIMDOp.pslldq.rawValue
        // Immediate shifts name their register in rm; the others read xmm/m or mm/m.
        let s = isImmShift ? XMMRegister() : try simdSource(i, a)
        let imm = Int(i.pointee.imm & 0xFF)
        var r: XMMRegister
        switch op {
        case .paddb: r = map2(d, s, 8, bytes) { $0 &+ $1 }
        case .paddw: r = map2(d, s, 16, bytes) { $0 &+ $1 }
        case .paddd: r = map2(d, s, 32, bytes) { $0 &+ $1 }
        case .paddq: r = map2(d, s, 64, bytes) { $0 &+ $1 }
        case .psubb: r = map2(d, s, 8, bytes) { $0 &- $1 }
        case .psubw: r = map2(d, s, 16, bytes) { $0 &- $1 }
        case .psubd: r = map2(d, s, 32, bytes) { $0 &- $1 }
        case .psubq: r = map2(d, s, 64, bytes) { $0 &- $1 }
        case .paddsb: r = map2(d, s, 8, bytes) { signedSaturate(sx($0, 8) + sx($1, 8), 8) }
        case .paddsw: r = map2(d, s, 16, bytes) { signedSaturate(sx($0, 16) + sx($1, 16), 16) }
        case .psubsb: r = map2(d, s, 8, bytes) { signedSaturate(sx($0, 8) - sx($1, 8), 8) }
        case .psubsw: r = map2(d, s, 16, bytes) { signedSaturate(sx($0, 16) - sx($1, 16), 16) }
        case .paddusb: r = map2(d, s, 8, bytes) { unsignedSaturate(Int64($0) + Int64($1), 8) }
        case .paddusw: r = map2(d, s, 16, bytes) { unsignedSaturate(Int64($0) + Int64($1), 16) }
        case .psubusb: r = map2(d, s, 8, bytes) { unsignedSaturate(Int64($0) - Int64($1), 8) }
        case .psubusw: r = map2(d, s, 16, bytes) { unsignedSaturate(Int64($0) - Int64($1), 16) }
        case .pcmpeqb: r = map2(d, s, 8, bytes) { $0 == $1 ? ~0 : 0 }
        case .pcmpeqw: r = map2(d, s, 16, bytes) { $0 == $1 ? ~0 : 0 }
        case .pcmpeqd: r = map2(d, s, 32, bytes) { $0 == $1 ? ~0 : 0 }
        case .pcmpgtb: r = map2(d, s, 8, bytes) { sx($0, 8) > sx($1, 8) ? ~0 : 0 }
        case .pcmpgtw: r = map2(d, s, 16, bytes) { sx($0, 16) > sx($1, 16) ? ~0 : 0 }
        case .pcmpgtd: r = map2(d, s, 32, bytes) { sx($0, 32) > sx($1, 32) ? ~0 : 0 }
        case .pand: r = XMMRegister(low: d.low & s.low, high: d.high & s.high)
        case .pandn: r = XMMRegister(low: ~d.low & s.low, high: ~d.high & s.high)
        case .por: r = XMMRegister(low: d.low | s.low, high: d.high | s.high)
        case .pxor: r = XMMRegister(low: d.low ^ s.low, high: d.high ^ s.high)
        case .psrlw, .psrld, .psrlq, .psraw, .psrad, .psllw, .pslld, .psllq:
            let k = Int(op.rawValue - SIMDOp.psrlw.rawValue)
            r = shift(d, kind: k, count: s.low, bytes: bytes)
        case .psrlwI, .psrldI, .psrlqI, .psrawI, .psradI, .psllwI, .pslldI, .psllqI:
            let k = Int(op.rawValue - SIMDOp.psrlwI.rawValue)
            r = shift(simdSourceRegister(i, a), kind: k, count: UInt64(imm), bytes: bytes)
        case .psrldq, .pslldq:
            let v = xmmReg(i.pointee.rm)
            r = XMMRegister()
            let n = min(imm, 16)
            for k in 0..<16 {
                let from = op == .psrldq ? k + n : k - n
                if from >= 0 && from < 16 { r.setLane(k, 8, v.lane(from, 8)) }
            }
        case .pmullw: r = map2(d, s, 16, bytes) { UInt64(bitPattern: sx($0, 16) &* sx($1, 16)) }
        case .pmulhw: r = map2(d, s, 16, bytes) { UInt64(bitPattern: (sx($0, 16) &* sx($1, 16)) >> 16) }
        case .pmulhuw: r = map2(d, s, 16, bytes) { ($0 &* $1) >> 16 }
        case .pmuludq: r = map2(d, s, 64, bytes) { ($0 & 0xFFFF_FFFF) &* ($1 & 0xFFFF_FFFF) }
        case .pmaddwd:
            r = map2(d, s, 32, bytes) { x, y in
                let p0 = sx(x & 0xFFFF, 16) * sx(y & 0xFFFF, 16)
                let p1 = sx(x >> 16, 16) * sx(y >> 16, 16)
                return UInt64(bitPattern: p0 &+ p1)
            }
        case .packsswb, .packssdw, .packuswb:
            let inBits = op == .packssdw ? 32 : 16, outBits = inBits / 2
            let half = bytes * 8 / outBits / 2
            r = XMMRegister()
            for k in 0..<half {
                let x = sx(d.lane(k, inBits), inBits), y = sx(s.lane(k, inBits), inBits)
                if op == .packuswb {
                    r.setLane(k, outBits, unsignedSaturate(x, outBits))
                    r.setLane(k + half, outBits, unsignedSaturate(y, outBits))
                } else {
                    r.setLane(k, outBits, signedSaturate(x, outBits))
                    r.setLane(k + half, outBits, signedSaturate(y, outBits))
                }
            }
        case .punpcklbw, .punpcklwd, .punpckldq, .punpcklqdq, .punpckhbw, .punpckhwd, .punpckhdq, .punpckhqdq:
            let k0 = Int(op.rawValue - SIMDOp.punpcklbw.rawValue)
            let bits = 8 << (k0 & 3)
            let lanes = bytes * 8 / bits
            let off = k0 >= 4 ? lanes / 2 : 0
            r = XMMRegister()
            for k in 0..<(lanes / 2) {
                r.setLane(2 * k, bits, d.lane(k + off, bits))
                r.setLane(2 * k + 1, bits, s.lane(k + off, bits))
            }
        case .pshufw, .pshufd:
            let bits = op == .pshufw ? 16 : 32
            r = XMMRegister()
            for k in 0..<4 { r.setLane(k, bits, s.lane((imm >> (2 * k)) & 3, bits)) }
        case .pshufhw:
            r = XMMRegister(low: s.low, high: 0)
            for k in 0..<4 { r.setLane(4 + k, 16, s.lane(4 + ((imm >> (2 * k)) & 3), 16)) }
        case .pshuflw:
            r = XMMRegister(low: 0, high: s.high)
            for k in 0..<4 { r.setLane(k, 16, s.lane((imm >> (2 * k)) & 3, 16)) }
        case .pavgb: r = map2(d, s, 8, bytes) { ($0 + $1 + 1) >> 1 }
        case .pavgw: r = map2(d, s, 16, bytes) { ($0 + $1 + 1) >> 1 }
        case .pminub: r = map2(d, s, 8, bytes) { min($0, $1) }
        case .pmaxub: r = map2(d, s, 8, bytes) { max($0, $1) }
        case .pminsw: r = map2(d, s, 16, bytes) { sx($0, 16) < sx($1, 16) ? $0 : $1 }
        case .pmaxsw: r = map2(d, s, 16, bytes) { sx($0, 16) > sx($1, 16) ? $0 : $1 }
        case .psadbw:
            r = map2(d, s, 64, bytes) { x, y in
                var sum: UInt64 = 0
                for k in 0..<8 {
                    let p = (x >> UInt64(8 * k)) & 0xFF, q = (y >> UInt64(8 * k)) & 0xFF
                    sum += p > q ? p - q : q - p
                }
                return sum
            }
        default:
            throw Fault.ud
        }
        if isImmShift {
            if a & SIMDAttr.xmm != 0 { setXMM(i.pointee.rm, r) } else { setMM(i.pointee.rm, r.low) }
        } else {
            setSIMDDest(i, a, r)
        }
    }

    /// PSRL/PSRA/PSLL by `count` (kind: 0 W/1 D/2 Q logical right, 3 W/4 D arithmetic right,
    /// 5 W/6 D/7 Q left). Counts above the lane width give 0, or the sign for PSRA.
    @inline(__always)
    private func shift(_ v: XMMRegister, kind: Int, count: UInt64, bytes: Int) -> XMMRegister {
        let bits = kind == 2 || kind == 7 ? 64 : (kind == 0 || kind == 3 || kind == 5) ? 16 : 32
        return map2(v, v, bits, bytes) { x, _ in
            switch kind {
            case 0, 1, 2: return count >= UInt64(bits) ? 0 : x >> count
            case 3, 4: return UInt64(bitPattern: sx(x, bits) >> Int64(min(count, UInt64(bits - 1))))
            default: return count >= UInt64(bits) ? 0 : x << count
            }
        }
    }
}
