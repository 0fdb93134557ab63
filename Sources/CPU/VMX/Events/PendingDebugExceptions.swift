/// The guest pending-debug-exceptions field (SDM Vol. 3C §25.4.2 Table 25-4): debug traps
/// recognised but not yet delivered — B3–B0 (bits 3:0), an enabled data breakpoint (bit 12)
/// and single-step (BS, bit 14). The processor keeps them as `dataBreakpointHits` (bit 12 is
/// kept there as a marker, never written to DR6) and `singleStepPending`.
extension Processor {
    static let pendingDebugBS: UInt64 = 1 << 14
    static let pendingDebugEnabledBreakpoint: UInt64 = 1 << 12

    /// SDM Vol. 3C §27.7.3 — delivery of pending debug exceptions after VM entry. They are
    /// valid when BS or the enabled-breakpoint bit is set. A vectoring entry loses them (the
    /// injected event's delivery is what follows the entry; the SDM allows software
    /// exceptions other than #BP/#OF to lose them, and this processor does so for every
    /// vectoring entry), as do the shutdown and wait-for-SIPI activity states. Otherwise they
    /// are treated as traps of the instruction before the entry: delivered (or, per the
    /// exception bitmap, a VM exit) at the first boundary, after MTF and before NMIs and
    /// interrupts, waking a HLT; with blocking by MOV SS they are held until after the next
    /// instruction (§6.8.3).
    func loadPendingDebugExceptions(_ v: VMCS, vectoring: Bool) {
        singleStepPending = false
        dataBreakpointHits = 0
        let field = v[index: vmcsLayout.pendingDebugExceptions]
        guard !vectoring, activity == .active || activity == .hlt,
              field & (Self.pendingDebugBS | Self.pendingDebugEnabledBreakpoint) != 0 else { return }
        singleStepPending = field & Self.pendingDebugBS != 0
        singleStepArmedAt = .max
        dataBreakpointHits = field & (0xF | Self.pendingDebugEnabledBreakpoint)
        pending |= PendingBit.eventWindow
    }

    /// SDM Vol. 3C §28.3.4 — the pending-debug-exceptions field at a VM exit. Traps the
    /// processor holds are recorded when the exit comes before their delivery: an MTF VM exit
    /// (MTF is above debug traps, §26.5.2) or any exit while blocking by MOV SS defers them;
    /// bit 12 is set when a matched breakpoint was enabled in DR7 (the only kind recorded
    /// here); BS only for a single-step trap an instruction already owes (one armed for the
    /// next instruction is TF's to re-arm), never with RFLAGS.TF = 0 or IA32_DEBUGCTL.BTF = 1.
    /// Every other exit saves 0: an instruction that exits did not complete, so it owes no
    /// single-step trap. The held traps leave the processor with the guest.
    func savePendingDebugExceptions(_ v: VMCS, reason: ExitReason?) {
        var field: UInt64 = 0
        if reason == .monitorTrapFlag || interruptShadow.contains(.movSS) {
            let hits = dataBreakpointHits & 0xF
            let owed = singleStepPending && singleStepArmedAt != instructionsRetired
            if owed && flagsOther & RFLAGS.tf != 0 && msr.debugCtl & 2 == 0 { field |= Self.pendingDebugBS }
            if dataBreakpointHits != 0 { field |= hits | Self.pendingDebugEnabledBreakpoint }
        }
        v[index: vmcsLayout.pendingDebugExceptions] = field
        singleStepPending = false
        dataBreakpointHits = 0
    }
}
