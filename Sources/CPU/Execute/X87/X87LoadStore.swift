#if arch(x86_64) && canImport(Glibc)
/// x87 data transfer: FLD/FST/FSTP (m32fp, m64fp, m80fp, ST(i)), FILD, FIST/FISTP,
/// FISTTP, FBLD, FBSTP, FXCH, the constant loads (SDM Vol. 2A pages of the same names,
/// Vol. 1 §8.3.3–8.3.4).
extension Processor {
    // MARK: Memory operands

    func x87ReadMemory(_ i: Inst, _ size: UInt8) throws(Fault) -> UInt64 {
        try readSized(Int(i.pointee.seg), effectiveAddress(i), size)
    }

    func x87WriteMemory(_ i: Inst, _ size: UInt8, _ v: UInt64) throws(Fault) {
        try writeSized(Int(i.pointee.seg), effectiveAddress(i), size, v)
    }

    /// A 10-byte operand (m80fp, m80bcd).
    func x87ReadMemory80(_ i: Inst) throws(Fault) -> (UInt64, UInt16) {
        let la = try memoryOperandLinear(i, 10, write: false)
        let lo = try readLinear(la, UInt64.self)
        let hi = try readLinear(la &+ 8, UInt16.self)
        return (lo, hi)
    }

    func x87WriteMemory80(_ i: Inst, _ lo: UInt64, _ hi: UInt16) throws(Fault) {
        let la = try memoryOperandLinear(i, 10, write: true)
        try probeLinear(la, 10, currentAccess(.write))
        try writeLinear(la, lo)
        try writeLinear(la &+ 8, hi)
    }

    /// Converts an m32fp/m64fp operand (`size` 4 or 8) exactly. SNaNs are kept signalling
    /// (arithmetic on them raises #IA); `denormal` reports a denormal source (#D).
    func x87ReadReal(_ i: Inst, _ size: UInt8) throws(Fault) -> (X87Register, snan: Bool, denormal: Bool) {
        let bits = try x87ReadMemory(i, size)
        return size == 4 ? X87Register.fromBinary(bits, fraction: 23, exponentBits: 8)
                         : X87Register.fromBinary(bits, fraction: 52, exponentBits: 11)
    }

    /// m16int/m32int/m64int, sign-extended.
    func x87ReadInteger(_ i: Inst, _ size: UInt8) throws(Fault) -> X87Register {
        let v = try x87ReadMemory(i, size)
        switch size {
        case 2: return X87Register(integer: Int64(Int16(truncatingIfNeeded: v)))
        case 4: return X87Register(integer: Int64(Int32(truncatingIfNeeded: v)))
        default: return X87Register(integer: Int64(bitPattern: v))
        }
    }

    // MARK: Loads

    /// FLD m32fp/m64fp: #IA for an SNaN (loaded quieted), #D for a denormal. A denormal
    /// source is loaded even when DE is unmasked (as the host x87 does).
    func x87LoadReal(_ i: Inst, _ size: UInt8) throws(Fault) {
        var (v, snan, denormal) = try x87ReadReal(i, size)
        guard x87CanPush() else { return }
        if snan { v = v.quieted }
        if denormal { x87Signal(FSW.de) }
        guard x87Deliver(snan ? FSW.ie : 0) else { return }
        x87Push(v)
        x87SetCondition(FSW.c1, false)
    }

    /// FLD m80fp: no conversion, no exceptions but stack overflow.
    func x87LoadExtended(_ i: Inst) throws(Fault) {
        let (lo, hi) = try x87ReadMemory80(i)
        guard x87CanPush() else { return }
        x87Push(X87Register(significand: lo, signExponent: hi))
        x87SetCondition(FSW.c1, false)
    }

    /// FLD ST(i).
    func x87LoadRegister(_ i: Int) {
        if x87IsEmpty(i) {
            // Underflow takes precedence; the indefinite is pushed even onto a full stack.
            if x87StackUnderflow() { x87Push(.indefinite) }
            return
        }
        let v = st(i)
        guard x87CanPush() else { return }
        x87Push(v)
        x87SetCondition(FSW.c1, false)
    }

    /// FILD m16int/m32int/m64int: exact.
    func x87LoadInteger(_ i: Inst, _ size: UInt8) throws(Fault) {
        let v = try x87ReadInteger(i, size)
        guard x87CanPush() else { return }
        x87Push(v)
        x87SetCondition(FSW.c1, false)
    }

    /// FBLD m80bcd.
    func x87LoadBCD(_ i: Inst) throws(Fault) {
        let (lo, hi) = try x87ReadMemory80(i)
        guard x87CanPush() else { return }
        x87Push(X87Register.fromBCD(low: lo, high: hi))
        x87SetCondition(FSW.c1, false)
    }

    /// FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (D9 E8–EE). The irrational
    /// constants are rounded per FCW.RC (SDM Vol. 1 §8.3.4; values to 128 bits, rounded).
    func x87LoadConstant(_ k: Int) {
        guard x87CanPush() else { return }
        let (m, rest, e) = Self.x87Constants[k]
        var s = m
        if rest != 0 {
            switch Int(fcw >> 10) & 3 {
            case 0: if rest > 0x8000_0000_0000_0000 || (rest == 0x8000_0000_0000_0000 && m & 1 != 0) { s &+= 1 }
            case 2: s &+= 1
            default: break
            }
        }
        x87Push(X87Register(significand: s, signExponent: e))
        x87SetCondition(FSW.c1, false)
    }

    /// (significand truncated to 64 bits, the next 64 bits, biased exponent) of the
    /// D9 E8–EE constants.
    static let x87Constants: [(UInt64, UInt64, UInt16)] = [
        (0x8000_0000_0000_0000, 0, 0x3FFF),                          // 1
        (0xD49A_784B_CD1B_8AFE, 0x492B_F6FF_4DAF_DB4C, 0x4000),      // log2 10
        (0xB8AA_3B29_5C17_F0BB, 0xBE87_FED0_691D_3E88, 0x3FFF),      // log2 e
        (0xC90F_DAA2_2168_C234, 0xC4C6_628B_80DC_1CD1, 0x4000),      // pi
        (0x9A20_9A84_FBCF_F798, 0x8F89_59AC_0B7C_9178, 0x3FFD),      // log10 2
        (0xB172_17F7_D1CF_79AB, 0xC9E3_B398_03F2_F6AF, 0x3FFE),      // ln 2
        (0, 0, 0),                                                   // +0
    ]

    // MARK: Stores

    /// FST/FSTP m32fp/m64fp: rounded per RC on the host FPU. An unmasked IE, OE or UE
    /// stores nothing and does not pop (SDM Vol. 1 §8.5.4–8.5.5: memory destinations).
    func x87StoreReal(_ i: Inst, _ size: UInt8, pop: Bool) throws(Fault) {
        if x87IsEmpty(0) {
            if x87StackUnderflow() {
                try x87WriteMemory(i, size, size == 4 ? 0xFFC0_0000 : 0xFFF8_0000_0000_0000)
                if pop { x87Pop() }
            }
            return
        }
        let s = extended.hostSlots
        let op: X87HostOp = size == 4 ? .toBinary32 : .toBinary64
        s[0] = st(0).float80
        var f = X87HostFPU.run(op, s, cw: fcw)
        let raw = UnsafeRawPointer(s + 2)
        let bits = size == 4 ? UInt64(raw.load(as: UInt32.self)) : raw.load(as: UInt64.self)
        // With UE unmasked, an exact tiny (denormal) result is an underflow too.
        let fractionBits: UInt64 = size == 4 ? 23 : 52, exponentMask: UInt64 = size == 4 ? 0xFF : 0x7FF
        if (bits >> fractionBits) & exponentMask == 0 && bits & ((1 << fractionBits) - 1) != 0 && x87Unmasked(FSW.ue) { f |= FSW.ue }
        var up = false
        if f & FSW.pe != 0 && fcw & 0x0C00 != 0x0C00 {
            s[0] = st(0).float80
            _ = X87HostFPU.run(op, s, cw: fcw | 0x0C00)
            let chop = size == 4 ? UInt64(raw.load(as: UInt32.self)) : raw.load(as: UInt64.self)
            let signMask: UInt64 = size == 4 ? 0x8000_0000 : 0x8000_0000_0000_0000
            up = bits & ~signMask > chop & ~signMask
        }
        if x87Unmasked(f & (FSW.ie | FSW.de | FSW.oe | FSW.ue)) {
            // Nothing stored; PE is not reported then (as the host x87 does).
            x87Signal(f & ~FSW.pe)
            x87SetCondition(FSW.c1, false)
            return
        }
        try x87WriteMemory(i, size, bits)
        x87Signal(f)
        x87SetCondition(FSW.c1, up)
        if pop { x87Pop() }
    }

    /// FSTP m80fp: exact.
    func x87StoreExtended(_ i: Inst) throws(Fault) {
        var v = st(0)
        if x87IsEmpty(0) {
            guard x87StackUnderflow() else { return }
            v = .indefinite
        }
        try x87WriteMemory80(i, v.significand, v.signExponent)
        x87SetCondition(FSW.c1, false)
        x87Pop()
    }

    /// FST/FSTP ST(i).
    func x87StoreRegister(_ i: Int, pop: Bool) {
        if x87IsEmpty(0) {
            if x87StackUnderflow() {
                setST(i, .indefinite)
                if pop { x87Pop() }
            }
            return
        }
        setST(i, st(0))
        x87SetCondition(FSW.c1, false)
        if pop { x87Pop() }
    }

    /// FIST/FISTP (rounded per RC) and FISTTP (`truncate`) to m16/m32/m64int. NaN,
    /// infinity, unsupported or out-of-range values are #IA: masked, the integer
    /// indefinite (the most negative integer) is stored (SDM Vol. 1 §4.8.3.7).
    func x87StoreInteger(_ i: Inst, _ size: UInt8, pop: Bool, truncate: Bool = false) throws(Fault) {
        let indefinite: UInt64 = UInt64(1) << UInt64(size * 8 - 1)
        if x87IsEmpty(0) {
            if x87StackUnderflow() {
                try x87WriteMemory(i, size, indefinite)
                if pop { x87Pop() }
            }
            return
        }
        let a = st(0)
        var value = indefinite
        var flags: UInt16 = 0
        var up = false
        switch a.kind {
        case .nan, .infinity, .unsupported: flags = FSW.ie
        default:
            let m = a.roundedMagnitude(rc: truncate ? 3 : Int(fcw >> 10) & 3)
            let limit = indefinite                             // 2^(n-1)
            if m.overflow || m.magnitude > limit || (m.magnitude == limit && !a.isNegative) {
                flags = FSW.ie
            } else {
                value = a.isNegative ? 0 &- m.magnitude : m.magnitude
                if m.inexact { flags = FSW.pe; up = m.up }
            }
        }
        if flags & FSW.ie != 0 && x87Unmasked(FSW.ie) { x87Signal(flags); x87SetCondition(FSW.c1, false); return }
        let mask: UInt64 = size == 8 ? ~0 : (UInt64(1) << UInt64(size * 8)) - 1
        try x87WriteMemory(i, size, value & mask)
        x87Signal(flags)
        x87SetCondition(FSW.c1, up)
        if pop { x87Pop() }
    }

    /// FBSTP m80bcd: rounded per RC; |value| ≥ 10^18 or NaN/infinity is #IA (masked:
    /// the packed-BCD indefinite).
    func x87StoreBCD(_ i: Inst) throws(Fault) {
        var out = X87Register.bcdIndefinite
        var flags: UInt16 = 0
        var up = false
        if x87IsEmpty(0) {
            guard x87StackUnderflow() else { return }
        } else {
            let a = st(0)
            switch a.kind {
            case .nan, .infinity, .unsupported: flags = FSW.ie
            default:
                let m = a.roundedMagnitude(rc: Int(fcw >> 10) & 3)
                if m.overflow || m.magnitude > 999_999_999_999_999_999 {
                    flags = FSW.ie
                } else {
                    out = X87Register.bcd(m.magnitude, negative: a.isNegative)
                    if m.inexact { flags = FSW.pe; up = m.up }
                }
            }
            if flags & FSW.ie != 0 && x87Unmasked(FSW.ie) { x87Signal(flags); x87SetCondition(FSW.c1, false); return }
        }
        try x87WriteMemory80(i, out.low, out.high)
        x87Signal(flags)
        x87SetCondition(FSW.c1, up)
        x87Pop()
    }

    /// FXCH ST(i): an empty operand is replaced by the indefinite when IE is masked.
    func x87Exchange(_ i: Int) {
        if x87IsEmpty(0) || x87IsEmpty(i) {
            guard x87StackUnderflow() else { return }
            if x87IsEmpty(0) { setST(0, .indefinite) }
            if x87IsEmpty(i) { setST(i, .indefinite) }
        } else {
            x87SetCondition(FSW.c1, false)
        }
        let a = st(0), b = st(i)
        setST(0, b)
        setST(i, a)
    }
}
#endif
