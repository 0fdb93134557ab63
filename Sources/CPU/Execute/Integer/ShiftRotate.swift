/// Shifts and rotates (SDM Vol. 2B "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD", "SHRD").
///
/// Flags follow the pseudo-code exactly where the SDM defines them. Where it says undefined,
/// this processor produces: OF computed by the count-1 formula for any non-zero count, AF = 0
/// for shifts (rotates leave AF alone), CF of SHL/SHR with a count beyond the width = 0 (the
/// bit shifted out of the extended value), SHLD/SHRD with a 16-bit count above 16 rotate the
/// 32-bit concatenation of the two operands.
extension Processor {
    func execShiftRMImm(_ i: Inst) throws(Fault) {
        try shift(i, count: i.pointee.imm)
    }

    func execShiftRMCL(_ i: Inst) throws(Fault) {
        try shift(i, count: gpr[GPR.rcx.rawValue] & 0xFF)
    }

    func shift(_ i: Inst, count raw: UInt64) throws(Fault) {
        let size = i.pointee.opSize
        // Fast path: SHL/SHR/SAR of a 32/64-bit register (the forms compilers emit most).
        let kind = i.pointee.sub & 7
        if !i.pointee.isMemory && size >= 4 && (kind == 4 || kind == 5 || kind == 7) {
            let bits: UInt64 = size == 8 ? 64 : 32
            let c = raw & (bits - 1)
            guard c != 0 else { writeReg(i.pointee.rm, size, readReg(i.pointee.rm, size)); return }
            let d = readReg(i.pointee.rm, size)
            let m: UInt64 = size == 8 ? ~0 : 0xFFFF_FFFF
            let msb = UInt64(1) << (bits - 1)
            var r: UInt64, cf: Bool, of: Bool
            switch kind {
            case 4:
                r = (d << c) & m
                cf = (d >> (bits - c)) & 1 != 0
                of = (r & msb != 0) != cf
            case 5:
                r = d >> c
                cf = (d >> (c - 1)) & 1 != 0
                of = d & msb != 0
            default:
                let sd = size == 8 ? Int64(bitPattern: d) : Int64(Int32(truncatingIfNeeded: d))
                r = UInt64(bitPattern: sd >> Int64(c)) & m
                cf = (UInt64(bitPattern: sd) >> (c - 1)) & 1 != 0
                of = false
            }
            writeReg(i.pointee.rm, size, r)
            var f = Self.parityFlag(r) | (cf ? RFLAGS.cf : 0) | (of ? RFLAGS.of : 0)
            if r == 0 { f |= RFLAGS.zf }
            if r & msb != 0 { f |= RFLAGS.sf }
            flags.set(f)
            return
        }
        let bits = UInt64(size) * 8
        let count = raw & (size == 8 ? 0x3F : 0x1F)
        let (d, la) = try readForUpdate(i, size)
        if count == 0 {
            // No flag changes; a 32-bit register destination is still written (zero-extended).
            try writeUpdated(i, size, la, d)
            return
        }
        let m = Self.mask(size)
        let msb = UInt64(1) << (bits - 1)
        var f = flags.value
        let cfIn: UInt64 = f & RFLAGS.cf
        var r: UInt64
        var cf: Bool
        var of: Bool
        switch i.pointee.sub & 7 {
        case 0: // ROL
            let c = count % bits
            r = c == 0 ? d : ((d << c) | (d >> (bits - c))) & m
            cf = r & 1 != 0
            of = (r & msb != 0) != cf
            f = (f & ~(RFLAGS.cf | RFLAGS.of)) | (cf ? RFLAGS.cf : 0) | (of ? RFLAGS.of : 0)
            try writeUpdated(i, size, la, r)
            flags.set(f)
            return
        case 1: // ROR
            let c = count % bits
            r = c == 0 ? d : ((d >> c) | (d << (bits - c))) & m
            cf = r & msb != 0
            of = (r & msb != 0) != (r & (msb >> 1) != 0)
            f = (f & ~(RFLAGS.cf | RFLAGS.of)) | (cf ? RFLAGS.cf : 0) | (of ? RFLAGS.of : 0)
            try writeUpdated(i, size, la, r)
            flags.set(f)
            return
        case 2, 3: // RCL, RCR: rotate through CF, (size + 1)-bit rotation
            let c = size <= 2 ? count % (bits + 1) : count
            r = d
            var carry = cfIn != 0
            let left = i.pointee.sub & 7 == 2
            var ofOut = false
            if !left { ofOut = (d & msb != 0) != carry }        // RCR: OF from the value before
            for _ in 0..<c {
                if left {
                    let out = r & msb != 0
                    r = ((r << 1) | (carry ? 1 : 0)) & m
                    carry = out
                } else {
                    let out = r & 1 != 0
                    r = (r >> 1) | (carry ? msb : 0)
                    carry = out
                }
            }
            if left { ofOut = (r & msb != 0) != carry }
            f = (f & ~(RFLAGS.cf | RFLAGS.of)) | (carry ? RFLAGS.cf : 0) | (ofOut ? RFLAGS.of : 0)
            try writeUpdated(i, size, la, r)
            flags.set(f)
            return
        case 4, 6: // SHL/SAL
            r = count >= 64 ? 0 : (d << count) & m
            cf = count <= bits ? (d >> (bits - count)) & 1 != 0 : false
            of = (r & msb != 0) != cf
        case 5: // SHR
            r = count >= 64 ? 0 : d >> count
            cf = count <= bits ? (d >> (count - 1)) & 1 != 0 : false
            of = d & msb != 0
        default: // SAR
            let sd = Int64(bitPattern: d << (64 - bits)) >> Int64(64 - bits)   // sign-extended
            let c = min(count, 63)
            r = UInt64(bitPattern: sd >> Int64(c)) & m
            cf = (UInt64(bitPattern: sd) >> min(c - 1, 63)) & 1 != 0
            of = false
        }
        f = Self.resultFlags(r, size) | (cf ? RFLAGS.cf : 0) | (of ? RFLAGS.of : 0)
        try writeUpdated(i, size, la, r)
        flags.set(f)
    }

    /// SHLD/SHRD r/m, r, imm8|CL (sub 0: immediate count, 1: CL).
    func execShld(_ i: Inst) throws(Fault) { try doubleShift(i, left: true) }
    func execShrd(_ i: Inst) throws(Fault) { try doubleShift(i, left: false) }

    func doubleShift(_ i: Inst, left: Bool) throws(Fault) {
        let size = i.pointee.opSize
        let bits = UInt64(size) * 8
        let raw = i.pointee.sub == 0 ? i.pointee.imm : gpr[GPR.rcx.rawValue]
        let count = raw & (size == 8 ? 0x3F : 0x1F)
        let (d, la) = try readForUpdate(i, size)
        if count == 0 {
            try writeUpdated(i, size, la, d)
            return
        }
        let s = readReg(i.pointee.reg, size)
        let m = Self.mask(size)
        let msb = UInt64(1) << (bits - 1)
        var r: UInt64, cf: Bool
        if size == 2 {
            // 16-bit: rotate the 32-bit concatenation (exact for counts ≤ 16, Intel-like above).
            let p = left ? (d << 16) | s : (s << 16) | d
            let rot = left ? ((p << count) | (p >> (32 - count))) & 0xFFFF_FFFF
                           : ((p >> count) | (p << (32 - count))) & 0xFFFF_FFFF
            r = left ? rot >> 16 : rot & 0xFFFF
            cf = left ? (p >> (32 - count)) & 1 != 0 : (p >> (count - 1)) & 1 != 0
        } else if left {
            r = ((d << count) | (s >> (bits - count))) & m
            cf = (d >> (bits - count)) & 1 != 0
        } else {
            r = ((d >> count) | (s << (bits - count))) & m
            cf = (d >> (count - 1)) & 1 != 0
        }
        let of = (r & msb) != (d & msb)
        let f = Self.resultFlags(r, size) | (cf ? RFLAGS.cf : 0) | (of ? RFLAGS.of : 0)
        try writeUpdated(i, size, la, r)
        flags.set(f)
    }
}
