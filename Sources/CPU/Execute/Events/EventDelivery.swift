/// Event delivery through the IVT/IDT in every mode (SDM Vol. 3A ch. 6 "Interrupt and
/// Exception Handling"; Vol. 3A §20.1.4 for real mode).
extension Processor {
    /// Delivers `e` (an exception raised by an instruction, or an injected event), handling a
    /// fault during delivery as the SDM says: serially, as a double fault (§6.15 interrupt 8,
    /// Table 6-5), or as a triple fault → shutdown. Returns a stop reason when delivery ends in
    /// shutdown or a VM exit.
    func raise(_ e: Event) -> StopReason? {
        var event = e
        // The exception bitmap is consulted for the original event and for a double fault it
        // produces; a fault met while delivering `event` is checked in the catch below, with
        // `event` recorded as the one being delivered (Vol. 3C §28.2.4).
        var checkBitmap = !injectingAtEntry
        injectingAtEntry = false
        while true {
            if nonRoot && checkBitmap, let stop = exceptionExit(event) { return stop }
            checkBitmap = true
            do throws(Fault) {
                try deliver(event)
                return nil
            } catch {
                switch error {
                case .vmExit:
                    if nonRoot { markAPICAccessDuringEventDelivery(); recordEventDuringDelivery(event) }
                    return .vmExit
                case .shutdown:
                    return enterShutdown()
                case .exception(let second):
                    if nonRoot, let stop = exceptionExit(second) {
                        recordEventDuringDelivery(event)
                        return stop
                    }
                    if event.type == .hardwareException && event.vector == Vector.df {
                        return enterShutdown()   // fault while delivering #DF: triple fault
                    }
                    if Self.makesDoubleFault(first: event, second: second) {
                        event = .exception(Vector.df, errorCode: 0)
                    } else {
                        event = second       // benign combination: handled serially
                        checkBitmap = false  // already checked above
                    }
                }
            }
        }
    }

    /// SDM Vol. 3A Table 6-5: contributory after contributory, or contributory/#PF after #PF.
    static func makesDoubleFault(first: Event, second: Event) -> Bool {
        guard first.type == .hardwareException else { return false }
        let a = Vector.exceptionClass(first.vector), b = Vector.exceptionClass(second.vector)
        switch (a, b) {
        case (.contributory, .contributory), (.pageFault, .contributory), (.pageFault, .pageFault): return true
        default: return false
        }
    }

    /// Triple fault: the processor enters the shutdown state (SDM Vol. 3A §6.15); in VMX
    /// non-root operation it is a VM exit instead (`run(vmcs:)` records it).
    func enterShutdown() -> StopReason {
        if nonRoot { return .shutdown }
        activity = .shutdown
        return .shutdown
    }

    /// Exceptions that the exception bitmap (with the #PF error-code mask/match) turns into
    /// VM exits (SDM Vol. 3C §26.2, §28.2.2 interruption information).
    func exceptionExit(_ e: Event) -> StopReason? {
        guard e.type == .hardwareException || e.type == .softwareException || e.type == .privilegedSoftwareException
        else { return nil }
        var exits = controls.exceptionBitmap & (1 << UInt32(e.vector & 31)) != 0
        if e.vector == Vector.pf && e.type == .hardwareException {
            let matches = e.errorCode & controls.pageFaultErrorCodeMask == controls.pageFaultErrorCodeMatch
            if !matches { exits.toggle() }
        }
        guard exits else { return nil }
        pendingExit = PendingExit()
        pendingExit.reason = .exceptionOrNMI
        pendingExit.interruptionInfo = InterruptionInformation(
            vector: e.vector, type: e.type, deliversErrorCode: e.hasErrorCode && e.type == .hardwareException,
            nmiUnblockingDueToIRET: nmiUnblockedByFaultingIRET && e.type == .hardwareException && e.vector != Vector.df)
        nmiUnblockedByFaultingIRET = false
        pendingExit.interruptionErrorCode = e.errorCode
        if e.vector == Vector.pf && e.type == .hardwareException { pendingExit.qualification = faultingLinearAddress }
        if e.vector == Vector.db && e.type == .hardwareException {
            // §28.2.1 Table 28-1: the #DB's own bits (with data-breakpoint matches that join
            // it); DR6 and DR7 are not updated (§28.1).
            pendingExit.qualification = (debugStatus.bits | (dataBreakpointHits & 0xF)) & 0x600F
            debugStatus = DebugExceptionStatus()
        }
        if e.type != .hardwareException { pendingExit.instructionLength = UInt32(e.instructionLength) }
        return .vmExit
    }

    /// External events (and exceptions) set EXT in error codes naming an IDT entry or selector.
    static func externalBit(_ e: Event) -> UInt32 {
        switch e.type {
        case .softwareInterrupt, .softwareException: return 0
        default: return 1
        }
    }

    /// One delivery attempt. Throws the fault that prevented delivery, leaving architectural
    /// state unchanged (every read and stack write happens before registers are committed).
    func deliver(_ e: Event) throws(Fault) {
        if e.vector == Vector.pf && e.type == .hardwareException { cr2 = faultingLinearAddress }
        let returnRIP = e.savesNextRIP ? (rip &+ UInt64(e.instructionLength)) & ripMask : rip
        switch mode {
        case .real: try deliverReal(e, returnRIP: returnRIP)
        case .long64, .compatibility: try deliverLong(e, returnRIP: returnRIP)
        case .protected, .virtual8086: try deliverProtected(e, returnRIP: returnRIP)
        }
        if e.type == .nmi { nmiBlocked = true }
        eventsDelivered &+= 1
        // Delivery wakes HLT, and an NMI the shutdown state (SDM Vol. 3A §6.15 interrupt 8:
        // shutdown ends with NMI, INIT or RESET; VMX entry can leave a guest in it, §27.7.4).
        if activity == .hlt || (activity == .shutdown && e.type == .nmi) { activity = .active }
        if nonRoot { noteEventDeliveredForMTF() }
        nmiUnblockedByFaultingIRET = false
        // The interrupted instruction's single-step trap is discarded (delivery clears TF);
        // data breakpoints still pending join a #DB being delivered now (one #DB, §18.3.1).
        singleStepPending = false
        if e.vector == Vector.db && e.type == .hardwareException { commitDebugStatus() }
        if e.vector == Vector.db && e.type != .softwareInterrupt && dataBreakpointHits != 0 {
            dr6 |= dataBreakpointHits & 0xF
            dataBreakpointHits = 0
        }
        // Delivery ends any STI/MOV-SS blocking and starts a new block of execution.
        shadowRetired = ~0
        pending |= PendingBit.modeChanged
    }

    /// Real-address mode: 4-byte IVT entries, FLAGS/CS/IP pushed (SDM Vol. 3A §20.1.4).
    func deliverReal(_ e: Event, returnRIP: UInt64) throws(Fault) {
        let entry = UInt64(e.vector) * 4
        if entry + 3 > UInt64(idtr.limit) { throw Fault.gp(UInt32(e.vector) * 8 + 2) }
        let ip = try readSystem(idtr.base &+ entry, UInt16.self)
        let cs = try readSystem(idtr.base &+ entry &+ 2, UInt16.self)
        let ss = SegmentRegisterIndex.ss.rawValue
        let sp = gpr[GPR.rsp.rawValue]
        let f = rflags
        try writeSized(ss, (sp &- 2) & 0xFFFF, 2, f & 0xFFFF)
        try writeSized(ss, (sp &- 4) & 0xFFFF, 2, UInt64(segments[SegmentRegisterIndex.cs.rawValue].selector))
        try writeSized(ss, (sp &- 6) & 0xFFFF, 2, returnRIP & 0xFFFF)
        gpr[GPR.rsp.rawValue] = (sp & ~0xFFFF) | ((sp &- 6) & 0xFFFF)
        setRFLAGS(f & ~(RFLAGS.if | RFLAGS.tf | RFLAGS.ac | RFLAGS.rf))
        realModeSegment(.cs, cs)
        rip = UInt64(ip)
    }

    /// The IDT gate for `e` with the checks common to protected and IA-32e mode
    /// (SDM Vol. 3A §6.12.1.1, §6.14.1).
    func idtGate(_ e: Event, wide: Bool) throws(Fault) -> SegmentDescriptor {
        let ext = Self.externalBit(e)
        let idtCode = UInt32(e.vector) * 8 + 2 + ext
        let size: UInt64 = wide ? 16 : 8
        let offset = UInt64(e.vector) * size
        if offset + size - 1 > UInt64(idtr.limit) { throw Fault.gp(idtCode) }
        let la = idtr.base &+ offset
        var g = SegmentDescriptor(low: try readSystem(la, UInt32.self), high: try readSystem(la &+ 4, UInt32.self))
        if wide { g.upper = try readSystem(la &+ 8, UInt32.self) }
        // 64-bit interrupt/trap gates; outside IA-32e mode also task and 16/32-bit gates.
        let validType = g.type == 0xE || g.type == 0xF || (!wide && (g.type == 0x5 || g.type == 0x6 || g.type == 0x7))
        if g.isCodeOrData || !validType { throw Fault.gp(idtCode) }
        // Software interrupts (INT n, INT3, INTO) check the gate's DPL; INT1 and hardware
        // events do not (§6.12.1.1).
        if (e.type == .softwareInterrupt || e.type == .softwareException) && g.dpl < cpl {
            throw Fault.gp(UInt32(e.vector) * 8 + 2)
        }
        if !g.present { throw Fault.np(idtCode) }
        return g
    }

    /// The handler's code segment named by a gate (§6.12.1.1: null → #GP(EXT); not code or
    /// DPL > CPL → #GP(selector + EXT); not present → #NP(selector + EXT)).
    func handlerCodeSegment(_ sel: UInt16, _ e: Event, longMode: Bool) throws(Fault) -> SegmentDescriptor {
        let ext = Self.externalBit(e)
        let s = SelectorParts(sel)
        if s.isNull { throw Fault.gp(ext) }
        let d = try fetchDescriptor(sel, fault: { Fault.gp($0 | ext) })
        if !d.isCode || d.dpl > cpl { throw Fault.gp(s.errorCode | ext) }
        if longMode && (!d.longMode || d.defaultBig) { throw Fault.gp(s.errorCode | ext) }
        if !d.present { throw Fault.np(s.errorCode | ext) }
        return d
    }

    /// The RFLAGS image pushed for `e`: fault-class exceptions push RF = 1 so the faulting
    /// instruction can restart past an instruction breakpoint (SDM Vol. 3A §18.3.1.1); traps,
    /// interrupts, #DB, NMI and the aborts #DF/#MC push RF as it was.
    static func pushedFlags(_ f: UInt64, _ e: Event) -> UInt64 {
        guard e.type == .hardwareException else { return f }
        switch e.vector {
        case Vector.db, Vector.nmi, Vector.df, Vector.mc: return f
        default: return f | RFLAGS.rf
        }
    }

    /// Whether the event pushes its error code (hardware exceptions that define one).
    static func pushesErrorCode(_ e: Event) -> Bool {
        e.hasErrorCode && e.type == .hardwareException
    }
}
