/// CMPXCHG, CMPXCHG8B/16B and XADD (SDM Vol. 2A "CMPXCHG", "CMPXCHG8B/CMPXCHG16B", Vol. 2C
/// "XADD"). One processor executes at a time, so LOCK's atomicity is inherent; the
/// read-modify-write access checks still apply.
extension Processor {
    /// CMPXCHG r/m, r: compares the accumulator with the destination; the destination is
    /// always written (with its own value on a mismatch), flags as CMP.
    func execCmpxchg(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let (d, la) = try readForUpdate(i, size)
        let acc = readReg(0, size)
        let equal = acc == d
        let newValue = equal ? readReg(i.pointee.reg, size) : d
        try writeUpdated(i, size, la, newValue)
        _ = subtractForFlags(acc, d, size)
        if !equal { writeReg(0, size, d) }
    }

    /// Flags of CMP a, b for a `size`-byte operand (SDM Vol. 1 §3.4.3.1).
    func subtractForFlags(_ a: UInt64, _ b: UInt64, _ size: UInt8) -> UInt64 {
        let m = Self.mask(size)
        let r = (a &- b) & m
        let signBit = UInt64(1) << UInt64(size * 8 - 1)
        var f = Self.resultFlags(r, size)
        if b & m > a & m { f |= RFLAGS.cf }
        if ((a ^ b) & (a ^ r)) & signBit != 0 { f |= RFLAGS.of }
        if (a ^ b ^ r) & 0x10 != 0 { f |= RFLAGS.af }
        flags.set(f)
        return r
    }

    /// CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W; needs CX16 and 16-byte alignment).
    func execCmpxchg8b(_ i: Inst) throws(Fault) {
        guard i.pointee.isMemory, i.pointee.modrmReg == 1 else { throw Fault.ud }
        let wide = i.pointee.flags & DecodedInstruction.Flags.rexW != 0
        let seg = Int(i.pointee.seg)
        let ea = effectiveAddress(i)
        if wide {
            guard model.has(.cx16) else { throw Fault.ud }
            let la = try linearAddress(seg, ea, 16, write: true)
            if la & 0xF != 0 { throw Fault.gp(0) }
            try probeLinear(la, 16, currentAccess(.write))
            let lo = try readLinear(la, UInt64.self), hi = try readLinear(la &+ 8, UInt64.self)
            var f = flags.value & ~RFLAGS.zf
            if lo == gpr[0] && hi == gpr[2] {
                try writeLinear(la, gpr[3]); try writeLinear(la &+ 8, gpr[1])
                f |= RFLAGS.zf
            } else {
                try writeLinear(la, lo); try writeLinear(la &+ 8, hi)
                gpr[0] = lo; gpr[2] = hi
            }
            flags.set(f)
            return
        }
        let la = try linearAddress(seg, ea, 8, write: true)
        let v = try readLinearRMW(la, UInt64.self)
        let expected = (gpr[2] & 0xFFFF_FFFF) << 32 | (gpr[0] & 0xFFFF_FFFF)
        var f = flags.value & ~RFLAGS.zf
        if v == expected {
            try writeLinear(la, (gpr[1] & 0xFFFF_FFFF) << 32 | (gpr[3] & 0xFFFF_FFFF))
            f |= RFLAGS.zf
        } else {
            try writeLinear(la, v)
            writeReg(0, 4, v & 0xFFFF_FFFF)
            writeReg(2, 4, v >> 32)
        }
        flags.set(f)
    }

    /// XADD r/m, r: destination ← sum, source ← old destination; flags as ADD.
    func execXadd(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let (d, la) = try readForUpdate(i, size)
        let s = readReg(i.pointee.reg, size)
        let m = Self.mask(size)
        let r = (d &+ s) & m
        // SRC ← DEST, then DEST ← sum (so XADD r, r leaves the sum).
        if la == nil {
            writeReg(i.pointee.reg, size, d)
            writeReg(i.pointee.rm, size, r)
        } else {
            try writeUpdated(i, size, la, r)
            writeReg(i.pointee.reg, size, d)
        }
        let signBit = UInt64(1) << UInt64(size * 8 - 1)
        var f = Self.resultFlags(r, size)
        if r < d & m || (size == 8 && r < d) { f |= RFLAGS.cf }
        if (~(d ^ s) & (d ^ r)) & signBit != 0 { f |= RFLAGS.of }
        if (d ^ s ^ r) & 0x10 != 0 { f |= RFLAGS.af }
        flags.set(f)
    }
}
