import CPU

/// Virtual VM exit: an exit of L2 that L1 asked for becomes a VM exit of L1's VMCS (SDM Vol. 3C
/// ch. 28 "VM Exits"), performed as the named steps the SDM lists (Xen's virtual_vmexit):
/// record the exit information (§28.2), save L2's state (§28.3), the VM-exit MSR-store list
/// (§28.4), load vmcs12's host state into L1 (§28.5), the VM-exit MSR-load list (§28.6). A
/// failure in a list is a VMX abort (§28.7).
extension VirtualVMX {
    /// What a virtual VM exit led to.
    public enum ExitResult: Equatable, Sendable {
        /// L1 runs next at vmcs12's host RIP.
        case toL1
        /// VMX abort with this indicator (§28.7): L1's processor is in the shutdown state.
        case vmxAbort(VMXAbortIndicator)
    }

    /// Guest-state fields a VM exit saves whatever the controls (§28.3): all but the ones below
    /// and the link pointer, which L0 never copies back (it is vmcs12's own).
    static let alwaysSaved = DirtyFields(guestStateFields).subtracting(DirtyFields([
        .vmcsLinkPointer, .guestIA32DebugCtl, .guestDR7, .guestIA32PAT, .guestIA32EFER, .vmxPreemptionTimerValue,
        .guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3]))
    /// Saved only under a VM-exit control (§28.3.1, §28.3.3), or with EPT (the PDPTEs, §28.3.1).
    static let debugControlFields = DirtyFields([.guestIA32DebugCtl, .guestDR7])
    static let patField = DirtyFields([.guestIA32PAT])
    static let eferField = DirtyFields([.guestIA32EFER])
    static let preemptionTimerField = DirtyFields([.vmxPreemptionTimerValue])
    static let pdpteFields = DirtyFields([.guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3])
    /// The exit-information fields a VM exit writes (§28.2), and the VM-instruction error: L2's
    /// VMREAD/VMWRITE of the shadow VMCS record VMfailValid in the VMCS it runs under (ch. 31
    /// "VMREAD"/"VMWRITE", VMfailValid), VMCS02, and it goes to vmcs12 for L1.
    static let exitInformationFields = DirtyFields([
        .exitReason, .exitQualification, .guestLinearAddress, .guestPhysicalAddress, .exitInstructionLength,
        .exitInstructionInformation, .exitInterruptionInformation, .exitInterruptionErrorCode,
        .idtVectoringInformation, .idtVectoringErrorCode, .vmInstructionError,
    ])

    /// Reflects the exit L2 just made (exit information in VMCS02) to L1.
    public func reflect() -> ExitResult {
        guard let v12 = current, let v02 = v12.vmcs02, inL2 else { return .toL1 }
        let g = v12.vmcs
        if nested.logsReflectedExits {
            nested.note("exit to L1: \(v02.exitReasonField) qualification 0x\(hex(v02[.exitQualification])) at L2 RIP 0x\(hex(v02[.guestRIP])), guest-physical 0x\(hex(v02[.guestPhysicalAddress])), interruption \(v02.exitInterruption), IDT-vectoring \(v02.idtVectoring)")
        }
        recordExitInformation(from: v02, into: g)
        v12.changedSinceBuild.formUnion(g.takeDirty(.vmcs02).union(v02.takeDirty(.vmcs02)))
        saveGuestState(from: v02, into: g, changedSinceBuild: v12.changedSinceBuild)
        inL2 = false
        reflectedExits &+= 1
        // §28.4: the MSR-store list receives L2's MSRs.
        let stores = msrList(at: g[.exitMSRStoreAddress], count: g[.exitMSRStoreCount])
        if let f = stores.failure { return abort(v12, .savingGuestMSRsFailed, "VM-exit MSR-store entry \(f.entryNumber) is not in L1 RAM or past the list limit") }
        switch processor.storeMSRList(stores.entries, inGuestContextOf: v02) {
        case .failure(let f): return abort(v12, .savingGuestMSRsFailed, "VM-exit MSR-store entry \(f.entryNumber) names an MSR RDMSR cannot read")
        case .success(let values):
            for (k, value) in values.enumerated() {
                l1.store(value, at: g[.exitMSRStoreAddress] &+ UInt64(k) &* MSRListEntry.size &+ 8)
            }
        }
        let dueToNMI = v02.exitReasonField.reason == .exceptionOrNMI && v02.exitInterruption.type == .nmi
        if !loadHostState(from: v12, exitDueToNMI: dueToNMI) { return .vmxAbort(VMXAbortIndicator(rawValue: v12.vmcs.abortIndicator) ?? .loadingHostMSRsFailed) }
        processor.withdrawExternalInterrupt()
        return .toL1
    }

    /// §28.2: the exit information, as the processor recorded it for VMCS02 (or as L0 rewrote
    /// it: EPT12's rights, a misconfiguration); the VM-entry interruption information loses its
    /// valid bit (§28.2: every VM exit clears bit 31 of that field).
    func recordExitInformation(from v02: VMCS, into g: VMCS) {
        g.copy(Self.exitInformationFields, from: v02)
        g.entryInterruption = g.entryInterruption.invalidated
    }

    /// §28.3: L2's state into vmcs12 — every guest-state field, DR7/IA32_DEBUGCTL, IA32_PAT,
    /// IA32_EFER and the preemption timer only under vmcs12's "save" controls, the PDPTEs only
    /// with EPT; the "IA-32e mode guest" entry control follows IA32_EFER.LMA.
    ///
    /// A field VMCS02 took from vmcs12 at the last build that neither VMCS changed since
    /// (`changedSinceBuild`) still holds the same value in both, so only the changed ones and
    /// the ones the build takes from elsewhere (`overriddenGuestFields`) are copied.
    func saveGuestState(from v02: VMCS, into g: VMCS, changedSinceBuild: DirtyFields) {
        let exit = exit12
        var saved = Self.alwaysSaved
        if exit.contains(.saveDebugControls) { saved.formUnion(Self.debugControlFields) }
        if exit.contains(.savePAT) { saved.formUnion(Self.patField) }
        if exit.contains(.saveEFER) { saved.formUnion(Self.eferField) }
        if exit.contains(.saveVMXPreemptionTimer) { saved.formUnion(Self.preemptionTimerField) }
        if secondary12.contains(.enableEPT) { saved.formUnion(Self.pdpteFields) }
        g.copy(saved.intersection(changedSinceBuild.union(Self.overriddenGuestFields)), from: v02)
        if v02.entryControls.contains(.ia32eModeGuest) { g.entryControls.insert(.ia32eModeGuest) }
        else { g.entryControls.remove(.ia32eModeGuest) }
    }

    /// §28.7: a VMX abort — the indicator in vmcs12 (and its region), L1 in the shutdown state.
    func abort(_ v12: VMCS12, _ indicator: VMXAbortIndicator, _ why: String) -> ExitResult {
        nested.note("VMX abort \(indicator.rawValue) (\(indicator)): \(why) (SDM Vol. 3C §28.7)")
        v12.vmcs.abortIndicator = indicator.rawValue
        l1.store(indicator.rawValue, at: v12.address + VMCS12.abortIndicatorOffset)
        inL2 = false
        vmcs01[.guestActivityState] = UInt64(ActivityState.shutdown.rawValue)
        return .vmxAbort(indicator)
    }
}
