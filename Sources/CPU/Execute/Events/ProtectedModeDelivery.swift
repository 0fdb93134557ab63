/// Delivery through 8-byte IDT gates in protected and virtual-8086 mode (SDM Vol. 3A §6.12.1
/// "Exception- or Interrupt-Handler Procedures", Figure 6-4 stack usage; §20.3.1.1 for
/// interrupts from virtual-8086 mode).
extension Processor {
    /// The inner-level stack for privilege level `dpl` from the current TSS (§7.2.1 Figure 7-2
    /// for a 32-bit TSS, Figure 7-11 for a 16-bit TSS). Faults are #TS(TSS selector + EXT).
    func innerStackFromTSS(_ dpl: Int, ext: UInt32) throws(Fault) -> (ss: UInt16, sp: UInt64) {
        let tssCode = UInt32(tr.selector & 0xFFFC) | ext
        let is32 = tr.type & 8 != 0
        let off = is32 ? UInt64(4 + 8 * dpl) : UInt64(2 + 4 * dpl)
        let width: UInt64 = is32 ? 6 : 4
        if off + width - 1 > UInt64(tr.limit) { throw Fault.ts(tssCode) }
        if is32 {
            let sp = try readSystem(tr.base &+ off, UInt32.self)
            let ss = try readSystem(tr.base &+ off &+ 4, UInt16.self)
            return (ss, UInt64(sp))
        }
        let sp = try readSystem(tr.base &+ off, UInt16.self)
        let ss = try readSystem(tr.base &+ off &+ 2, UInt16.self)
        return (ss, UInt64(sp))
    }

    /// Validates the stack segment a privilege change loads (§6.12.1.1: #TS(SS + EXT) unless
    /// RPL = DPL = new CPL and it is a writable data segment; #SS(SS + EXT) if not present).
    func innerStackSegment(_ sel: UInt16, cpl newCPL: Int, ext: UInt32) throws(Fault) -> SegmentDescriptor {
        let s = SelectorParts(sel)
        if s.isNull { throw Fault.ts(ext) }
        let d = try fetchDescriptor(sel, fault: { Fault.ts($0 | ext) })
        if s.rpl != newCPL || d.dpl != newCPL || !d.isCodeOrData || !d.writable { throw Fault.ts(s.errorCode | ext) }
        if !d.present { throw Fault.ss(s.errorCode | ext) }
        return d
    }

    /// Writes `values` below `top` on a stack described by `ss` (expand-up or expand-down
    /// limit checks, §5.3), returning the new stack pointer. #SS(code) when a slot is outside
    /// the segment.
    func pushFrame(_ values: [UInt64], size: UInt64, ss: SegmentRegister, top: UInt64, big: Bool,
                   user: Bool, fault: UInt32) throws(Fault) -> UInt64 {
        let mask: UInt64 = big ? 0xFFFF_FFFF : 0xFFFF
        var sp = top
        var slots: [(UInt64, UInt64)] = []
        for v in values {
            sp = (sp &- size) & mask
            let last = sp &+ size &- 1
            let inside: Bool
            if ss.isExpandDown {
                inside = sp > UInt64(ss.limit) && last <= mask
            } else {
                inside = last <= UInt64(ss.limit)
            }
            if !inside { throw Fault.ss(fault) }
            slots.append(((ss.base &+ sp) & 0xFFFF_FFFF, v))
        }
        // Probe every slot before writing any, so a #PF leaves memory unchanged.
        for (la, _) in slots { try probeLinear(la, Int(size), AccessType.write.user(user)) }
        for (la, v) in slots {
            if size == 4 { try writeLinearAs(la, UInt32(truncatingIfNeeded: v), user: user) }
            else { try writeLinearAs(la, UInt16(truncatingIfNeeded: v), user: user) }
        }
        return sp
    }

    func deliverProtected(_ e: Event, returnRIP: UInt64) throws(Fault) {
        let ext = Self.externalBit(e)
        // Software interrupts in virtual-8086 mode need IOPL 3 (without VME, §20.3.3).
        if mode == .virtual8086 && e.type == .softwareInterrupt && iopl < 3 { throw Fault.gp(0) }
        let gate = try idtGate(e, wide: false)
        if gate.type == 0x5 {
            // Task gates need a task switch, which this processor does not implement.
            throw Fault.gp(UInt32(e.vector) * 8 + 2 + ext)
        }
        let gate32 = gate.type & 8 != 0
        let size: UInt64 = gate32 ? 4 : 2
        let isInterruptGate = gate.type & 1 == 0
        var code = try handlerCodeSegment(gate.gateSelector, e, longMode: false)
        let oldFlags = rflags
        let oldCS = segments[SegmentRegisterIndex.cs.rawValue]
        let oldSS = segments[SegmentRegisterIndex.ss.rawValue]
        let oldSP = gpr[GPR.rsp.rawValue]
        let newCPL = code.isConforming ? cpl : code.dpl
        var frame: [UInt64] = []
        var stack = oldSS
        var top = oldSP
        var newSS: SegmentDescriptor?
        var newSSSel: UInt16 = 0
        if mode == .virtual8086 {
            // From virtual-8086 mode only to a ring-0 non-conforming handler (§20.3.1.1).
            if code.isConforming || code.dpl != 0 { throw Fault.gp(UInt32(gate.gateSelector & 0xFFFC) | ext) }
        }
        if newCPL < cpl || mode == .virtual8086 {
            let (ssSel, sp) = try innerStackFromTSS(newCPL, ext: ext)
            let d = try innerStackSegment(ssSel, cpl: newCPL, ext: ext)
            newSS = d
            newSSSel = ssSel
            stack = d.cached(ssSel)
            top = sp
            if mode == .virtual8086 {
                for idx in [SegmentRegisterIndex.gs, .fs, .ds, .es] {
                    frame.append(UInt64(segments[idx.rawValue].selector))
                }
            }
            frame += [UInt64(oldSS.selector), oldSP & (oldSS.defaultBig ? 0xFFFF_FFFF : 0xFFFF)]
        }
        frame += [Self.pushedFlags(oldFlags, e), UInt64(oldCS.selector), returnRIP]
        if Self.pushesErrorCode(e) { frame.append(UInt64(e.errorCode)) }
        let fault = newSS != nil ? UInt32(newSSSel & 0xFFFC) | ext : ext
        let sp = try pushFrame(frame, size: size, ss: stack, top: top, big: stack.defaultBig,
                               user: newCPL == 3, fault: fault)
        // Commit.
        try markAccessed(&code)
        if let d = newSS {
            var ssDesc = d
            try markAccessed(&ssDesc)
            setSegment(.ss, ssDesc.cached(newSSSel))
        }
        if mode == .virtual8086 {
            for idx in [SegmentRegisterIndex.gs, .fs, .ds, .es] { segments[idx.rawValue] = nullSegment(0) }
            systemStateEpoch &+= 1
        }
        var flagsOut = oldFlags & ~(RFLAGS.tf | RFLAGS.nt | RFLAGS.rf | RFLAGS.vm)
        if isInterruptGate { flagsOut &= ~RFLAGS.if }
        setRFLAGS(flagsOut)
        let csSel = (gate.gateSelector & 0xFFFC) | UInt16(newCPL)
        var csCache = code.cached(csSel)
        csCache.selector = csSel
        setSegment(.cs, csCache)
        gpr[GPR.rsp.rawValue] = stack.defaultBig ? sp : (gpr[GPR.rsp.rawValue] & ~0xFFFF) | sp
        if newSS != nil && !stack.defaultBig { gpr[GPR.rsp.rawValue] = sp }
        rip = gate32 ? gate.gateOffset & 0xFFFF_FFFF : gate.gateOffset & 0xFFFF
        updateMode()
    }
}
