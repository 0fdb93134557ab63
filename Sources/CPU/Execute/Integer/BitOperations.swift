/// Bit test and scan instructions (SDM Vol. 2A "BT", "BTC", "BTR", "BTS", "BSF", "BSR",
/// "LZCNT", Vol. 2B "POPCNT", "TZCNT").
extension Processor {
    /// BT/BTS/BTR/BTC r/m, r: with a memory operand the bit offset is a signed value that can
    /// address beyond the operand: EA + (offset SAR log2(bits)) × size.
    func execBtRMReg(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let bits = Int64(size) * 8
        var offset = readReg(i.pointee.reg, size)
        if size < 8 { offset = UInt64(bitPattern: Int64(bitPattern: offset << (64 - UInt64(bits))) >> (64 - bits)) }
        if i.pointee.isMemory {
            let signed = Int64(bitPattern: offset)
            let unit = signed >> Int64(bits.trailingZeroBitCount)
            let ea = (effectiveAddress(i) &+ UInt64(bitPattern: unit &* Int64(size))) & Self.mask(i.pointee.addrSize)
            try bitTest(i, kind: i.pointee.sub, bit: UInt64(signed & (bits - 1)), memory: ea)
        } else {
            try bitTest(i, kind: i.pointee.sub, bit: offset & UInt64(bits - 1), memory: nil)
        }
    }

    /// BT/BTS/BTR/BTC r/m, imm8 (group 8, /4–/7): the immediate is taken modulo the width.
    func execBtRMImm(_ i: Inst) throws(Fault) {
        let r = i.pointee.modrmReg
        guard r >= 4 else { throw Fault.ud }
        let bits = UInt64(i.pointee.opSize) * 8
        let ea: UInt64? = i.pointee.isMemory ? effectiveAddress(i) : nil
        try bitTest(i, kind: r - 4, bit: i.pointee.imm & (bits - 1), memory: ea)
    }

    /// kind: 0 BT, 1 BTS, 2 BTR, 3 BTC. CF ← the bit; OF, SF, AF, PF undefined (left as they
    /// were), ZF unchanged.
    func bitTest(_ i: Inst, kind: UInt8, bit: UInt64, memory ea: UInt64?) throws(Fault) {
        let size = i.pointee.opSize
        let seg = Int(i.pointee.seg)
        var value: UInt64
        var la: UInt64 = 0
        if let ea {
            la = try linearAddress(seg, ea, Int(size), write: kind != 0)
            value = kind == 0 ? try readLinearSized(la, size) : try readLinearSizedRMW(la, size)
        } else {
            value = readReg(i.pointee.rm, size)
        }
        let mask = UInt64(1) << bit
        let cf = value & mask != 0
        switch kind {
        case 1: value |= mask
        case 2: value &= ~mask
        case 3: value ^= mask
        default: break
        }
        if kind != 0 {
            if ea != nil { try writeLinearSized(la, size, value) } else { writeReg(i.pointee.rm, size, value) }
        }
        var f = flags.value & ~RFLAGS.cf
        if cf { f |= RFLAGS.cf }
        flags.set(f)
    }

    /// BSF/BSR: a zero source sets ZF and leaves the destination unchanged (SDM: "undefined";
    /// every Intel and AMD processor keeps it); CF, OF, SF, AF, PF are left alone.
    func execBsf(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let s = try readRM(i, size)
        var f = flags.value & ~RFLAGS.zf
        if s == 0 { f |= RFLAGS.zf } else { writeReg(i.pointee.reg, size, UInt64(s.trailingZeroBitCount)) }
        flags.set(f)
    }

    func execBsr(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let s = try readRM(i, size)
        var f = flags.value & ~RFLAGS.zf
        if s == 0 { f |= RFLAGS.zf } else { writeReg(i.pointee.reg, size, UInt64(63 - s.leadingZeroBitCount)) }
        flags.set(f)
    }

    /// TZCNT/LZCNT: with BMI1/LZCNT absent the F3 prefix is ignored and they execute as BSF/BSR.
    /// CF = (source = 0), ZF = (result = 0); OF, SF, AF, PF undefined (cleared here).
    func execTzcnt(_ i: Inst) throws(Fault) {
        guard model.has(.bmi1) else { try execBsf(i); return }
        let size = i.pointee.opSize
        let s = try readRM(i, size)
        let r = s == 0 ? UInt64(size) * 8 : UInt64(s.trailingZeroBitCount)
        writeReg(i.pointee.reg, size, r)
        flags.set((s == 0 ? RFLAGS.cf : 0) | (r == 0 ? RFLAGS.zf : 0))
    }

    func execLzcnt(_ i: Inst) throws(Fault) {
        guard model.has(.lzcnt) else { try execBsr(i); return }
        let size = i.pointee.opSize
        let s = try readRM(i, size)
        let r = s == 0 ? UInt64(size) * 8 : UInt64(s.leadingZeroBitCount) - (64 - UInt64(size) * 8)
        writeReg(i.pointee.reg, size, r)
        flags.set((s == 0 ? RFLAGS.cf : 0) | (r == 0 ? RFLAGS.zf : 0))
    }

    /// POPCNT: ZF = (source = 0); the other status flags are cleared.
    func execPopcnt(_ i: Inst) throws(Fault) {
        guard model.has(.popcnt) else { throw Fault.ud }
        let size = i.pointee.opSize
        let s = try readRM(i, size)
        writeReg(i.pointee.reg, size, UInt64(s.nonzeroBitCount))
        flags.set(s == 0 ? RFLAGS.zf : 0)
    }
}
