/// Lazily evaluated arithmetic flags (CF, PF, AF, ZF, SF, OF).
///
/// Flag-producing instructions record the operation and its (size-masked) operands;
/// the six flags are computed only when read (Jcc, SETcc, CMOVcc, PUSHF, interrupts).
/// Semantics: SDM Vol. 1 §3.4.3.1 and Appendix A (EFLAGS cross-reference).
public struct LazyFlags: Sendable {
    public enum Op: UInt8, Sendable {
        /// Flags are materialized in `res` (the six status bits in RFLAGS positions).
        case none
        case add, adc, sub, sbb, logic, inc, dec
    }

    public var op: Op = .none
    /// Bit index of the sign bit: 7, 15, 31 or 63.
    public var signShift: UInt8 = 63
    public var res: UInt64 = 0
    public var a: UInt64 = 0
    public var b: UInt64 = 0
    /// Carry in for ADC/SBB; the preserved CF for INC/DEC (0 or 1).
    public var carry: UInt64 = 0

    public init() {}

    @inline(__always) static func parity(_ v: UInt64) -> Bool {
        (v & 0xFF).nonzeroBitCount & 1 == 0
    }

    @inline(__always) var cf: Bool {
        switch op {
        case .none: return res & RFLAGS.cf != 0
        case .add: return res < a
        case .adc: return carry != 0 ? res <= a : res < a
        case .sub: return a < b
        case .sbb: return carry != 0 ? a <= b : a < b
        case .logic: return false
        case .inc, .dec: return carry != 0
        }
    }

    @inline(__always) var zf: Bool {
        op == .none ? res & RFLAGS.zf != 0 : res == 0
    }

    @inline(__always) var sf: Bool {
        op == .none ? res & RFLAGS.sf != 0 : (res >> UInt64(signShift)) & 1 != 0
    }

    @inline(__always) var of: Bool {
        switch op {
        case .none: return res & RFLAGS.of != 0
        case .add, .adc, .inc: return ((a ^ res) & (b ^ res)) >> UInt64(signShift) & 1 != 0
        case .sub, .sbb, .dec: return ((a ^ b) & (a ^ res)) >> UInt64(signShift) & 1 != 0
        case .logic: return false
        }
    }

    @inline(__always) var pf: Bool {
        op == .none ? res & RFLAGS.pf != 0 : LazyFlags.parity(res)
    }

    @inline(__always) var af: Bool {
        switch op {
        case .none: return res & RFLAGS.af != 0
        case .logic: return false
        default: return (a ^ b ^ res) & 0x10 != 0
        }
    }

    /// The six status flags in their RFLAGS bit positions.
    @inline(__always) public var value: UInt64 {
        if op == .none { return res & RFLAGS.arithmetic }
        var f: UInt64 = 0
        if cf { f |= RFLAGS.cf }
        if pf { f |= RFLAGS.pf }
        if af { f |= RFLAGS.af }
        if zf { f |= RFLAGS.zf }
        if sf { f |= RFLAGS.sf }
        if of { f |= RFLAGS.of }
        return f
    }

    /// Replaces the status flags with explicit values (POPF, SAHF, IRET, shifts, ...).
    @inline(__always) public mutating func set(_ rflags: UInt64) {
        op = .none
        res = rflags & RFLAGS.arithmetic
    }

    /// Evaluates condition code `cc` (SDM Vol. 1 Appendix B, Table B-1). ZF and SF need no
    /// knowledge of the producing operation; CMP/SUB producers compare operands directly.
    @inline(__always) public func condition(_ cc: UInt8) -> Bool {
        let r: Bool
        switch cc >> 1 {
        case 2:
            r = op == .none ? res & RFLAGS.zf != 0 : res == 0
        case 4:
            r = op == .none ? res & RFLAGS.sf != 0 : (res >> UInt64(signShift)) & 1 != 0
        case 1:
            r = op == .sub ? a < b : cf
        case 3:
            r = op == .sub ? a <= b : (cf || zf)
        case 6:
            if op == .sub {
                let sh = 63 - UInt64(signShift)
                r = Int64(bitPattern: a << sh) < Int64(bitPattern: b << sh)
            } else {
                r = sf != of
            }
        case 7:
            if op == .sub {
                let sh = 63 - UInt64(signShift)
                r = Int64(bitPattern: a << sh) <= Int64(bitPattern: b << sh)
            } else {
                r = zf || (sf != of)
            }
        case 0:
            r = of
        default:
            r = pf
        }
        return r != (cc & 1 != 0)
    }
}

extension Processor {
    /// The full RFLAGS register (SDM Vol. 1 §3.4.3).
    public var rflags: UInt64 {
        get { flagsOther | flags.value }
        set { setRFLAGS(newValue) }
    }

    /// Writes RFLAGS without privilege filtering (VM entry, IRET in ring 0, interrupt
    /// delivery); the fixed bit 1 is forced and reserved bits cleared.
    public func setRFLAGS(_ value: UInt64) {
        let old = flagsOther
        flagsOther = (value & RFLAGS.writable & ~RFLAGS.arithmetic) | RFLAGS.fixed1
        flags.set(value)
        if (old ^ flagsOther) & (RFLAGS.if | RFLAGS.vm | RFLAGS.ac | RFLAGS.tf) != 0 {
            flagsChanged(old: old)
        }
    }

    public var interruptFlag: Bool { flagsOther & RFLAGS.if != 0 }
    public var directionFlag: Bool { flagsOther & RFLAGS.df != 0 }
    var cf: Bool { flags.cf }

    /// Recomputes what depends on IF, VM, AC and TF.
    func flagsChanged(old: UInt64) {
        if (old ^ flagsOther) & RFLAGS.vm != 0 { updateMode() }
        if (old ^ flagsOther) & RFLAGS.ac != 0 { updateAccessMasks() }
        pending |= PendingBit.eventWindow
    }
}
