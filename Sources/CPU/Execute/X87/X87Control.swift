#if arch(x86_64) && canImport(Glibc)
/// x87 control instructions: FNINIT, FLDCW, FNSTCW, FNSTSW, FNCLEX, FNSTENV, FLDENV,
/// FNSAVE, FRSTOR, FFREE, FFREEP, FINCSTP, FDECSTP, FNOP (SDM Vol. 2A pages of the same
/// names; Vol. 1 §8.1.10 for the environment and state images, Figures 8-9 to 8-12).
extension Processor {
    /// FNINIT (SDM Vol. 2A FINIT/FNINIT): FCW 037FH, FSW 0, tags empty, pointers 0.
    func x87Init() { extended.control = X87Control.initialized }

    /// FLDCW: reserved bits 15:13 and 7 read as 0, bit 6 as 1 (SDM Vol. 1 Figure 8-6).
    func x87LoadControlWord(_ v: UInt16) {
        extended.control.control = (v & 0x1F3F) | 0x0040
        x87UpdateSummary()
    }

    /// FNCLEX: clears PE UE OE ZE DE IE, SF, ES and B.
    func x87ClearExceptions() { extended.control.status &= ~(FSW.exceptions | FSW.sf | FSW.es | FSW.busy) }

    /// The tag word as FNSTENV/FNSAVE store it: empty registers 11, the others classified
    /// from their contents (SDM Vol. 1 §8.1.7).
    func x87TagWord() -> UInt16 {
        var t: UInt16 = 0
        for p in 0..<8 {
            let tag = x87Tag(physical: p) == 3 ? 3 : extended.x87[p].tag
            t |= tag << UInt16(2 * p)
        }
        return t
    }

    /// Whether the real-address-mode layouts apply (real mode and virtual-8086 mode).
    private var x87RealFormat: Bool { mode == .real || mode == .virtual8086 }

    /// Stores the environment (14 bytes for a 16-bit operand size, else 28) at `la`; the
    /// reserved upper halves of the 32-bit layout are written as FFFFH.
    func x87StoreEnvironment(_ la: UInt64, size16: Bool) throws(Fault) {
        let c = extended.control
        let fop = UInt32(c.opcode & 0x7FF)
        let fip = UInt32(truncatingIfNeeded: c.instructionPointer)
        let fdp = UInt32(truncatingIfNeeded: c.dataPointer)
        let real = x87RealFormat
        let ipLinear = real ? (UInt32(c.instructionSelector) << 4) &+ fip : fip
        let dpLinear = real ? (UInt32(c.dataSelector) << 4) &+ fdp : fdp
        func put(_ k: Int, _ v: UInt32) throws(Fault) {
            if size16 { try writeLinear(la &+ UInt64(2 * k), UInt16(truncatingIfNeeded: v)) }
            else { try writeLinear(la &+ UInt64(4 * k), v) }
        }
        let hi: UInt32 = 0xFFFF_0000
        try put(0, hi | UInt32(c.control))
        try put(1, hi | UInt32(c.statusWord))
        try put(2, hi | UInt32(x87TagWord()))
        if real {
            try put(3, hi | (ipLinear & 0xFFFF))
            try put(4, size16 ? ((ipLinear >> 16) & 0xF) << 12 | fop : ((ipLinear >> 16) << 12) | fop)
            try put(5, hi | (dpLinear & 0xFFFF))
            try put(6, size16 ? ((dpLinear >> 16) & 0xF) << 12 : (dpLinear >> 16) << 12)
        } else if size16 {
            try put(3, fip); try put(4, UInt32(c.instructionSelector))
            try put(5, fdp); try put(6, UInt32(c.dataSelector))
        } else {
            try put(3, fip); try put(4, (fop << 16) | UInt32(c.instructionSelector))
            try put(5, fdp); try put(6, hi | UInt32(c.dataSelector))
        }
    }

    /// Loads the environment from `la` (layout as `x87StoreEnvironment`). Tags of non-empty
    /// registers are re-derived from the contents.
    func x87LoadEnvironment(_ la: UInt64, size16: Bool) throws(Fault) {
        func get(_ k: Int) throws(Fault) -> UInt32 {
            size16 ? UInt32(try readLinear(la &+ UInt64(2 * k), UInt16.self)) : try readLinear(la &+ UInt64(4 * k), UInt32.self)
        }
        var c = X87Control()
        c.control = UInt16(truncatingIfNeeded: try get(0))
        c.status = UInt16(truncatingIfNeeded: try get(1))
        c.tags = UInt16(truncatingIfNeeded: try get(2))
        let d3 = try get(3), d4 = try get(4), d5 = try get(5), d6 = try get(6)
        if x87RealFormat {
            let upper: UInt32 = size16 ? 0xF : 0xFFFF
            c.instructionPointer = UInt64(d3 & 0xFFFF) | (UInt64((d4 >> 12) & upper) << 16)
            c.opcode = UInt16(d4 & 0x7FF)
            c.dataPointer = UInt64(d5 & 0xFFFF) | (UInt64((d6 >> 12) & upper) << 16)
        } else {
            c.instructionPointer = UInt64(size16 ? d3 & 0xFFFF : d3)
            c.instructionSelector = UInt16(truncatingIfNeeded: d4)
            if !size16 { c.opcode = UInt16((d4 >> 16) & 0x7FF) }
            c.dataPointer = UInt64(size16 ? d5 & 0xFFFF : d5)
            c.dataSelector = UInt16(truncatingIfNeeded: d6)
        }
        c.top = UInt8((c.status >> 11) & 7)
        c.status &= ~0x3800
        c.control = (c.control & 0x1F3F) | 0x0040
        extended.control = c
        x87RetagNonEmpty()
        x87UpdateSummary()
    }

    /// Recomputes the tags of the non-empty registers from their contents.
    func x87RetagNonEmpty() {
        for p in 0..<8 where x87Tag(physical: p) != 3 { x87SetTag(physical: p, extended.x87[p].tag) }
    }

    /// Linear address of the memory operand for an environment/state image of `size` bytes.
    private func x87ImageAddress(_ i: Inst, _ size: Int, write: Bool) throws(Fault) -> UInt64 {
        let la = try linearAddress(Int(i.pointee.seg), effectiveAddress(i), size, write: write)
        try probeLinear(la, size, currentAccess(write ? .write : .read))
        return la
    }

    /// FNSTENV: stores the environment, then masks all exceptions (SDM Vol. 2A FSTENV).
    func x87Fnstenv(_ i: Inst) throws(Fault) {
        let size16 = i.pointee.opSize == 2
        let la = try x87ImageAddress(i, size16 ? 14 : 28, write: true)
        try x87StoreEnvironment(la, size16: size16)
        extended.control.control |= FSW.exceptions
    }

    /// FLDENV.
    func x87Fldenv(_ i: Inst) throws(Fault) {
        let size16 = i.pointee.opSize == 2
        let la = try x87ImageAddress(i, size16 ? 14 : 28, write: false)
        try x87LoadEnvironment(la, size16: size16)
    }

    /// FNSAVE: environment + ST(0)–ST(7) (10 bytes each), then FNINIT (SDM Vol. 2A FSAVE).
    func x87Fnsave(_ i: Inst) throws(Fault) {
        let size16 = i.pointee.opSize == 2
        let env = size16 ? 14 : 28
        let la = try x87ImageAddress(i, env + 80, write: true)
        try x87StoreEnvironment(la, size16: size16)
        for k in 0..<8 {
            let r = st(k)
            let a = la &+ UInt64(env + 10 * k)
            try writeLinear(a, r.significand)
            try writeLinear(a &+ 8, r.signExponent)
        }
        x87Init()
    }

    /// FRSTOR.
    func x87Frstor(_ i: Inst) throws(Fault) {
        let size16 = i.pointee.opSize == 2
        let env = size16 ? 14 : 28
        let la = try x87ImageAddress(i, env + 80, write: false)
        try x87LoadEnvironment(la, size16: size16)
        for k in 0..<8 {
            let a = la &+ UInt64(env + 10 * k)
            extended.x87[x87Physical(k)] = X87Register(significand: try readLinear(a, UInt64.self),
                                                       signExponent: try readLinear(a &+ 8, UInt16.self))
        }
        x87RetagNonEmpty()
    }

    /// FFREE ST(i) (and FFREEP: then pop). C0–C3 are undefined (SDM); C1 is cleared, as
    /// the host x87 of the differential test does.
    func x87Free(_ i: Int, pop: Bool) {
        x87SetTag(physical: x87Physical(i), 3)
        x87SetCondition(FSW.c1, false)
        if pop { extended.control.top = (extended.control.top &+ 1) & 7 }
    }

    /// FINCSTP / FDECSTP: TOP ± 1, tags unchanged, C1 = 0.
    func x87RotateTop(_ delta: Int) {
        extended.control.top = UInt8((Int(extended.control.top) + delta) & 7)
        x87SetCondition(FSW.c1, false)
    }
}
#endif
