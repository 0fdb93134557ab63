/// `Processor.run(vmcs:budget:)`: one VM entry, guest execution in VMX non-root operation,
/// and the VM exit (or an L0-requested return) — the processor side of VT-x, returned to
/// Swift like Hypervisor.framework's hv_vcpu_run (SDM Vol. 3C ch. 27 "VM Entries", ch. 28
/// "VM Exits").
public enum VMRunOutcome: Equatable, Sendable {
    /// An architectural VM exit; the exit-information fields of the VMCS describe it.
    case vmExit(ExitReason)
    /// VM entry failed a control or host-state check (VMfailValid with this error); nothing
    /// was loaded.
    case entryFailed(VMInstructionError)
    /// A VMX abort (§28.7): the VM exit could not complete (e.g. a VM-exit MSR list entry
    /// failed); the indicator is also in `VMCS.abortIndicator`, and the processor is shut down.
    case vmxAbort(VMXAbortIndicator)
    /// L0 regained control without a VM exit (budget, `requestStop`, interrupt window, HLT
    /// without HLT exiting, or a guest entered in the shutdown state and still in it: `halted`
    /// means the guest activity-state field is HLT or shutdown); the guest state is saved in
    /// the VMCS to resume with.
    case budgetExhausted, stopRequested, interruptWindow, halted
}

extension Processor {
    /// The VMX capabilities this processor implements (what `run(vmcs:)` checks against).
    public var vmxCapabilities: VMXCapabilities {
        var c = VMXCapabilities()
        c.ept = model.eptFeatures
        c.physicalAddressBits = model.physicalAddressBits
        // IA32_VMX_CR4_FIXED1: the CR4 bits this processor implements, VMXE included.
        c.cr4Fixed1 = cr4Writable | CR4.vmxe
        return c
    }

    /// Enters the guest described by `vmcs`, runs up to `budget` instructions, and returns
    /// when it exits (SDM Vol. 3C §27.1–27.7, §28.1–28.5).
    public func run(vmcs v: VMCS, budget: UInt64) -> VMRunOutcome {
        let caps = vmxCapabilities
        if let (_, error) = VMEntryChecks.firstFailure(v, caps) {
            v[.vmInstructionError] = UInt64(error.rawValue)
            return .entryFailed(error)
        }
        if !tprThresholdNotAboveVTPR(v) {                 // §27.2.1.1, reads the virtual-APIC page
            v[.vmInstructionError] = UInt64(VMInstructionError.invalidControlFields.rawValue)
            return .entryFailed(.invalidControlFields)
        }
        // §27.3: guest-state checks; a failure is a VM-entry-failure exit (reason 33, bit 31).
        let entryControls = v.entryControls
        let state = guestStateArea(v)
        let context = guestStateCheckContext(v, caps)
        if let failed = GuestStateChecks.firstViolation(state, context) {
            v[.exitReason] = UInt64(ExitReason.entryFailureGuestState.rawValue) | (1 << 31)
            v[.exitQualification] = failed.qualification
            return completeEntryFailure(v, .entryFailureGuestState)
        }
        loadGuestState(state, v, entryControls)
        unpackControls(v)
        // §27.4: the VM-entry MSR-load list; a failing entry is a VM-entry failure (reason 34).
        if let failure = loadEntryMSRList(v) {
            v[.exitReason] = UInt64(ExitReason.entryFailureMSRLoading.rawValue) | (1 << 31)
            v[.exitQualification] = UInt64(failure.entryNumber)
            return completeEntryFailure(v, .entryFailureMSRLoading)
        }
        nonRoot = true
        pendingExit = PendingExit()          // exits that fill in only some fields start clean
        vmxEvents.mtfPending = false
        nmiUnblockedByFaultingIRET = false
        updateCachedMappingsOnVMEntry()
        // §27.6: event injection through the guest IDT (the exception bitmap does not apply).
        let injection = UInt32(truncatingIfNeeded: v[.entryInterruptionInformation])
        v[.entryInterruptionInformation] = UInt64(injection & ~(1 << 31))
        var stop: StopReason?
        loadPendingDebugExceptions(v, vectoring: injection & (1 << 31) != 0)
        if injection & (1 << 31) != 0 {
            let type = InterruptionType(rawValue: UInt8((injection >> 8) & 7)) ?? .external
            let e = Event(vector: UInt8(injection & 0xFF), type: type,
                          errorCode: UInt32(truncatingIfNeeded: v[.entryExceptionErrorCode]),
                          hasErrorCode: injection & (1 << 11) != 0,
                          instructionLength: UInt8(truncatingIfNeeded: v[.entryInstructionLength]))
            if type == .other {
                injectPendingMTFExit()       // §27.6.2: vector 0 (checked in §27.2.1.3)
            } else {
                injectingAtEntry = true
                stop = raise(e)
                injectingAtEntry = false
            }
        }
        // §27.7.4: a non-vectoring entry may leave the guest in the shutdown activity state;
        // that is not a triple fault (which is a VM exit, §26.2) but an inactive guest.
        let enteredShutdownState = activity == .shutdown && stop == nil
        startPreemptionTimer(v)
        armNonRootEvents(v)
        armINITAndSIPI()
        // The budget ends where the preemption timer reaches zero (VMX/Events/PreemptionTimer).
        if stop == nil { stop = run(budget: budgetWithinPreemptionTimer(budget)) }
        var outcome: VMRunOutcome
        switch stop! {
        case .vmExit:
            outcome = .vmExit(pendingExit.reason)
        case .shutdown where enteredShutdownState && activity == .shutdown:
            // Still in the shutdown state it entered in: only an NMI, INIT or the preemption
            // timer (which operates in it, §26.5.1) ends it.
            outcome = vmxEvents.timer.active ? .vmExit(preemptionTimerExitReason()) : .halted
        case .shutdown:
            // A triple fault in VMX non-root operation is a VM exit (§26.2).
            pendingExit = PendingExit()
            pendingExit.reason = .tripleFault
            outcome = .vmExit(.tripleFault)
        case .budgetExhausted:
            outcome = preemptionTimerExpired ? .vmExit(preemptionTimerExitReason()) : .budgetExhausted
        case .halted where activity == .waitForSIPI:
            // Wait-for-SIPI leaves only by a SIPI VM exit (INITAndSIPI); the timer does not
            // count in it (§26.5.1), so L0 gets the processor back when its budget is spent.
            outcome = .budgetExhausted
        case .halted:
            // The timer counts in HLT (§26.5.1); virtual time has nothing else to count while
            // the guest waits, so it expires at once.
            outcome = vmxEvents.timer.active ? .vmExit(preemptionTimerExitReason()) : .halted
        case .stopRequested: outcome = .stopRequested
        case .interruptWindow: outcome = .interruptWindow
        }
        if case .vmExit = outcome {
            recordExit(v)
            savePreemptionTimer(v)
        } else if vmxEvents.timer.active {
            // No VM exit: the timer resumes from where it stopped at the next entry.
            v[.vmxPreemptionTimerValue] = preemptionTimerValue
        }
        saveGuestState(v)
        if case .vmExit(let reason) = outcome { savePendingDebugExceptions(v, reason: reason) }
        else { savePendingDebugExceptions(v, reason: nil) }
        nonRoot = false
        updateCachedMappingsOnVMExit()
        if case .vmExit = outcome {
            // §28.4 then §28.6: the VM-exit MSR-store and MSR-load lists.
            if storeExitMSRList(v) != nil { return vmxAbort(v, .savingGuestMSRsFailed) }
            if loadExitMSRList(v) != nil { return vmxAbort(v, .loadingHostMSRsFailed) }
        }
        return outcome
    }

    // MARK: Guest state (§25.4, §27.3.2 loading, §28.3 saving)

    static let segmentFields: [(SegmentRegisterIndex, VMCSField, VMCSField, VMCSField, VMCSField)] = [
        (.es, .guestESSelector, .guestESBase, .guestESLimit, .guestESAccessRights),
        (.cs, .guestCSSelector, .guestCSBase, .guestCSLimit, .guestCSAccessRights),
        (.ss, .guestSSSelector, .guestSSBase, .guestSSLimit, .guestSSAccessRights),
        (.ds, .guestDSSelector, .guestDSBase, .guestDSLimit, .guestDSAccessRights),
        (.fs, .guestFSSelector, .guestFSBase, .guestFSLimit, .guestFSAccessRights),
        (.gs, .guestGSSelector, .guestGSBase, .guestGSLimit, .guestGSAccessRights),
    ]

    static func segment(_ v: VMCS, _ sel: VMCSField, _ base: VMCSField, _ limit: VMCSField, _ ar: VMCSField) -> GuestStateArea.Segment {
        GuestStateArea.Segment(selector: UInt16(truncatingIfNeeded: v[sel]), base: v[base],
                               limit: UInt32(truncatingIfNeeded: v[limit]), accessRights: UInt32(truncatingIfNeeded: v[ar]))
    }

    func guestStateArea(_ v: VMCS) -> GuestStateArea {
        var s = GuestStateArea()
        s.cr0 = v[.guestCR0]; s.cr3 = v[.guestCR3]; s.cr4 = v[.guestCR4]; s.dr7 = v[.guestDR7]
        s.rsp = v[.guestRSP]; s.rip = v[.guestRIP]; s.rflags = v[.guestRFLAGS]
        for (k, sel, base, limit, ar) in Self.segmentFields { s[segment: k] = Self.segment(v, sel, base, limit, ar) }
        s.ldtr = Self.segment(v, .guestLDTRSelector, .guestLDTRBase, .guestLDTRLimit, .guestLDTRAccessRights)
        s.tr = Self.segment(v, .guestTRSelector, .guestTRBase, .guestTRLimit, .guestTRAccessRights)
        s.gdtrBase = v[.guestGDTRBase]; s.gdtrLimit = UInt32(truncatingIfNeeded: v[.guestGDTRLimit])
        s.idtrBase = v[.guestIDTRBase]; s.idtrLimit = UInt32(truncatingIfNeeded: v[.guestIDTRLimit])
        s.debugCtl = v[.guestIA32DebugCtl]
        s.sysenterCS = UInt32(truncatingIfNeeded: v[.guestIA32SysenterCS])
        s.sysenterESP = v[.guestIA32SysenterESP]; s.sysenterEIP = v[.guestIA32SysenterEIP]
        s.pat = v[.guestIA32PAT]; s.efer = v[.guestIA32EFER]
        s.activityState = UInt32(truncatingIfNeeded: v[.guestActivityState])
        s.interruptibility = UInt32(truncatingIfNeeded: v[.guestInterruptibilityState])
        s.pendingDebugExceptions = v[.guestPendingDebugExceptions]
        s.vmcsLinkPointer = v[.vmcsLinkPointer]
        s.pdpte = (v[.guestPDPTE0], v[.guestPDPTE1], v[.guestPDPTE2], v[.guestPDPTE3])
        return s
    }

    func guestStateCheckContext(_ v: VMCS, _ caps: VMXCapabilities) -> GuestStateCheckContext {
        var c = GuestStateCheckContext()
        let entry = v.entryControls, secondary = v.secondary
        c.ia32eModeGuest = entry.contains(.ia32eModeGuest)
        c.loadDebugControls = entry.contains(.loadDebugControls)
        c.loadPAT = entry.contains(.loadPAT)
        c.loadEFER = entry.contains(.loadEFER)
        c.unrestrictedGuest = secondary.contains(.unrestrictedGuest)
        c.enableEPT = secondary.contains(.enableEPT)
        c.vmcsShadowing = secondary.contains(.vmcsShadowing)
        c.virtualNMIs = v.pin.contains(.virtualNMIs)
        c.entryInterruptionInfo = UInt32(truncatingIfNeeded: v[.entryInterruptionInformation])
        c.cr0Fixed0 = VMXCapabilities.cr0Fixed0
        c.cr0Fixed1 = VMXCapabilities.cr0Fixed1
        c.cr4Fixed0 = VMXCapabilities.cr4Fixed0
        c.cr4Fixed1 = caps.cr4Fixed1
        c.physicalAddressBits = model.physicalAddressBits
        c.linearAddressBits = model.linearAddressBits
        c.eferSupported = eferWritable
        c.vmcsRevision = VMXCapabilities.revisionIdentifier
        c.readPhysical32 = physicalReaders.0
        c.readPhysical64 = physicalReaders.1
        return c
    }

    /// §27.3.2: loads the checked guest state into the processor.
    func loadGuestState(_ s: GuestStateArea, _ v: VMCS, _ entry: VMEntryControls) {
        var efer = self.efer
        if entry.contains(.loadEFER) {
            efer = s.efer
        } else {
            // LMA and LME follow "IA-32e mode guest" (§27.3.2.1).
            if entry.contains(.ia32eModeGuest) { efer |= EFER.lma | EFER.lme } else { efer &= ~(EFER.lma | EFER.lme) }
        }
        cr0 = s.cr0
        cr4 = s.cr4
        cr3 = s.cr3
        self.efer = efer
        if entry.contains(.loadDebugControls) {
            dr7 = s.dr7
            msr.debugCtl = s.debugCtl
        }
        if entry.contains(.loadPAT) { msr.pat = s.pat }
        msr.sysenterCS = UInt64(s.sysenterCS)
        msr.sysenterESP = s.sysenterESP
        msr.sysenterEIP = s.sysenterEIP
        for (k, _, _, _, _) in Self.segmentFields {
            let g = s[segment: k]
            segments[k.rawValue] = SegmentRegister(selector: g.selector, base: g.base, limit: g.limit, accessRights: g.accessRights)
        }
        ldtr = SegmentRegister(selector: s.ldtr.selector, base: s.ldtr.base, limit: s.ldtr.limit, accessRights: s.ldtr.accessRights)
        tr = SegmentRegister(selector: s.tr.selector, base: s.tr.base, limit: s.tr.limit, accessRights: s.tr.accessRights)
        gdtr = DescriptorTableRegister(base: s.gdtrBase, limit: s.gdtrLimit)
        idtr = DescriptorTableRegister(base: s.idtrBase, limit: s.idtrLimit)
        gpr[GPR.rsp.rawValue] = s.rsp
        rip = s.rip
        setRFLAGS(s.rflags)
        if Self.usesPAEPaging(cr0: cr0, cr4: cr4, lma: efer & EFER.lma != 0) {
            if v.secondary.contains(.enableEPT) { pdpte = s.pdpte } else { try? loadPDPTEs(cr3: cr3) }
        }
        activity = ActivityState(rawValue: s.activityState) ?? .active
        var shadow: InterruptShadow = []
        if s.interruptibility & 1 != 0 { shadow.insert(.sti) }
        if s.interruptibility & 2 != 0 { shadow.insert(.movSS) }
        interruptShadow = shadow
        nmiBlocked = s.interruptibility & 8 != 0
        updateMode()
    }

    static let cr3TargetFields: [VMCSField] = [.cr3Target0, .cr3Target1, .cr3Target2, .cr3Target3]

    /// Unpacks the controls the instruction handlers consult (`NonRootControls`).
    func unpackControls(_ v: VMCS) {
        var c = NonRootControls()
        c.pin = v.pin
        c.primary = v.primary
        c.secondary = v.secondary
        c.exit = v.exitControls
        c.ept = c.secondary.contains(.enableEPT)
        c.eptPointer = EPTPointer(v[.eptPointer])
        c.vpid = UInt16(truncatingIfNeeded: v[.virtualProcessorIdentifier])
        c.exceptionBitmap = UInt32(truncatingIfNeeded: v[.exceptionBitmap])
        c.pageFaultErrorCodeMask = UInt32(truncatingIfNeeded: v[.pageFaultErrorCodeMask])
        c.pageFaultErrorCodeMatch = UInt32(truncatingIfNeeded: v[.pageFaultErrorCodeMatch])
        c.cr0Mask = v[.cr0GuestHostMask]; c.cr0Shadow = v[.cr0ReadShadow]
        c.cr4Mask = v[.cr4GuestHostMask]; c.cr4Shadow = v[.cr4ReadShadow]
        let count = Int(min(v[.cr3TargetCount], 4))
        // No array is built for the usual count of 0 (this runs at every entry).
        c.cr3Targets = count == 0 ? [] : Self.cr3TargetFields.prefix(count).map { v[$0] }
        c.ioBitmapA = v[.ioBitmapA]; c.ioBitmapB = v[.ioBitmapB]
        c.msrBitmaps = v[.msrBitmaps]
        c.tscOffset = v[.tscOffset]
        unpackShadowingControls(v, into: &c)
        unpackAPICVirtualizationControls(v, into: &c)
        unpackAPICAccessControls(v, into: &c)
        controls = c
        vmxEvents.virtualizedAPICWrite = nil
    }

    /// §28.2: writes the exit information recorded in `pendingExit`.
    func recordExit(_ v: VMCS) {
        let e = pendingExit
        v[.exitReason] = UInt64(e.reason.rawValue) | (e.entryFailure ? 1 << 31 : 0)
        v[.exitQualification] = e.qualification
        v[.guestLinearAddress] = e.guestLinearAddress
        v[.guestPhysicalAddress] = e.guestPhysicalAddress
        v[.exitInstructionLength] = UInt64(e.instructionLength)
        v[.exitInstructionInformation] = UInt64(e.instructionInfo)
        v[.exitInterruptionInformation] = UInt64(e.interruptionInfo)
        v[.exitInterruptionErrorCode] = UInt64(e.interruptionErrorCode)
        v[.idtVectoringInformation] = UInt64(e.idtVectoringInfo)
        v[.idtVectoringErrorCode] = UInt64(e.idtVectoringErrorCode)
    }

    /// §27.8: after a VM-entry failure during or after loading guest state (reasons 33, 34) the
    /// processor loads host state as a VM exit would, including the VM-exit MSR-load list; the
    /// guest-state area and the MSR-store list are untouched, and the injection stays valid.
    func completeEntryFailure(_ v: VMCS, _ reason: ExitReason) -> VMRunOutcome {
        nonRoot = false
        if loadExitMSRList(v) != nil { return vmxAbort(v, .loadingHostMSRsFailed) }
        return .vmExit(reason)
    }

    /// §28.3: saves the guest's state into the guest-state area.
    func saveGuestState(_ v: VMCS) {
        v[.guestCR0] = cr0; v[.guestCR3] = cr3; v[.guestCR4] = cr4; v[.guestDR7] = dr7
        v[.guestRSP] = gpr[GPR.rsp.rawValue]; v[.guestRIP] = rip; v[.guestRFLAGS] = rflags
        for (idx, sel, base, limit, ar) in Self.segmentFields {
            let s = segments[idx.rawValue]
            v[sel] = UInt64(s.selector); v[base] = s.base; v[limit] = UInt64(s.limit); v[ar] = UInt64(s.accessRights)
        }
        v[.guestLDTRSelector] = UInt64(ldtr.selector); v[.guestLDTRBase] = ldtr.base
        v[.guestLDTRLimit] = UInt64(ldtr.limit); v[.guestLDTRAccessRights] = UInt64(ldtr.accessRights)
        v[.guestTRSelector] = UInt64(tr.selector); v[.guestTRBase] = tr.base
        v[.guestTRLimit] = UInt64(tr.limit); v[.guestTRAccessRights] = UInt64(tr.accessRights)
        v[.guestGDTRBase] = gdtr.base; v[.guestGDTRLimit] = UInt64(gdtr.limit)
        v[.guestIDTRBase] = idtr.base; v[.guestIDTRLimit] = UInt64(idtr.limit)
        v[.guestIA32SysenterCS] = msr.sysenterCS; v[.guestIA32SysenterESP] = msr.sysenterESP
        v[.guestIA32SysenterEIP] = msr.sysenterEIP
        let exit = v.exitControls
        if exit.contains(.saveDebugControls) { v[.guestIA32DebugCtl] = msr.debugCtl }
        if exit.contains(.savePAT) { v[.guestIA32PAT] = msr.pat }
        if exit.contains(.saveEFER) { v[.guestIA32EFER] = efer }
        v[.guestActivityState] = UInt64(activity.rawValue)
        var interruptibility: UInt64 = 0
        let shadow = interruptShadow
        if shadow.contains(.sti) { interruptibility |= 1 }
        if shadow.contains(.movSS) { interruptibility |= 2 }
        if nmiBlocked { interruptibility |= 8 }
        v[.guestInterruptibilityState] = interruptibility
        v[.guestPDPTE0] = pdpte.0; v[.guestPDPTE1] = pdpte.1; v[.guestPDPTE2] = pdpte.2; v[.guestPDPTE3] = pdpte.3
        // §28.3: the "IA-32e mode guest" VM-entry control receives IA32_EFER.LMA, so a guest
        // that entered or left IA-32e mode is re-entered in the mode it is in.
        let ia32e = UInt64(VMEntryControls.ia32eModeGuest.rawValue)
        v[.entryControls] = efer & EFER.lma != 0 ? v[.entryControls] | ia32e : v[.entryControls] & ~ia32e
    }
}
