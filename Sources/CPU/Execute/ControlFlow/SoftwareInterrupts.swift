/// INT n, INT3, INTO, INT1 and IRET (SDM Vol. 2A "INT n/INTO/INT3/INT1", "IRET/IRETD/IRETQ").
extension Processor {
    func execIntN(_ i: Inst) throws(Fault) {
        // Virtual-8086 mode needs IOPL 3 (no VME).
        if mode == .virtual8086 && iopl < 3 { throw Fault.gp(0) }
        throw Fault.exception(Event(vector: UInt8(truncatingIfNeeded: i.pointee.imm), type: .softwareInterrupt,
                                    instructionLength: i.pointee.length))
    }

    func execInt3(_ i: Inst) throws(Fault) {
        throw Fault.exception(Event(vector: Vector.bp, type: .softwareException, instructionLength: i.pointee.length))
    }

    func execInto(_ i: Inst) throws(Fault) {
        guard flags.of else { return }
        throw Fault.exception(Event(vector: Vector.of, type: .softwareException, instructionLength: i.pointee.length))
    }

    /// INT1 (ICEBP): a #DB trap without the gate-DPL check.
    func execInt1(_ i: Inst) throws(Fault) {
        throw Fault.exception(Event(vector: Vector.db, type: .privilegedSoftwareException, instructionLength: i.pointee.length))
    }

    /// RFLAGS after IRET/POPF-style loads: which bits the current privilege may change
    /// (IOPL only at CPL 0, IF only at CPL ≤ IOPL; VM, VIF, VIP handled by the caller).
    func iretFlags(_ popped: UInt64, size: UInt8, cplBefore: Int) -> UInt64 {
        var changeable = RFLAGS.arithmetic | RFLAGS.tf | RFLAGS.df | RFLAGS.nt | RFLAGS.rf
        if size >= 4 { changeable |= RFLAGS.ac | RFLAGS.id | RFLAGS.vif | RFLAGS.vip }
        if cplBefore == 0 { changeable |= RFLAGS.iopl }
        if cplBefore <= iopl { changeable |= RFLAGS.if }
        if size == 2 { changeable &= 0xFFFF }
        let old = rflags
        return (old & ~changeable) | (popped & changeable)
    }

    func execIret(_ i: Inst) throws(Fault) {
        do throws(Fault) {
            try iretBody(i)
        } catch {
            // IRET unblocks NMIs even when it faults (SDM Vol. 3C §25.4.2 / §27.7.1); a VM exit
            // for that fault reports it in bit 12 (§28.2.2, §28.2.1 EPT-violation bit 12).
            if iretUnblocksNMIs && nmiBlocked {
                nmiBlocked = false
                if nonRoot {
                    if case .vmExit = error, pendingExit.reason == .eptViolation { pendingExit.qualification |= 1 << 12 }
                    else { nmiUnblockedByFaultingIRET = true }
                }
            }
            throw error
        }
    }

    private func iretBody(_ i: Inst) throws(Fault) {
        let size = i.pointee.opSize
        let sz = UInt64(size)
        switch mode {
        case .real:
            let ip = try peek(size: size), cs = try peek(size: size, offset: sz), f = try peek(size: size, offset: 2 * sz)
            adjustSP(3 * sz)
            realModeSegment(.cs, UInt16(truncatingIfNeeded: cs))
            nextRIP = ip & 0xFFFF_FFFF
            let mask: UInt64 = size == 2 ? 0xFFFF : (RFLAGS.writable & ~(RFLAGS.vm | RFLAGS.vif | RFLAGS.vip))
            setRFLAGS((rflags & ~mask) | (f & mask))
        case .virtual8086:
            if iopl < 3 { throw Fault.gp(0) }
            let ip = try peek(size: size), cs = try peek(size: size, offset: sz), f = try peek(size: size, offset: 2 * sz)
            adjustSP(3 * sz)
            realModeSegment(.cs, UInt16(truncatingIfNeeded: cs))
            nextRIP = ip & 0xFFFF_FFFF
            var mask = RFLAGS.writable & ~(RFLAGS.vm | RFLAGS.iopl | RFLAGS.vif | RFLAGS.vip)
            if size == 2 { mask &= 0xFFFF }
            setRFLAGS((rflags & ~mask) | (f & mask))
        case .protected, .compatibility, .long64:
            try protectedModeIret(size: size)
        }
        if iretUnblocksNMIs { nmiBlocked = false }
        if flagsOther & RFLAGS.rf != 0 { rfLoadedAtRetired = instructionsRetired &+ 1 }
        pending |= PendingBit.eventWindow
    }

    /// IRET in protected and IA-32e mode (the "PROTECTED-MODE" and "IA-32e-MODE" branches of
    /// the IRET pseudo-code). Nested-task returns (NT = 1) need task switching: #GP here.
    func protectedModeIret(size: UInt8) throws(Fault) {
        let sz = UInt64(size)
        let lma = efer & EFER.lma != 0
        if flagsOther & RFLAGS.nt != 0 {
            if lma { throw Fault.gp(0) }
            throw Fault.gp(UInt32(tr.selector & 0xFFFC))   // task return is not implemented
        }
        let newIP = try peek(size: size)
        let sel = UInt16(truncatingIfNeeded: try peek(size: size, offset: sz))
        let newFlags = try peek(size: size, offset: 2 * sz)
        if !lma && newFlags & RFLAGS.vm != 0 && cpl == 0 {
            try iretToVirtual8086(ip: newIP, cs: sel, flags: newFlags)
            return
        }
        let s = SelectorParts(sel)
        if s.isNull { throw Fault.gp(0) }
        var d = try fetchDescriptor(sel)
        if !d.isCode || s.rpl < cpl { throw Fault.gp(s.errorCode) }
        if d.isConforming ? d.dpl > s.rpl : d.dpl != s.rpl { throw Fault.gp(s.errorCode) }
        if !d.present { throw Fault.np(s.errorCode) }
        let target64 = lma && d.longMode && !d.defaultBig
        let cplBefore = cpl
        // In 64-bit mode IRET always pops SS:RSP; otherwise only on a privilege change.
        let popsStack = is64 || s.rpl > cpl
        var newSS: SegmentRegister?
        var newSP: UInt64 = 0
        if popsStack {
            newSP = try peek(size: size, offset: 3 * sz)
            let ssSel = UInt16(truncatingIfNeeded: try peek(size: size, offset: 4 * sz))
            newSS = try outerStackSegment(ssSel, cpl: s.rpl, codeIs64: target64)
        }
        var cs = d.cached(sel)
        let ip = target64 ? newIP : newIP & (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
        if target64 ? !isCanonical(ip) : ip > UInt64(cs.limit) { throw Fault.gp(0) }
        let flagsOut = iretFlags(newFlags, size: size, cplBefore: cplBefore)
        try markAccessed(&d)
        cs.accessRights |= 1
        setSegment(.cs, cs)
        if let ss = newSS {
            setSegment(.ss, ss)
            gpr[GPR.rsp.rawValue] = target64 || ss.defaultBig || is64 ? newSP : newSP & 0xFFFF
        } else {
            adjustSP(3 * sz)
        }
        setRFLAGS(flagsOut)
        nextRIP = ip
        if s.rpl > cplBefore { nullInaccessibleDataSegments() }
        updateMode()
    }

    /// IRET from CPL 0 to virtual-8086 mode: pops EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS
    /// (SDM Vol. 2B "IRET" RETURN-TO-VIRTUAL-8086-MODE).
    func iretToVirtual8086(ip: UInt64, cs: UInt16, flags f: UInt64) throws(Fault) {
        var vals: [UInt16] = []
        let sp = try peek(size: 4, offset: 12)
        for k in 4..<9 { vals.append(UInt16(truncatingIfNeeded: try peek(size: 4, offset: UInt64(4 * k)))) }
        setRFLAGS((f & RFLAGS.writable) | RFLAGS.vm)
        updateMode()
        realModeSegment(.cs, cs)
        realModeSegment(.ss, vals[0])
        realModeSegment(.es, vals[1])
        realModeSegment(.ds, vals[2])
        realModeSegment(.fs, vals[3])
        realModeSegment(.gs, vals[4])
        gpr[GPR.rsp.rawValue] = sp & 0xFFFF_FFFF
        nextRIP = ip & 0xFFFF
    }
}
