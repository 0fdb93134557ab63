/// Read-modify-write access to the ModR/M operand for the non-hot instruction groups (shifts,
/// bit operations, atomics): the destination is checked for writing before it is read, so a
/// fault leaves everything unchanged.
extension Processor {
    /// Reads the r/m operand for modification; returns the value and, for memory, its linear
    /// address (probed for write access).
    func readForUpdate(_ i: Inst, _ size: UInt8) throws(Fault) -> (value: UInt64, la: UInt64?) {
        if !i.pointee.isMemory { return (readReg(i.pointee.rm, size), nil) }
        let la = try memoryOperandLinear(i, size, write: true)
        return (try readLinearSizedRMW(la, size), la)
    }

    func writeUpdated(_ i: Inst, _ size: UInt8, _ la: UInt64?, _ v: UInt64) throws(Fault) {
        if let la { try writeLinearSized(la, size, v) } else { writeReg(i.pointee.rm, size, v) }
    }

    /// PF: even parity of the low byte (SDM Vol. 1 §3.4.3.1).
    static func parityFlag(_ v: UInt64) -> UInt64 {
        (UInt8(truncatingIfNeeded: v).nonzeroBitCount & 1) == 0 ? RFLAGS.pf : 0
    }

    /// SF, ZF and PF of a `size`-byte result.
    static func resultFlags(_ r: UInt64, _ size: UInt8) -> UInt64 {
        let m = mask(size)
        let signBit = UInt64(1) << UInt64(size * 8 - 1)
        var f: UInt64 = parityFlag(r)
        if r & m == 0 { f |= RFLAGS.zf }
        if r & signBit != 0 { f |= RFLAGS.sf }
        return f
    }
}
