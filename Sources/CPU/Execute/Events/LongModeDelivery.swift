/// Delivery through 16-byte IDT gates in IA-32e mode (SDM Vol. 3A §6.14 "Exception and
/// Interrupt Handling in 64-bit Mode": 64-bit frame with SS:RSP always pushed, RSP aligned to
/// 16 bytes, interrupt-stack table, null SS on a privilege change).
extension Processor {
    /// RSPn or ISTn from the 64-bit TSS (§7.7, Figure 7-11). Faults are #TS(TSS + EXT).
    func stackFrom64BitTSS(offset: UInt64, ext: UInt32) throws(Fault) -> UInt64 {
        if offset + 7 > UInt64(tr.limit) { throw Fault.ts(UInt32(tr.selector & 0xFFFC) | ext) }
        return try readSystem(tr.base &+ offset, UInt64.self)
    }

    func deliverLong(_ e: Event, returnRIP: UInt64) throws(Fault) {
        let ext = Self.externalBit(e)
        let gate = try idtGate(e, wide: true)
        var code = try handlerCodeSegment(gate.gateSelector, e, longMode: true)
        let newCPL = code.isConforming ? cpl : code.dpl
        let oldFlags = rflags
        let oldSS = segments[SegmentRegisterIndex.ss.rawValue]
        let oldSP = gpr[GPR.rsp.rawValue]
        var sp = oldSP
        let privilegeChange = newCPL < cpl
        if gate.ist != 0 {
            sp = try stackFrom64BitTSS(offset: 0x24 + 8 * UInt64(gate.ist - 1), ext: ext)
        } else if privilegeChange {
            sp = try stackFrom64BitTSS(offset: 4 + 8 * UInt64(newCPL), ext: ext)
        }
        sp &= ~0xF
        // SS, RSP, RFLAGS, CS, RIP [, error code], from the top down.
        let errorCode = Self.pushesErrorCode(e)
        let bottom = sp &- (errorCode ? 48 : 40)
        if !isCanonical(bottom) || !isCanonical(sp &- 1) { throw Fault.ss(ext) }
        let user = newCPL == 3
        // Every slot is checked before anything is written. The slots are 8-byte aligned
        // (RSP is 16-aligned), so they lie on at most two pages and all slots of a page fault
        // alike: probing the top slot, then the bottom one if on another page, raises what
        // probing each slot from the top would.
        try probeLinear(sp &- 8, 8, AccessType.write.user(user))
        if (bottom ^ (sp &- 8)) & ~0xFFF != 0 { try probeLinear(bottom, 8, AccessType.write.user(user)) }
        try writeLinearAs(sp &- 8, UInt64(oldSS.selector), user: user)
        try writeLinearAs(sp &- 16, oldSP, user: user)
        try writeLinearAs(sp &- 24, Self.pushedFlags(oldFlags, e), user: user)
        try writeLinearAs(sp &- 32, UInt64(segments[SegmentRegisterIndex.cs.rawValue].selector), user: user)
        try writeLinearAs(sp &- 40, returnRIP, user: user)
        if errorCode { try writeLinearAs(sp &- 48, UInt64(e.errorCode), user: user) }
        // Commit.
        try markAccessed(&code)
        if privilegeChange {
            // A null SS with RPL = new CPL (§6.14.4).
            setSegment(.ss, nullSegment(UInt16(newCPL), keepDPL: newCPL))
        }
        var flagsOut = oldFlags & ~(RFLAGS.tf | RFLAGS.nt | RFLAGS.rf | RFLAGS.vm)
        if gate.type == 0xE { flagsOut &= ~RFLAGS.if }
        setRFLAGS(flagsOut)
        let csSel = (gate.gateSelector & 0xFFFC) | UInt16(newCPL)
        var cs = code.cached(csSel)
        cs.selector = csSel
        setSegment(.cs, cs)
        gpr[GPR.rsp.rawValue] = bottom
        rip = gate.gateOffset
        updateMode()
    }
}
