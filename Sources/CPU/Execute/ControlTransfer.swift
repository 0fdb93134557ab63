/// Near control transfers: JMP, CALL, RET, LOOPcc, JrCXZ (SDM Vol. 2A/2B); Jcc is
/// `conditionalBranch` in Interpreter.swift, since a taken one ends the decoded block.
extension Processor {
    /// Sets the next RIP to a near branch target: truncated to the operand size outside
    /// 64-bit mode and checked against the CS limit; canonical in 64-bit mode. A bad target
    /// faults on the branch itself (#GP(0)), before any other state changes.
    @inline(__always)
    func nearBranchTarget(_ target: UInt64, _ size: UInt8) throws(Fault) -> UInt64 {
        if is64 {
            if !isCanonical(target) { throw Fault.gp(0) }
            return target
        }
        let t = target & (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
        if t > UInt64(segments[SegmentRegisterIndex.cs.rawValue].limit) { throw Fault.gp(0) }
        return t
    }

    /// SDM Vol. 2A "JMP" rel8/rel16/rel32.
    func execJmpRel(_ i: Inst) throws(Fault) {
        nextRIP = try nearBranchTarget(nextRIP &+ i.pointee.imm, i.pointee.opSize)
    }

    /// SDM Vol. 2A "CALL" rel16/rel32.
    func execCallRel(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let target = try nearBranchTarget(nextRIP &+ i.pointee.imm, s)
        try push(nextRIP & Processor.mask(s), size: s)
        nextRIP = target
    }

    /// JMP r/m (FF /4).
    func execJmpRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        nextRIP = try nearBranchTarget(try readRM(i, s), s)
    }

    /// CALL r/m (FF /2).
    func execCallRM(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let target = try nearBranchTarget(try readRM(i, s), s)
        try push(nextRIP & Processor.mask(s), size: s)
        nextRIP = target
    }

    /// SDM Vol. 2B "RET" (near).
    func execRet(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let target = try nearBranchTarget(try peek(size: s), s)
        adjustSP(UInt64(s))
        nextRIP = target
    }

    /// RET imm16 (near): pops then releases imm16 bytes.
    func execRetImm(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let target = try nearBranchTarget(try peek(size: s), s)
        adjustSP(UInt64(s) &+ (i.pointee.imm & 0xFFFF))
        nextRIP = target
    }

    /// SDM Vol. 2B "LOOP/LOOPcc" (sub 0 LOOPNE, 1 LOOPE, 2 LOOP): the count register is
    /// CX, ECX or RCX by address size.
    func execLoop(_ i: Inst) throws(Fault) {
        let a = i.pointee.addrSize
        let count = (readReg(1, a) &- 1) & Processor.mask(a)
        var taken = count != 0
        switch i.pointee.sub {
        case 0: taken = taken && !flags.zf
        case 1: taken = taken && flags.zf
        default: break
        }
        let target = taken ? try nearBranchTarget(nextRIP &+ i.pointee.imm, i.pointee.opSize) : nextRIP
        writeReg(1, a, count)
        nextRIP = target
    }

    /// SDM Vol. 2A "JCXZ/JECXZ/JRCXZ".
    func execJrcxz(_ i: Inst) throws(Fault) {
        if readReg(1, i.pointee.addrSize) == 0 {
            nextRIP = try nearBranchTarget(nextRIP &+ i.pointee.imm, i.pointee.opSize)
        }
    }
}
