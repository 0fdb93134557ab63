/// The monitor trap flag (SDM Vol. 3C §26.5.2; injection of a pending MTF VM exit §27.6.2;
/// §27.7.8): with the "monitor trap flag" control, a VM exit (reason 37) occurs at the boundary
/// after each instruction that completes (after one iteration of a REP string instruction),
/// and after the delivery of any event (an injected one, a fault the instruction raised and
/// its nested exceptions, an interrupt) — above debug traps in priority. Fault-like VM exits
/// leave no MTF VM exit pending.
extension Processor {
    /// SDM Vol. 3C §27.6.2 — VM entry injecting "other event" (type 7) vector 0 makes an MTF VM
    /// exit pending before the first guest instruction, even without the MTF control.
    func injectPendingMTFExit() {
        vmxEvents.mtfPending = true
    }

    /// SDM Vol. 3C §26.5.2 — an event was delivered through the guest IDT: with MTF, an MTF VM
    /// exit is pending on the boundary that follows the delivery.
    func noteEventDeliveredForMTF() {
        if controls.primary.contains(.monitorTrapFlag) { vmxEvents.mtfPending = true }
    }

    /// SDM Vol. 3C §26.5.2 — right after an event delivered at a boundary (a debug trap, an NMI
    /// or interrupt through the IDT): the MTF VM exit it made pending comes before the
    /// handler's first instruction (nil outside VMX non-root operation or without one pending).
    func monitorTrapAfterDelivery() -> StopReason? {
        guard nonRoot && vmxEvents.mtfPending else { return nil }
        return monitorTrapBoundary()
    }

    /// SDM Vol. 3C §26.5.2 — the MTF check at an instruction boundary, before debug traps: an
    /// MTF VM exit if one is pending or an instruction retired since the last check. Re-arms
    /// itself (including the REP-iteration stop) while MTF is on.
    func monitorTrapBoundary() -> StopReason? {
        // L0 emulating an exited instruction: MTF and the events below belong to the next entry.
        guard !emulatingForL0, vmxEvents.mtfPending || controls.primary.contains(.monitorTrapFlag) else { return nil }
        // MTF VM exits are blocked in the shutdown and wait-for-SIPI states (§26.2).
        guard activity == .active || activity == .hlt else { return nil }
        if vmxEvents.mtfPending || instructionsRetired != vmxEvents.mtfRetiredMark {
            vmxEvents.mtfPending = false
            vmxEvents.mtfRetiredMark = instructionsRetired
            return exitForEvent(.monitorTrapFlag)
        }
        pending |= PendingBit.eventWindow | PendingBit.stop
        return nil
    }
}
