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
    /// The VMX capabilities this processor implements (what `run(vmcs:)` checks against),
    /// derived from its model.
    public var vmxCapabilities: VMXCapabilities {
        if let c = vmxCapabilitiesOfModel { return c }
        var c = VMXCapabilities()
        c.ept = model.eptFeatures
        c.physicalAddressBits = model.physicalAddressBits
        c.linearAddressBits = model.linearAddressBits
        // IA32_VMX_CR4_FIXED1: the CR4 bits this processor implements, VMXE included.
        c.cr4Fixed1 = cr4Writable | CR4.vmxe
        c.eferSupported = eferWritable
        vmxCapabilitiesOfModel = c
        return c
    }

    /// The inputs of the VM-entry checks for `v` against `caps`, with this processor's
    /// physical memory behind the checks that read it.
    public func entryCheckInput(_ v: VMCS, capabilities caps: VMXCapabilities) -> VMEntryCheckInput {
        VMEntryCheckInput(vmcs: v, capabilities: caps, readPhysical32: physicalReaders.0, readPhysical64: physicalReaders.1)
    }

    /// SDM Vol. 3C §27.2, §27.3.1 — every VM-entry check on `input` in the order VM entry
    /// performs them (controls, host state, guest state); the first failure, or nil.
    public static func firstEntryCheckFailure(_ input: VMEntryCheckInput) -> VMEntryCheckFailure? {
        VMEntryCheck.firstFailure(of: VMEntryChecks.controlAndHostRows, input) ?? GuestStateChecks.firstViolation(input)
    }

    /// Enters the guest described by `vmcs`, runs up to `budget` instructions, and returns
    /// when it exits (SDM Vol. 3C §27.1–27.7, §28.1–28.5). A failed check is also recorded in
    /// `lastEntryCheckFailure`, naming its rule, field and value.
    public func run(vmcs v: VMCS, budget: UInt64) -> VMRunOutcome {
        if entryCheckFailureRecorded { lastEntryCheckFailure = nil }
        // §27.2 then §27.3: the first failing check, from the VMCS's cached results
        // (`VMEntryCheckCache`: only rows whose fields changed run again).
        let key = CapabilitiesKey(owner: self, generation: modelGeneration)
        let unchanged = VMEntryCheckCache.unchangedSinceLastEntry(v, key: key, table: entryCheckTable)
        if unchanged && VMEntryCheckCache.verify {
            let full = Self.firstEntryCheckFailure(entryCheckInput(v, capabilities: vmxCapabilities))
            precondition(full == nil, "entry-check fast path: the full check says \(full.map { "\($0)" } ?? "")")
        }
        if !unchanged, let r = VMEntryCheckCache.firstFailingRow(v, self.vmxCapabilities, key: key, readers: self.physicalReaders) {
            let failed = entryCheckTable.failure(r, v)
            lastEntryCheckFailure = failed
            switch failed.consequence {
            case .vmFail(let error):
                v[.vmInstructionError] = UInt64(error.rawValue)
                return .entryFailed(error)
            case .invalidGuestState(let q):
                // §27.3: a VM-entry-failure exit (reason 33, bit 31).
                v.exitReasonField = ExitReasonField(.entryFailureGuestState, entryFailure: true)
                v[.exitQualification] = q
                return completeEntryFailure(v, .entryFailureGuestState)
            }
        }
        let contextUnchanged = loadForEntry(v, checked: VMEntryCheckCache.enabled)
        // §27.4: the VM-entry MSR-load list; a failing entry is a VM-entry failure (reason 34).
        if let failure = loadEntryMSRList(v) {
            v.exitReasonField = ExitReasonField(.entryFailureMSRLoading, entryFailure: true)
            v[.exitQualification] = UInt64(failure.entryNumber)
            return completeEntryFailure(v, .entryFailureMSRLoading)
        }
        nonRoot = true
        pendingExit = PendingExit()          // exits that fill in only some fields start clean
        vmxEvents.mtfPending = false
        nmiUnblockedByFaultingIRET = false
        updateCachedMappingsOnVMEntry(contextUnchanged: contextUnchanged)
        // §27.6: event injection through the guest IDT (the exception bitmap does not apply).
        let injection = v.entryInterruption
        if injection.isValid { v.entryInterruption = injection.invalidated }
        var stop: StopReason?
        // Injecting a pending MTF VM exit is not a vectoring entry (§27.6.2).
        loadPendingDebugExceptions(v, vectoring: injection.isValid && injection.type != .other)
        // §27.2.1.3 has rejected a reserved type, so a valid field is an event.
        if injection.isValid, let e = injection.event(errorCode: UInt32(truncatingIfNeeded: v[.entryExceptionErrorCode]),
                                                      instructionLength: UInt8(truncatingIfNeeded: v[.entryInstructionLength])) {
            if e.type == .other {
                injectPendingMTFExit()       // §27.6.2: vector 0 (checked in §27.2.1.3)
            } else {
                injectingAtEntry = true
                debugStatus = DebugExceptionStatus()      // an injected #DB reports nothing new in DR6
                stop = raise(e)
                injectingAtEntry = false
            }
        }
        // §27.7.4: a non-vectoring entry may leave the guest in the shutdown activity state;
        // that is not a triple fault (which is a VM exit, §26.2) but an inactive guest.
        let enteredShutdownState = activity == .shutdown && stop == nil
        if controls.pin.contains(.activateVMXPreemptionTimer) || vmxEvents.timer.active { startPreemptionTimer(v) }
        armNonRootEvents(v)
        armINITAndSIPI()
        let startElapsed = elapsedTime
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
        case .halted where vmxEvents.timer.active:
            // The timer counts in HLT (§26.5.1): the guest waits until it expires — as virtual
            // time, up to the end of L0's budget (L0's next event); then the exit, or the run
            // returns and the next one goes on waiting.
            let used = elapsedTime &- startElapsed
            let room = budget > used ? budget - used : 0
            let toTimer = vmxEvents.timer.deadline > elapsedTime ? vmxEvents.timer.deadline - elapsedTime : 0
            stallTime &+= min(toTimer, room)
            outcome = toTimer <= room ? .vmExit(preemptionTimerExitReason()) : .budgetExhausted
        case .halted:
            outcome = .halted
        case .stopRequested: outcome = .stopRequested
        case .interruptWindow: outcome = .interruptWindow
        }
        if case .vmExit = outcome {
            recordExit(v)
            if vmxEvents.timer.active { savePreemptionTimer(v) }
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
            // Host MSRs loaded over the guest's: the processor no longer holds v's state.
            if v[index: vmcsLayout.exitMSRLoadCount] != 0 { residentVMCS = nil }
            if loadExitMSRList(v) != nil { return vmxAbort(v, .loadingHostMSRsFailed) }
        }
        return outcome
    }

    /// §28.2: writes the exit information recorded in `pendingExit`.
    func recordExit(_ v: VMCS) {
        let L = vmcsLayout
        withUnsafePointer(to: &pendingExit) { p in
            let e = p.pointee
            v[index: L.exitReason] = UInt64(ExitReasonField(e.reason, entryFailure: e.entryFailure).rawValue)
            v[index: L.exitQualification] = e.qualification
            v[index: L.guestLinearAddress] = e.guestLinearAddress
            v[index: L.guestPhysicalAddress] = e.guestPhysicalAddress
            v[index: L.exitInstructionLength] = UInt64(e.instructionLength)
            v[index: L.exitInstructionInformation] = UInt64(e.instructionInfo)
            v[index: L.exitInterruptionInformation] = UInt64(e.interruptionInfo.rawValue)
            v[index: L.exitInterruptionErrorCode] = UInt64(e.interruptionErrorCode)
            v[index: L.idtVectoringInformation] = UInt64(e.idtVectoringInfo.rawValue)
            v[index: L.idtVectoringErrorCode] = UInt64(e.idtVectoringErrorCode)
        }
    }

    /// §27.8: after a VM-entry failure during or after loading guest state (reasons 33, 34) the
    /// processor loads host state as a VM exit would, including the VM-exit MSR-load list; the
    /// guest-state area and the MSR-store list are untouched, and the injection stays valid.
    func completeEntryFailure(_ v: VMCS, _ reason: ExitReason) -> VMRunOutcome {
        nonRoot = false
        residentVMCS = nil
        if loadExitMSRList(v) != nil { return vmxAbort(v, .loadingHostMSRsFailed) }
        return .vmExit(reason)
    }
}
