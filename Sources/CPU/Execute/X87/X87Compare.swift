#if arch(x86_64) && canImport(Glibc)
/// x87 comparisons and classification: FCOM/FCOMP/FCOMPP, FUCOM/FUCOMP/FUCOMPP,
/// FICOM/FICOMP, FTST, FCOMI/FCOMIP/FUCOMI/FUCOMIP, FXAM, FCMOVcc (SDM Vol. 2A pages of
/// the same names; Vol. 1 §8.3.6–8.3.7, Table 8-6 and 8-7).
extension Processor {
    /// Orders a against b: 0 greater, 1 less, 2 equal, 3 unordered; and the exception
    /// flags: IE for an SNaN or unsupported operand, and for any NaN when `ordered`
    /// (FCOM, FICOM, FCOMI, FTST); DE for a denormal operand otherwise.
    func x87Order(_ a: X87Register, _ b: X87Register, ordered: Bool) -> (Int, UInt16) {
        let ka = a.kind, kb = b.kind
        if ka == .unsupported || kb == .unsupported { return (3, FSW.ie) }
        if ka == .nan || kb == .nan {
            let signal = ordered || a.isSignalingNaN || b.isSignalingNaN
            return (3, signal ? FSW.ie : 0)
        }
        let flags: UInt16 = (ka == .denormal || kb == .denormal) ? FSW.de : 0
        let x = a.float80, y = b.float80
        return (x > y ? 0 : (x < y ? 1 : 2), flags)
    }

    /// FCOM-family condition codes (C3 C2 C0; C1 = 0). `pops` 0–2. With an unmasked IE or
    /// DE nothing is popped, but the codes are written (unordered on stack underflow).
    func x87Compare(_ b: X87Register, other: Int, ordered: Bool, pops: Int, extra: UInt16 = 0) {
        var relation = 3
        var flags: UInt16 = 0
        if x87IsEmpty(0) || (other >= 0 && x87IsEmpty(other)) {
            let masked = x87StackUnderflow()
            x87SetConditions(FSW.c0 | FSW.c2 | FSW.c3)
            if !masked { return }
        } else {
            (relation, flags) = x87Order(st(0), other >= 0 ? st(other) : b, ordered: ordered)
            if relation != 3 { flags |= extra }
        }
        let c: UInt16
        switch relation {
        case 0: c = 0
        case 1: c = FSW.c0
        case 2: c = FSW.c3
        default: c = FSW.c0 | FSW.c2 | FSW.c3
        }
        // The condition codes are written even when the exception is unmasked (as the host
        // x87 does); only the pops are suppressed.
        let delivered = x87Deliver(flags)
        x87SetConditions(c)
        if delivered { for _ in 0..<pops { x87Pop() } }
    }

    /// FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF PF CF from the comparison, OF SF AF cleared
    /// (SDM Vol. 2A FCOMI); C1 = 0.
    func x87CompareToFlags(_ i: Int, ordered: Bool, pop: Bool) {
        var relation = 3
        if x87IsEmpty(0) || x87IsEmpty(i) {
            if !x87StackUnderflow() { return }
        } else {
            let (r, f) = x87Order(st(0), st(i), ordered: ordered)
            if !x87Deliver(f) { return }
            relation = r
            x87SetCondition(FSW.c1, false)
        }
        let v: UInt64
        switch relation {
        case 0: v = 0
        case 1: v = RFLAGS.cf
        case 2: v = RFLAGS.zf
        default: v = RFLAGS.zf | RFLAGS.pf | RFLAGS.cf
        }
        flags.set(v)
        if pop { x87Pop() }
    }

    /// FXAM (SDM Vol. 2A FXAM): C1 = sign, C3 C2 C0 = class (empty 101 regardless of the
    /// register's contents).
    func x87Examine() {
        let a = st(0)
        var c: UInt16 = a.isNegative ? FSW.c1 : 0
        if x87IsEmpty(0) {
            c |= FSW.c3 | FSW.c0
        } else {
            switch a.kind {
            case .unsupported: break
            case .nan: c |= FSW.c0
            case .normal: c |= FSW.c2
            case .infinity: c |= FSW.c2 | FSW.c0
            case .zero: c |= FSW.c3
            case .denormal: c |= FSW.c3 | FSW.c2
            }
        }
        x87SetConditions(c)
    }

    /// FCMOVcc (SDM Vol. 2A FCMOVcc): `cc` 0 B, 1 E, 2 BE, 3 U; `negate` for the NB forms.
    /// C1 changes only on stack underflow.
    func x87ConditionalMove(_ i: Int, cc: Int, negate: Bool) {
        guard x87Operands(i, indefiniteTo: 0) else { return }
        let f = flags
        var take: Bool
        switch cc {
        case 0: take = f.cf
        case 1: take = f.zf
        case 2: take = f.cf || f.zf
        default: take = f.pf
        }
        if negate { take.toggle() }
        if take { setST(0, st(i)) }
    }
}
#endif
