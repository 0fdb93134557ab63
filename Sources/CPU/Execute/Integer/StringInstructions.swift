/// String instructions and their repeat prefixes (SDM Vol. 2B "MOVS", "CMPS", "STOS", "LODS",
/// "SCAS", "INS", "OUTS", "REP/REPE/REPZ/REPNE/REPNZ"; Vol. 1 §7.3.9).
///
/// A repeated instruction runs a bounded number of iterations per execution and then, if the
/// count is not exhausted, leaves RIP on itself: interrupts, the run budget and VM exits are
/// recognised between chunks, and a fault on iteration k leaves RCX/RSI/RDI as after k − 1
/// iterations, exactly as the SDM's interruptible-REP rules require. Every completed
/// iteration counts as a retired instruction for the virtual clock.
extension Processor {
    /// Iterations one execution of a REP-prefixed instruction may perform.
    static let repChunk: UInt64 = 4096

    /// Address-size view of the string registers.
    struct StringRegisters {
        let mask: UInt64
        let size: UInt8
    }

    @inline(__always) func stringRegisters(_ i: Inst) -> StringRegisters {
        StringRegisters(mask: Self.mask(i.pointee.addrSize), size: i.pointee.addrSize)
    }

    /// Writes a string register (RSI, RDI, RCX) with the address size's width.
    @inline(__always) func setStringRegister(_ r: Int, _ v: UInt64, _ s: StringRegisters) {
        writeReg(UInt8(r), s.size, v & s.mask)
    }

    var stringStep: Int64 { flagsOther & RFLAGS.df != 0 ? -1 : 1 }

    /// Runs `body` once, or up to a chunk of times under REP, maintaining RCX and the
    /// restart rules. `body` performs one iteration and returns false to stop the repetition
    /// (REPE/REPNE termination).
    @inline(__always)
    func repeatString(_ i: Inst, _ body: () throws(Fault) -> Bool) throws(Fault) {
        let rep = i.pointee.flags & (DecodedInstruction.Flags.rep | DecodedInstruction.Flags.repne) != 0
        if !rep {
            _ = try body()
            return
        }
        let s = stringRegisters(i)
        var count = gpr[GPR.rcx.rawValue] & s.mask
        var done: UInt64 = 0
        var terminated = false
        while count != 0 && done < Self.repChunk {
            let more = try body()
            count = (count &- 1) & s.mask
            setStringRegister(GPR.rcx.rawValue, count, s)
            done += 1
            if !more { terminated = true; break }
            if pending & (PendingBit.codeModified | PendingBit.stop) != 0 { break }
        }
        if done > 1 { instructionsRetired &+= done - 1 }
        // Count left and not ended by the REPE/REPNE condition: execute this instruction again.
        if count != 0 && !terminated { nextRIP = rip }
    }

    /// REPE/REPNE continuation after CMPS/SCAS (only these two test ZF).
    @inline(__always) func repContinues(_ i: Inst) -> Bool {
        if i.pointee.flags & DecodedInstruction.Flags.repne != 0 { return !flags.zf }
        if i.pointee.flags & DecodedInstruction.Flags.rep != 0 { return flags.zf }
        return true
    }

    func execMovs(_ i: Inst) throws(Fault) {
        if try bulkMovs(i) { return }
        let size = i.pointee.opSize
        let s = stringRegisters(i)
        let delta = UInt64(bitPattern: stringStep * Int64(size))
        let es = SegmentRegisterIndex.es.rawValue
        try repeatString(i) { () throws(Fault) -> Bool in
            let si = gpr[GPR.rsi.rawValue] & s.mask, di = gpr[GPR.rdi.rawValue] & s.mask
            let v = try readSized(Int(i.pointee.seg), si, size)
            try writeSized(es, di, size, v)
            setStringRegister(GPR.rsi.rawValue, si &+ delta, s)
            setStringRegister(GPR.rdi.rawValue, di &+ delta, s)
            return true
        }
    }

    func execStos(_ i: Inst) throws(Fault) {
        if try bulkStos(i) { return }
        let size = i.pointee.opSize
        let s = stringRegisters(i)
        let delta = UInt64(bitPattern: stringStep * Int64(size))
        let v = readReg(0, size)
        let es = SegmentRegisterIndex.es.rawValue
        try repeatString(i) { () throws(Fault) -> Bool in
            let di = gpr[GPR.rdi.rawValue] & s.mask
            try writeSized(es, di, size, v)
            setStringRegister(GPR.rdi.rawValue, di &+ delta, s)
            return true
        }
    }

    func execLods(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let s = stringRegisters(i)
        let delta = UInt64(bitPattern: stringStep * Int64(size))
        try repeatString(i) { () throws(Fault) -> Bool in
            let si = gpr[GPR.rsi.rawValue] & s.mask
            writeReg(0, size, try readSized(Int(i.pointee.seg), si, size))
            setStringRegister(GPR.rsi.rawValue, si &+ delta, s)
            return true
        }
    }

    func execCmps(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let s = stringRegisters(i)
        let delta = UInt64(bitPattern: stringStep * Int64(size))
        let es = SegmentRegisterIndex.es.rawValue
        try repeatString(i) { () throws(Fault) -> Bool in
            let si = gpr[GPR.rsi.rawValue] & s.mask, di = gpr[GPR.rdi.rawValue] & s.mask
            let a = try readSized(Int(i.pointee.seg), si, size)
            let b = try readSized(es, di, size)
            _ = subtractForFlags(a, b, size)
            setStringRegister(GPR.rsi.rawValue, si &+ delta, s)
            setStringRegister(GPR.rdi.rawValue, di &+ delta, s)
            return repContinues(i)
        }
    }

    func execScas(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let s = stringRegisters(i)
        let delta = UInt64(bitPattern: stringStep * Int64(size))
        let es = SegmentRegisterIndex.es.rawValue
        let acc = readReg(0, size)
        try repeatString(i) { () throws(Fault) -> Bool in
            let di = gpr[GPR.rdi.rawValue] & s.mask
            let b = try readSized(es, di, size)
            _ = subtractForFlags(acc, b, size)
            setStringRegister(GPR.rdi.rawValue, di &+ delta, s)
            return repContinues(i)
        }
    }

    /// INS: port → ES:[rDI]. The destination is checked before the port is read, so a fault
    /// never loses device data.
    func execIns(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize == 1 ? 1 : (i.pointee.opSize == 2 ? 2 : 4)
        let port = UInt16(truncatingIfNeeded: gpr[GPR.rdx.rawValue])
        try checkIOPermission(port, size)
        try ioExit(i, port: port, size: size, input: true, string: true, immediate: false)
        let s = stringRegisters(i)
        let delta = UInt64(bitPattern: stringStep * Int64(size))
        let es = SegmentRegisterIndex.es.rawValue
        try repeatString(i) { () throws(Fault) -> Bool in
            let di = gpr[GPR.rdi.rawValue] & s.mask
            try probeWrite(es, di, size)
            let v = ioBus.ioRead(port: port, size: size)
            try writeSized(es, di, UInt8(size), UInt64(v))
            setStringRegister(GPR.rdi.rawValue, di &+ delta, s)
            return true
        }
    }

    /// OUTS: DS:[rSI] (segment overridable) → port.
    func execOuts(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize == 1 ? 1 : (i.pointee.opSize == 2 ? 2 : 4)
        let port = UInt16(truncatingIfNeeded: gpr[GPR.rdx.rawValue])
        try checkIOPermission(port, size)
        try ioExit(i, port: port, size: size, input: false, string: true, immediate: false)
        let s = stringRegisters(i)
        let delta = UInt64(bitPattern: stringStep * Int64(size))
        try repeatString(i) { () throws(Fault) -> Bool in
            let si = gpr[GPR.rsi.rawValue] & s.mask
            let v = try readSized(Int(i.pointee.seg), si, UInt8(size))
            ioBus.ioWrite(port: port, size: size, value: UInt32(truncatingIfNeeded: v))
            setStringRegister(GPR.rsi.rawValue, si &+ delta, s)
            return true
        }
    }
}
