/// VMX aborts (SDM Vol. 3C §28.7): a problem during a VM exit that the processor cannot report
/// as a VM exit. The logical processor writes a non-zero VMX-abort indicator into the VMCS
/// (byte offset 4 of the VMCS region; here `VMCS.abortIndicator`) and enters the shutdown state.
/// `run(vmcs:)` returns `.vmxAbort(indicator)` so L0 sees it; nothing traps.
public enum VMXAbortIndicator: UInt32, Error, Sendable {
    /// Processing of the VM-exit MSR-store area failed (§28.4).
    case savingGuestMSRsFailed = 1
    /// Host checking of the PDPTEs failed (§28.5.4).
    case hostPDPTECheckFailed = 2
    /// The current VMCS was corrupted (§28.7).
    case currentVMCSCorrupted = 3
    /// Processing of the VM-exit MSR-load area failed (§28.6).
    case loadingHostMSRsFailed = 4
    /// A machine-check event occurred during the VM exit (§28.8).
    case machineCheckDuringExit = 5
    /// IA-32e mode before the exit but "host address-space size" is 0 (§28.5).
    case hostAddressSpaceSizeWithoutIA32e = 6
}

extension Processor {
    /// SDM Vol. 3C §28.7 — VMX aborts: records `indicator` in the VMCS's abort-indicator field
    /// and puts the logical processor into the shutdown state.
    func vmxAbort(_ v: VMCS, _ indicator: VMXAbortIndicator) -> VMRunOutcome {
        v.abortIndicator = indicator.rawValue
        activity = .shutdown
        residentVMCS = nil
        return .vmxAbort(indicator)
    }
}
