/// L0's instruction-emulation service: after a VM exit, L0 asks the processor to execute the
/// exiting guest instruction once more, on the state saved in the VMCS, with the accesses
/// that caused the exit going to L0's devices instead of exiting again. This is what a
/// software hypervisor's instruction emulator does for MMIO, string I/O and MSR accesses on
/// real VT-x hardware; here the emulator is the processor itself, so every instruction has
/// exactly the semantics (faults, flags, REP behaviour) it has when executed natively.
public enum InstructionEmulationOutcome: Equatable, Sendable {
    /// The instruction retired, or raised an exception that was delivered to the guest; the
    /// VMCS guest-state area holds the result.
    case completed
    /// Emulating the instruction caused a VM exit (e.g. a triple fault); the VMCS
    /// exit-information fields describe it.
    case vmExit(ExitReason)
    /// The instruction needs what no device bus can give: a code fetch or a paging-structure
    /// access at a guest-physical address EPT does not map. The EPT-violation exit
    /// information in the VMCS says where.
    case cannotEmulate(ExitReason)
    /// A guest hypervisor's VMLAUNCH (`launch`) or VMRESUME passed its checks
    /// (`GuestVMXRootOperation.vmentry`): L0 performs the VM entry. The instruction did not
    /// retire.
    case virtualEntry(launch: Bool)
}

extension Processor {
    /// Emulates the guest instruction at the guest RIP saved in `v`, for L0 after a VM exit.
    ///
    /// Runs one instruction in VMX non-root operation under `v`'s controls except that the
    /// instruction-caused exits L0 is resolving (I/O instructions, RDMSR/WRMSR, MOV CR under
    /// the guest/host masks, unconditional exits) do not occur, and guest-physical accesses
    /// EPT does not map go to `bus` (SDM Vol. 3C §29.3.3.2: the EPT violation L0 resolves).
    /// No VM-entry checks run: the state is the one this processor saved at the exit
    /// (SDM Vol. 3C §28.3), and no event is injected (§27.6 applies to the next real entry).
    ///
    /// With `vmx`, a VMX instruction gets the root-operation semantics of that guest
    /// hypervisor's virtual VMX (`GuestVMXRootOperation`).
    public func emulateInstruction(vmcs v: VMCS, bus: DeviceBus, vmx: GuestVMXRootOperation? = nil) -> InstructionEmulationOutcome {
        enterSavedGuestContext(v)
        l0Emulation = L0Emulation(bus: bus, guestVMXRoot: vmx, translationHint: Self.translationHint(ofExit: v))
        virtualEntryRequested = false
        defer { l0Emulation = nil }
        // Event windows belong to the next VM entry (`nonRootEventBoundary` skips them while
        // emulating), not to the emulated instruction.
        pending &= ~PendingBit.eventWindow
        // The exit left no debug trap held (§28.3.4); the boundary before the instruction
        // (loading the state changes the mode, so it runs) arms RFLAGS.TF's single-step trap
        // for after it (SDM Vol. 3A §18.3.1.4).
        singleStepPending = false
        let stop = run(budget: 1)
        l0Emulation = nil
        var outcome = InstructionEmulationOutcome.completed
        switch stop {
        case .vmExit where virtualEntryRequested:
            virtualEntryRequested = false
            outcome = .virtualEntry(launch: pendingExit.reason == .vmlaunch)
        case .vmExit:
            recordExit(v)
            let r = pendingExit.reason
            outcome = (r == .eptViolation || r == .eptMisconfiguration) ? .cannotEmulate(r) : .vmExit(r)
        case .shutdown:
            pendingExit = PendingExit()
            pendingExit.reason = .tripleFault
            recordExit(v)
            outcome = .vmExit(.tripleFault)
        case .budgetExhausted, .stopRequested, .interruptWindow, .halted:
            break
        }
        saveGuestState(v)
        leaveSavedGuestContext()
        return outcome
    }

    /// The translation an EPT-violation exit reports for the access that caused it: with
    /// exit-qualification bits 7 and 8 set (SDM Vol. 3C Table 28-7), the guest-linear address
    /// (already checked against the guest's paging-structure rights, accessed and dirty flags
    /// set) translated to the guest-physical address; bit 1 says the access was a write.
    static func translationHint(ofExit v: VMCS) -> L0Emulation.TranslationHint? {
        guard v.exitReasonField.reason == .eptViolation else { return nil }
        let q = EPTViolationQualification(rawValue: v[.exitQualification])
        guard q.isTranslatedAccess, !q.isFetch else { return nil }
        return L0Emulation.TranslationHint(linearPage: v[.guestLinearAddress] & ~0xFFF,
                                           guestPhysicalPage: v[.guestPhysicalAddress] & ~0xFFF, write: q.isWrite)
    }

    /// Puts the processor in the guest context `v` saved at its exit — state, controls, VMX
    /// non-root operation and the guest's cached translations (its VPID/PCID/EPTP set). An L0
    /// service is neither a VM entry nor an exit: no checks run and nothing is invalidated.
    func enterSavedGuestContext(_ v: VMCS) {
        loadForEntry(v, checked: false)
        nonRoot = true
        rootContextDeferred = false
        activateTranslationContext()
    }

    /// Back to L0's context after `enterSavedGuestContext`.
    func leaveSavedGuestContext() {
        nonRoot = false
        rootContextDeferred = true         // as after a VM exit (`updateCachedMappingsOnVMExit`)
    }

    /// Writes the processor's current architectural state into `v`'s guest-state area, as a
    /// VM exit saves it (SDM Vol. 3C §28.3). L0 uses it to start a VMCS from a state it set
    /// up directly (power-on reset, a loader's entry state, INIT/SIPI).
    public func storeGuestState(into v: VMCS) {
        residentVMCS = nil        // the controls it holds are not necessarily v's
        saveGuestState(v)
    }
}

extension Processor {
    /// The first `count` bytes of the guest instruction at CS:RIP as `v` saved them, read as
    /// instruction fetches through the guest's paging and EPT — for L0 to identify the
    /// instruction behind an exit that carries no instruction information (e.g. the #UD of
    /// an instruction L0 implements on the guest's behalf). Nil when a byte is not fetchable
    /// (the fault or EPT violation is not raised: nothing changes in the guest).
    public func guestCodeBytes(vmcs v: VMCS, count: Int) -> [UInt8]? {
        enterSavedGuestContext(v)
        defer { leaveSavedGuestContext() }
        let saved = pendingExit
        defer { pendingExit = saved }
        var bytes: [UInt8] = []
        let cs = segments[SegmentRegisterIndex.cs.rawValue]
        for k in 0..<count {
            let offset = (rip &+ UInt64(k)) & ripMask
            if !is64 && offset > UInt64(cs.limit) { return nil }
            var la = cs.base &+ offset
            if !is64 { la &= 0xFFFF_FFFF }
            guard let b = try? readLinearSlow(la, 1, currentAccess(.execute)) else { return nil }
            bytes.append(UInt8(truncatingIfNeeded: b))
        }
        return bytes
    }
}

extension Processor {
    /// SDM Vol. 3C §27.4, §28.6 — loads MSRs for L0 as a VM entry or exit processes an MSR-load
    /// list, in the guest context `v` saved (its state is loaded first, so each WRMSR is checked
    /// against it, and the result is saved back into `v`). `entries` are the list's entries
    /// in order, already read by L0 from wherever the list lives. Returns the 1-based number
    /// of the entry that failed (disallowed MSR, reserved bits, or a WRMSR that would #GP),
    /// or nil; entries before it stay loaded.
    public func loadMSRList(_ entries: [MSRListEntry], inGuestContextOf v: VMCS) -> MSRListFailure? {
        if entries.isEmpty { return nil }          // the usual count 0: no context to switch
        enterSavedGuestContext(v)
        defer {
            saveGuestState(v)
            leaveSavedGuestContext()
        }
        let efer = self.efer
        defer { if self.efer != efer { flushTLB() } }
        for (k, e) in entries.enumerated() {
            if e.reserved != 0 || Self.msrLoadDisallowed(e.index) || !writeMSR(e.index, e.value) {
                return MSRListFailure(entryNumber: UInt32(k + 1))
            }
        }
        return nil
    }

    /// SDM Vol. 3C §28.4 — the values a VM-exit MSR-store list receives, for L0: RDMSR of each
    /// entry's MSR in the guest context `v` saved. A failure names the first entry that fails
    /// (x2APIC range, IA32_SMBASE, reserved bits, or an RDMSR that would #GP).
    public func storeMSRList(_ entries: [MSRListEntry], inGuestContextOf v: VMCS) -> Result<[UInt64], MSRListFailure> {
        if entries.isEmpty { return .success([]) }
        enterSavedGuestContext(v)
        defer { leaveSavedGuestContext() }
        var values: [UInt64] = []
        for (k, e) in entries.enumerated() {
            guard e.reserved == 0, e.index >> 8 != 0x8, e.index != MSRIndex.smbase, let value = readMSR(e.index) else {
                return .failure(MSRListFailure(entryNumber: UInt32(k + 1)))
            }
            values.append(value)
        }
        return .success(values)
    }
}
