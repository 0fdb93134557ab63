/// Instructions that load or store segment registers (SDM Vol. 2A/2B "MOV" (Sreg forms),
/// "PUSH", "POP", "LDS/LES/LFS/LGS/LSS").
extension Processor {
    static func segmentIndex(_ n: UInt8) -> SegmentRegisterIndex? {
        SegmentRegisterIndex(rawValue: Int(n))
    }

    /// MOV Sreg, r/m16. MOV to CS is #UD; MOV to SS inhibits interrupts for one instruction.
    func execMovSregRM(_ i: Inst) throws(Fault) {
        guard let index = Self.segmentIndex(i.pointee.reg & 7), index != .cs else { throw Fault.ud }
        let sel = UInt16(truncatingIfNeeded: try readRM(i, 2))
        try loadDataSegment(index, sel)
        if index == .ss { setShadowAfterThisInstruction(.movSS) }
    }

    /// MOV r/m, Sreg: a 16-bit store to memory; a register destination is zero-extended to
    /// the operand size (SDM: 32/64-bit forms zero the upper bits on current processors).
    func execMovRMSreg(_ i: Inst) throws(Fault) {
        guard let index = Self.segmentIndex(i.pointee.reg & 7) else { throw Fault.ud }
        let sel = UInt64(segments[index.rawValue].selector)
        if i.pointee.isMemory { try writeRM(i, 2, sel) }
        else { writeReg(i.pointee.rm, i.pointee.opSize, sel) }
    }

    /// PUSH Sreg: pushes the selector with the operand size (a 32/64-bit push may write only
    /// 16 bits on some processors; writing the zero-extended value is the other allowed form).
    func execPushSreg(_ i: Inst) throws(Fault) {
        guard let index = Self.segmentIndex(i.pointee.sub) else { throw Fault.ud }
        try push(UInt64(segments[index.rawValue].selector), size: i.pointee.opSize)
    }

    /// POP Sreg (POP CS does not exist). POP SS inhibits interrupts for one instruction.
    func execPopSreg(_ i: Inst) throws(Fault) {
        guard let index = Self.segmentIndex(i.pointee.sub), index != .cs else { throw Fault.ud }
        let v = try peek(size: i.pointee.opSize)
        try loadDataSegment(index, UInt16(truncatingIfNeeded: v))
        adjustSP(UInt64(i.pointee.opSize))
        if index == .ss { setShadowAfterThisInstruction(.movSS) }
    }

    /// LDS/LES/LFS/LGS/LSS r, m16:16/32/64: offset then selector; the segment load's checks
    /// come before the register is written.
    func execLoadFarPointer(_ i: Inst) throws(Fault) {
        guard i.pointee.isMemory, let index = Self.segmentIndex(i.pointee.sub) else { throw Fault.ud }
        let size = i.pointee.opSize
        let ea = effectiveAddress(i)
        let seg = Int(i.pointee.seg)
        let offset = try readSized(seg, ea, size)
        let sel = try read(seg, ea &+ UInt64(size), UInt16.self)
        try loadDataSegment(index, sel)
        writeReg(i.pointee.reg, size, offset)
        if index == .ss { setShadowAfterThisInstruction(.movSS) }
    }
}
