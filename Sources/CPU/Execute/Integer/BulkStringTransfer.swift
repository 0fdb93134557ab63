/// Fast paths for REP MOVS and REP STOS over RAM: whole runs within a page are moved with one
/// host memory operation instead of one interpreted iteration each. They apply only when the
/// architectural result is identical: ascending direction, flat 64-bit addressing or a
/// segment with base 0 and no limit in the way, RAM pages the TLB already grants for the
/// access, no decoded code on the destination page, and (MOVS) no overlap that a forward
/// element-by-element copy would propagate. Anything else takes the per-iteration path.
/// In VMX non-root operation (every guest of L0) the TLB's entries already combine the guest's
/// paging with EPT (permissions and A/D flags set by the access that filled them), so the same
/// rule holds; what non-root adds is left to the per-iteration path: a stop pending at the
/// boundary (the monitor trap flag's one iteration, SDM Vol. 3C §26.5.2) and L0's emulation of
/// an exited instruction. A non-root run stays within one interpreted chunk (`repChunk`), so
/// interrupts, the VMX-preemption timer and run budgets are recognised between the same
/// iterations as without the fast path (SDM Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ": a repeated
/// string operation can be suspended by an exception or interrupt between iterations).
extension Processor {
    /// Host pointer for `count` bytes at `la` if one TLB entry covers them with the access
    /// allowed (filling the entry by an ordinary access first), else nil.
    func hostRun(_ la: UInt64, _ count: UInt64, write: Bool) throws(Fault) -> UnsafeMutableRawPointer? {
        if write { try probeLinear(la, 1, currentAccess(.write)) } else { _ = try readLinear(la, UInt8.self) }
        let e = tlb.slot(la)
        guard e.pointee.tag == tlb.tag(la), (la & 0xFFF) + count <= 0x1000 else { return nil }
        let allowed = write ? accessMasks.write : accessMasks.read
        guard e.pointee.perms & allowed != 0 else { return nil }
        return UnsafeMutableRawPointer(bitPattern: e.pointee.hostDelta &+ UInt(truncatingIfNeeded: la))
    }

    /// The linear address of an offset in a segment whose fast path is a flat, in-limit view.
    func flatLinear(_ seg: Int, _ offset: UInt64, _ bytes: UInt64, write: Bool) throws(Fault) -> UInt64? {
        if is64 { return try linearAddress(seg, offset, 1, write: write) }
        let c = segmentChecks[seg]
        let end = offset &+ bytes
        guard end >= offset, end <= (write ? c.writeEnd : c.readEnd) else { return nil }
        return (segments[seg].base &+ offset) & 0xFFFF_FFFF
    }

    /// A REP MOVS/STOS the fast path may take (see above), with its element size, address-size
    /// view of the string registers and count (RCX); nil for the per-iteration path, also when
    /// fewer than 8 iterations are left.
    func bulkOperands(_ i: Inst) -> (size: UInt64, registers: StringRegisters, count: UInt64)? {
        guard i.pointee.flags & DecodedInstruction.Flags.rep != 0 && flagsOther & RFLAGS.df == 0
            && i.pointee.addrSize >= 4 && pending & (PendingBit.codeModified | PendingBit.stop) == 0 && !emulatingForL0
        else { return nil }
        let s = stringRegisters(i)
        let count = gpr[GPR.rcx.rawValue] & s.mask
        guard count >= 8 else { return nil }
        return (UInt64(i.pointee.opSize), s, count)
    }

    /// Iterations one bulk execution may perform (see above).
    var bulkChunk: UInt64 { nonRoot ? Self.repChunk : Self.repChunk * 16 }

    /// REP STOS: fills up to a page per step.
    func bulkStos(_ i: Inst) throws(Fault) -> Bool {
        guard let (size, s, initialCount) = bulkOperands(i) else { return false }
        var count = initialCount
        let value = readReg(0, i.pointee.opSize)
        let es = SegmentRegisterIndex.es.rawValue
        var done: UInt64 = 0
        while count != 0 && done < bulkChunk {
            let di = gpr[GPR.rdi.rawValue] & s.mask
            guard let la = try flatLinear(es, di, size, write: true) else { break }
            let n = min(count, (0x1000 - (la & 0xFFF)) / size, bulkChunk - done)
            guard n > 0, try flatLinear(es, di, n * size, write: true) != nil,
                  let p = try hostRun(la, n * size, write: true),
                  !memory.isCodePage(Int(tlb.slot(la).pointee.physical >> 12)) else { break }
            switch size {
            case 1: p.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: value), count: Int(n))
            case 2: p.initializeMemory(as: UInt16.self, repeating: UInt16(truncatingIfNeeded: value), count: Int(n))
            case 4: p.initializeMemory(as: UInt32.self, repeating: UInt32(truncatingIfNeeded: value), count: Int(n))
            default: p.initializeMemory(as: UInt64.self, repeating: value, count: Int(n))
            }
            count -= n
            done += n
            setStringRegister(GPR.rdi.rawValue, di &+ n * size, s)
            setStringRegister(GPR.rcx.rawValue, count, s)
        }
        return endBulk(done: done, remaining: count)
    }

    /// REP MOVS: copies up to the nearer page end of source and destination per step.
    func bulkMovs(_ i: Inst) throws(Fault) -> Bool {
        guard let (size, s, initialCount) = bulkOperands(i) else { return false }
        var count = initialCount
        let es = SegmentRegisterIndex.es.rawValue
        let src = Int(i.pointee.seg)
        var done: UInt64 = 0
        while count != 0 && done < bulkChunk {
            let si = gpr[GPR.rsi.rawValue] & s.mask, di = gpr[GPR.rdi.rawValue] & s.mask
            guard let sla = try flatLinear(src, si, size, write: false),
                  let dla = try flatLinear(es, di, size, write: true) else { break }
            let left = min(0x1000 - (sla & 0xFFF), 0x1000 - (dla & 0xFFF)) / size
            let n = min(count, left, bulkChunk - done)
            guard n > 0,
                  try flatLinear(src, si, n * size, write: false) != nil,
                  try flatLinear(es, di, n * size, write: true) != nil,
                  let sp = try hostRun(sla, n * size, write: false),
                  let dp = try hostRun(dla, n * size, write: true),
                  !memory.isCodePage(Int(tlb.slot(dla).pointee.physical >> 12)) else { break }
            // A forward element copy onto an overlapping later destination propagates data;
            // memmove would not — leave such copies to the iterative path.
            let sAddr = UInt(bitPattern: sp), dAddr = UInt(bitPattern: dp)
            if dAddr > sAddr && dAddr - sAddr < UInt(n * size) { break }
            dp.copyMemory(from: sp, byteCount: Int(n * size))
            count -= n
            done += n
            setStringRegister(GPR.rsi.rawValue, si &+ n * size, s)
            setStringRegister(GPR.rdi.rawValue, di &+ n * size, s)
            setStringRegister(GPR.rcx.rawValue, count, s)
        }
        return endBulk(done: done, remaining: count)
    }

    /// After a bulk step: the `done` iterations retire as that many instructions (the run loop
    /// counts one), and while `remaining` is not 0 RIP stays on the instruction, which resumes
    /// at the next boundary as an interrupted REP does (SDM Vol. 2B "REP" Operation). False
    /// when nothing ran: the per-iteration path takes over.
    @inline(__always)
    private func endBulk(done: UInt64, remaining: UInt64) -> Bool {
        guard done > 0 else { return false }
        instructionsRetired &+= done - 1
        if remaining != 0 { nextRIP = rip }
        return true
    }
}
