/// How L0 and devices present interrupts to the processor outside VMX event injection
/// (SDM Vol. 3A §6.8.1 "Masking Maskable Hardware Interrupts", §6.8.3 "Masking Exceptions and
/// Interrupts When Switching Stacks", §6.7.1 "Handling Multiple NMIs").
extension Processor {
    /// A maskable external interrupt would be accepted now: RFLAGS.IF = 1, no blocking by STI
    /// or MOV SS, and the processor is active or halted.
    public var interruptWindowOpen: Bool {
        flagsOther & RFLAGS.if != 0 && interruptShadow.isEmpty && (activity == .active || activity == .hlt)
    }

    /// Delivers external interrupt `vector` if the window is open (waking the processor from
    /// HLT). Returns false when the interrupt is not accepted now. Called during VMX non-root
    /// operation (by a device in an access), it presents the interrupt instead
    /// (`presentExternalInterrupt(vector:)`).
    @discardableResult
    public func injectInterrupt(vector: UInt8) -> Bool {
        if nonRoot { presentExternalInterrupt(vector: vector); return true }   // see NonRootEvents
        guard interruptWindowOpen else { return false }
        if let stop = raise(Event(vector: vector, type: .external)), stop == .shutdown { return true }
        return true
    }

    /// Delivers an NMI unless NMIs are blocked (by a previous NMI until IRET, or by MOV SS).
    /// During VMX non-root operation it raises the NMI input instead (`presentNMI()`), so "NMI
    /// exiting" can turn it into a VM exit at the next boundary.
    @discardableResult
    public func injectNMI() -> Bool {
        if nonRoot { presentNMI(); return true }   // taken at the next boundary (NonRootEvents)
        guard !nmiBlocked, !interruptShadow.contains(.movSS),
              activity == .active || activity == .hlt else { return false }
        _ = raise(Event(vector: Vector.nmi, type: .nmi))
        return true
    }

    /// An NMI would be accepted now (not blocked by a previous NMI or by MOV SS).
    public var nmiWindowOpen: Bool {
        !nmiBlocked && !interruptShadow.contains(.movSS) && (activity == .active || activity == .hlt)
    }

    /// Makes `run` return `.interruptWindow` at the first instruction boundary where a
    /// maskable interrupt can be delivered (L0 has one pending but RFLAGS.IF, STI or MOV SS
    /// blocks it). Like VMX "interrupt-window exiting", SDM Vol. 3C §26.2.
    public func requestInterruptWindow() {
        interruptWindowWanted = true
        pending |= PendingBit.eventWindow
    }

    /// Makes `run` return `.interruptWindow` once NMIs are unblocked (after IRET).
    public func requestNMIWindow() {
        nmiWindowWanted = true
        pending |= PendingBit.eventWindow
    }

    /// Work deferred to an instruction boundary (`pending` bits). While L0 waits for an event
    /// window the check repeats at every boundary until the window opens.
    func handlePending() -> StopReason? {
        pending = 0
        // VMX non-root operation: APIC-write emulation ends the operation that wrote (APIC-
        // AccessPage), then INIT (INITAndSIPI), MTF above debug traps, the other events below
        // (NonRootEvents).
        if nonRoot {
            if let stop = apicWriteEmulation() { return stop }
            if let stop = initOrSIPIBoundary() { return stop }
            if let stop = monitorTrapBoundary() { return stop }
        }
        if debugChecksNeeded {
            pending |= PendingBit.eventWindow
            if let stop = debugBoundary() { return stop ?? monitorTrapAfterDelivery() }
        }
        if nonRoot, let stop = nonRootEventBoundary() { return stop }
        if interruptWindowWanted || nmiWindowWanted {
            if (interruptWindowWanted && interruptWindowOpen) || (nmiWindowWanted && nmiWindowOpen) {
                interruptWindowWanted = false
                nmiWindowWanted = false
                return .interruptWindow
            }
            // Re-checked at the next boundary only while an STI / MOV SS shadow can end it:
            // the instructions that set IF or end NMI blocking (STI, POPF, IRET…) raise
            // `eventWindow` themselves, so code running with IF = 0 keeps its block chaining.
            if (interruptWindowWanted && interruptFlag) || (nmiWindowWanted && !nmiBlocked) {
                pending |= PendingBit.eventWindow
            }
        }
        return nil
    }
}
