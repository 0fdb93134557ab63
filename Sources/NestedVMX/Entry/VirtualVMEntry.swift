import CPU

/// Virtual VM entry: L1's VMLAUNCH/VMRESUME (SDM Vol. 3C ch. 31 "VMLAUNCH/VMRESUME", ch. 27
/// "VM Entries"), as the list of steps the SDM performs, on vmcs12 against the capabilities
/// offered to L1 — with the processor's own check rows, so each rule has one owner.
extension VirtualVMX {

    var l1Readers: GuestStateCheckContext.Readers {
        let l1 = self.l1
        return ({ l1.load(UInt32.self, at: $0) }, { l1.load(UInt64.self, at: $0) })
    }

    /// The first failing entry check of `rows` on vmcs12 `v`, from its cached results (only
    /// rows whose fields L1 changed run again: `VMEntryCheckCache`).
    func firstEntryCheckFailure(_ v: VMCS, _ rows: VMEntryCheckCache.Rows) -> VMEntryCheckFailure? {
        VMEntryCheckCache.firstFailure(v, rows, capabilities: capabilities, key: CapabilitiesKey(owner: nested),
                                       readers: l1Readers)
    }

    /// VMLAUNCH/VMRESUME up to the point of VM entry (ch. 31 Operation, §27.1, §27.2): a shadow
    /// VMCS cannot be entered (VMfailInvalid, §25.10); MOV-SS blocking (VMfail 26); launch
    /// state (VMfail 4/5); the control and host-state checks on vmcs12 (VMfail 7/8), and
    /// "host address-space size" against L1's IA32_EFER.LMA (§27.2.4).
    public func vmentry(launch: Bool, blockedByMOVSS: Bool) -> VMXRootResult {
        let name = launch ? "VMLAUNCH" : "VMRESUME"
        guard let v12 = current, !v12.isShadow else {
            nested.note("\(name): VMfailInvalid — the current VMCS is a shadow VMCS (SDM Vol. 3C §25.10)")
            return .failInvalid
        }
        if blockedByMOVSS {
            nested.note("\(name): VMfail 26 — events are blocked by MOV SS")
            return .fail(.entryWithEventsBlockedByMOVSS)
        }
        if launch && v12.vmcs.launched {
            nested.note("VMLAUNCH: VMfail 4 — the launch state of VMCS 0x\(hex(v12.address)) is launched (VMCLEAR makes it clear)")
            return .fail(.vmlaunchNonClearVMCS)
        }
        if !launch && !v12.vmcs.launched {
            nested.note("VMRESUME: VMfail 5 — the launch state of VMCS 0x\(hex(v12.address)) is clear (VMLAUNCH first)")
            return .fail(.vmresumeNonLaunchedVMCS)
        }
        if let f = firstEntryCheckFailure(v12.vmcs, .controlAndHost), case .vmFail(let e) = f.consequence {
            nested.note("\(name): \(f)")
            return .fail(e)
        }
        let host64 = v12.vmcs.exitControls.contains(.hostAddressSpaceSize)
        if host64 != l1InIA32eMode {
            nested.note("\(name): VMfailValid 8 (VM entry with invalid host-state field(s)) — \"host address-space size\" = \(host64 ? 1 : 0) but L1's IA32_EFER.LMA = \(l1InIA32eMode ? 1 : 0) (SDM Vol. 3C §27.2.4)")
            return .fail(.invalidHostState)
        }
        return .enterGuest(launch: launch)
    }

    /// What a virtual VM entry led to.
    public enum EntryResult: Equatable, Sendable {
        /// L2 runs next (`currentVMCS` is its VMCS02).
        case enteredL2
        /// VM-entry failure (exit reason 33 or 34 with bit 31): L1 resumes at vmcs12's host RIP.
        case failed(ExitReason)
        /// A VMX abort in the VM-exit MSR-load list of the entry failure: L1 is in shutdown.
        case vmxAbort
    }

    /// SDM Vol. 3C §27.3–§27.6 — the VM entry after VMLAUNCH/VMRESUME passed their checks: the
    /// guest-state checks on vmcs12 (failure: exit reason 33 to L1), VMCS02, the VM-entry
    /// MSR-load list (failure: exit reason 34 with the entry's number), the launch state; event
    /// injection, pending debug exceptions, the activity state, MTF and the preemption timer
    /// are VMCS02's and happen as the processor enters it.
    public func enterGuest(launch: Bool) -> EntryResult {
        guard let v12 = current else { return .failed(.entryFailureGuestState) }
        let g = v12.vmcs
        let name = launch ? "VMLAUNCH" : "VMRESUME"
        if let f = firstEntryCheckFailure(g, .guestState), case .invalidGuestState(let q) = f.consequence {
            nested.note("\(name): \(f)")
            return entryFailure(.entryFailureGuestState, qualification: q)
        }
        // §27.3.1.5: outside SMM the link pointer is not the current-VMCS pointer.
        if g[.vmcsLinkPointer] == v12.address {
            nested.note("\(name): VM-entry failure, exit reason 33, qualification 4 — the VMCS link pointer is the current-VMCS pointer 0x\(hex(v12.address)) (SDM Vol. 3C §27.3.1.5)")
            return entryFailure(.entryFailureGuestState, qualification: 4)
        }
        guard let v02 = buildVMCS02(v12) else {
            nested.note("\(name): L0 could not build EPT02 (pool exhausted)")
            return entryFailure(.entryFailureGuestState, qualification: 0)
        }
        // §27.4: the VM-entry MSR-load list, in L2's context.
        let list = msrList(at: g[.entryMSRLoadAddress], count: g[.entryMSRLoadCount])
        if let failure = processor.loadMSRList(list.entries, inGuestContextOf: v02) ?? list.failure {
            nested.note("\(name): VM-entry failure, exit reason 34, qualification \(failure.entryNumber) — VM-entry MSR-load entry \(failure.entryNumber) (SDM Vol. 3C §27.4)")
            return entryFailure(.entryFailureMSRLoading, qualification: UInt64(failure.entryNumber))
        }
        keepCheckedBTF(v02, g)
        if launch { g.launched = true }
        inL2 = true
        virtualEntries &+= 1
        transitionFlush(g)
        processor.withdrawExternalInterrupt()
        processor.withdrawINIT()
        return .enteredL2
    }

    /// The entries of an MSR list in L1 memory (§25.7.2, Table 25-15), up to the size
    /// IA32_VMX_MISC allows; a failure names the first entry that is beyond it or not RAM.
    func msrList(at address: UInt64, count: UInt64) -> (entries: [MSRListEntry], failure: MSRListFailure?) {
        var entries: [MSRListEntry] = []
        for k in 0..<count {
            let a = address &+ k &* MSRListEntry.size
            guard k < capabilities.maximumMSRListEntries, let low = l1.load(UInt64.self, at: a),
                  let value = l1.load(UInt64.self, at: a &+ 8) else {
                return (entries, MSRListFailure(entryNumber: UInt32(truncatingIfNeeded: k + 1)))
            }
            entries.append(MSRListEntry(index: UInt32(truncatingIfNeeded: low), reserved: UInt32(truncatingIfNeeded: low >> 32), value: value))
        }
        return (entries, nil)
    }

    /// §27.8 — a VM-entry failure during or after loading guest state: exit reason with bit 31
    /// and the qualification in vmcs12, then the host state and the VM-exit MSR-load list as a
    /// VM exit loads them; vmcs12's guest state is left alone and its launch state unchanged.
    func entryFailure(_ reason: ExitReason, qualification: UInt64) -> EntryResult {
        guard let v12 = current else { return .failed(reason) }
        v12.vmcs.exitReasonField = ExitReasonField(reason, entryFailure: true)
        v12.vmcs[.exitQualification] = qualification
        inL2 = false
        reflectedExits &+= 1
        if !loadHostState(from: v12, exitDueToNMI: false) { return .vmxAbort }
        return .failed(reason)
    }

    /// §29.4.3.3 for VPID 0: a vmcs12 without "enable VPID" shares L1's VPID 0000H, whose
    /// translations every VM entry and exit invalidate — both L1's (VMCS01's VPID) and L2's.
    func transitionFlush(_ g: VMCS) {
        guard !g.secondary.contains(.enableVPID) else { return }
        let l1VPID = UInt16(truncatingIfNeeded: vmcs01[.virtualProcessorIdentifier]), l2VPID = noVPID02
        if l1VPID != 0 { try? processor.invvpid(.singleContext, INVVPIDDescriptor(vpid: l1VPID)) }
        if l2VPID != 0 && l2VPID != l1VPID { try? processor.invvpid(.singleContext, INVVPIDDescriptor(vpid: l2VPID)) }
    }
}
