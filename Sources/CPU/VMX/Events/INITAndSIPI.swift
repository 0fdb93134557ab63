/// INIT signals and start-up IPIs in VMX non-root operation (SDM Vol. 3C §26.2 "Other Causes
/// of VM Exits", §27.7.4 activity-state blocking after VM entry, §28.2.1 exit qualification):
/// - An INIT causes a VM exit (reason 3, exit qualification 0); the processor performs none of
///   the INIT's usual operations (no register state changes, no pending events cleared). The
///   wait-for-SIPI state blocks INIT: it stays pending (as it does in VMX root operation, where
///   INIT is always blocked) until the processor leaves that state.
/// - A SIPI causes a VM exit (reason 4, exit qualification bits 7:0 = the SIPI vector, bits
///   63:8 = 0) only in the wait-for-SIPI state (activity state 3, loaded at VM entry); in any
///   other state (active, HLT, shutdown) SIPIs are blocked and discarded.
/// L0 presents them with `presentINIT()` / `presentSIPI(vector:)`; they are taken at the next
/// instruction boundary checked in `handlePending` (never per instruction), above the monitor
/// trap flag and every other boundary event (Vol. 3A §6.9 Table 6-2: INIT is an "external
/// hardware intervention", priority 3; MTF VM exits rank below INIT, §26.5.2).
extension Processor {
    // MARK: L0's interface

    /// Raises INIT for the guest (SDM Vol. 3C §26.2): in VMX non-root operation, outside the
    /// wait-for-SIPI state, it causes a VM exit "INIT signal" (reason 3) at the next instruction
    /// boundary — during the current `run(vmcs:)` or right after the next VM entry. While the
    /// guest is in wait-for-SIPI it stays pending (`initPresented`).
    public func presentINIT() {
        vmxEvents.initPresented = true
        pending |= PendingBit.eventWindow
    }

    /// Sends a start-up IPI with `vector` (SDM Vol. 3C §26.2, §28.2.1): a VM exit "start-up IPI"
    /// (reason 4, exit qualification = vector) if the guest is in the wait-for-SIPI activity
    /// state when the processor takes it (the next boundary of `run(vmcs:)`); otherwise the SIPI
    /// is discarded (§27.7.4: the active, HLT and shutdown states block SIPIs).
    public func presentSIPI(vector: UInt8) {
        vmxEvents.sipiVector = vector
        pending |= PendingBit.eventWindow
    }

    /// An INIT presented and not yet taken (blocked by wait-for-SIPI, or not yet at a boundary).
    public var initPresented: Bool { vmxEvents.initPresented }

    /// Takes back a presented INIT (L0 handles it itself, e.g. outside VMX non-root operation).
    public func withdrawINIT() { vmxEvents.initPresented = false }

    // MARK: Boundary check (from handlePending)

    /// SDM Vol. 3C §26.2 — at an instruction boundary in VMX non-root operation: a SIPI in the
    /// wait-for-SIPI state is a VM exit with its vector, a SIPI in any other state is discarded;
    /// an INIT outside wait-for-SIPI is a VM exit, in wait-for-SIPI it stays blocked.
    func initOrSIPIBoundary() -> StopReason? {
        if emulatingForL0 { return nil }          // they belong to the next VM entry
        if let vector = vmxEvents.sipiVector {
            vmxEvents.sipiVector = nil
            if activity == .waitForSIPI { return startupIPIExit(vector) }
        }
        if vmxEvents.initPresented && activity != .waitForSIPI {
            vmxEvents.initPresented = false
            return exitForEvent(.initSignal)
        }
        return nil
    }

    /// §28.2.1: a SIPI VM exit's qualification holds the SIPI vector in bits 7:0 (63:8 are 0).
    /// The guest's state, the wait-for-SIPI activity state included, is saved unchanged.
    func startupIPIExit(_ vector: UInt8) -> StopReason {
        let stop = exitForEvent(.startupIPI)
        pendingExit.qualification = UInt64(vector)
        return stop
    }

    /// At VM entry: a presented INIT or SIPI is checked at the first boundary.
    func armINITAndSIPI() {
        if vmxEvents.initPresented || vmxEvents.sipiVector != nil { pending |= PendingBit.eventWindow }
    }
}
