/// Events at instruction boundaries in VMX non-root operation: NMIs and external interrupts L0
/// presents, the VM exits they cause ("NMI exiting", "external-interrupt exiting" with
/// "acknowledge interrupt on exit"), virtual NMIs, and the NMI- and interrupt-window exits
/// (SDM Vol. 3C §26.2 "Other causes of VM exits", §26.3 "Changes to instruction behavior"
/// (IRET), §27.7.1 interruptibility after entry, §27.7.5/§27.7.6 window exiting, §28.2.2
/// interruption information; priorities Vol. 3A §6.9 Table 6-2 with the VMX additions).
/// Nothing here runs per instruction: L0's calls and VM entry set `pending`, and the checks run
/// in `handlePending` at block boundaries, re-arming themselves only while they wait.

/// Event state of VMX non-root operation between instruction boundaries.
struct NonRootEventState {
    /// L0 raised the NMI input (`presentNMI`); not yet taken.
    var nmiPresented = false
    /// The external interrupt L0 presents (`presentExternalInterrupt`); not yet acknowledged.
    var externalInterrupt: UInt8? = nil
    /// An MTF VM exit is pending at the next instruction boundary (§26.5.2).
    var mtfPending = false
    /// `instructionsRetired` when MTF last looked: an instruction retired since → MTF exit.
    var mtfRetiredMark: UInt64 = 0
    /// The VMX-preemption timer of the current VM entry.
    var timer = PreemptionTimerState()
    /// A write to the APIC-access page virtualized by the current operation (APICAccessPage).
    var virtualizedAPICWrite: VirtualizedAPICWrite? = nil
    /// INIT and SIPI L0 presents (INITAndSIPI.swift).
    var initPresented = false
    var sipiVector: UInt8? = nil
}

extension Processor {
    // MARK: L0's interface

    /// Raises the NMI input for the guest in VMX non-root operation (SDM Vol. 3C §26.2): the
    /// NMI is taken at the first instruction boundary where it is not blocked — during the
    /// current `run(vmcs:)` or right after the next VM entry (after event injection). With "NMI
    /// exiting" it causes a VM exit (reason 0, interruption type NMI, vector 2); without, it is
    /// delivered through the guest IDT. Outside VMX non-root operation it stays pending.
    public func presentNMI() {
        vmxEvents.nmiPresented = true
        pending |= PendingBit.eventWindow
    }

    /// Presents external interrupt `vector` to the guest in VMX non-root operation (the INTR
    /// line, SDM Vol. 3C §26.2). With "external-interrupt exiting" it causes a VM exit (reason 1)
    /// at the first boundary without blocking by STI or MOV SS — RFLAGS.IF does not block it
    /// (§26.3); "acknowledge interrupt on exit" then reports the vector in the VM-exit
    /// interruption information and consumes the interrupt, otherwise it stays presented (L0
    /// owns it: `withdrawExternalInterrupt()`). Without exiting it is delivered through the guest
    /// IDT once the interrupt window opens.
    public func presentExternalInterrupt(vector: UInt8) {
        vmxEvents.externalInterrupt = vector
        pending |= PendingBit.eventWindow
    }

    /// The external interrupt presented and not yet acknowledged or delivered.
    public var presentedExternalInterrupt: UInt8? { vmxEvents.externalInterrupt }
    /// An NMI presented and not yet taken.
    public var nmiPresented: Bool { vmxEvents.nmiPresented }

    /// Takes back a presented external interrupt (L0 acknowledged it itself).
    public func withdrawExternalInterrupt() { vmxEvents.externalInterrupt = nil }
    /// Takes back a presented NMI not yet taken (the guest it was for is no longer running).
    public func withdrawNMI() { vmxEvents.nmiPresented = false }

    // MARK: VM entry

    /// Arms the boundary checks VM entry establishes (§27.7.5–§27.7.8): window exiting, MTF
    /// (after the injected event, §26.5.2), a presented event, and pending debug traps.
    ///
    /// A window exit that cannot come before an instruction changes the blocking arms nothing,
    /// as at the boundary checks (`nonRootEventBoundary`): interrupt-window exiting with
    /// RFLAGS.IF = 0 (whatever sets IF raises the check, `flagsChanged`), NMI-window exiting
    /// under NMI blocking (the IRET that ends it raises the check).
    func armNonRootEvents(_ v: VMCS) {
        vmxEvents.mtfRetiredMark = instructionsRetired
        let p = controls.primary
        if (p.contains(.interruptWindowExiting) && interruptFlag) || (p.contains(.nmiWindowExiting) && !nmiBlocked)
            || vmxEvents.nmiPresented
            || vmxEvents.externalInterrupt != nil || debugChecksNeeded || vmxEvents.timer.active {
            pending |= PendingBit.eventWindow
        }
        if p.contains(.monitorTrapFlag) || vmxEvents.mtfPending {
            // `stop` also ends a REP string instruction after one iteration (§26.5.2).
            pending |= PendingBit.eventWindow | PendingBit.stop
        }
    }

    // MARK: Boundary checks (from handlePending)

    func exitForEvent(_ reason: ExitReason, interruptionInfo: InterruptionInformation = .none) -> StopReason {
        pendingExit = PendingExit()
        pendingExit.reason = reason
        pendingExit.interruptionInfo = interruptionInfo
        return .vmExit
    }

    /// SDM Vol. 3C §26.2, §26.3, §27.7.5, §27.7.6 — the VM exits and deliveries due at this
    /// boundary below the debug traps, by priority: VMX-preemption timer, NMI-window exiting,
    /// NMI, interrupt-window exiting, external interrupt. `.some(nil)`: an event was delivered
    /// through the guest IDT (a new boundary follows).
    func nonRootEventBoundary() -> StopReason?? {
        if emulatingForL0 { return nil }      // they belong to the next VM entry
        if vmxEvents.timer.active && elapsedTime >= vmxEvents.timer.deadline && activity != .waitForSIPI {
            return .some(preemptionTimerExit())
        }
        let pin = controls.pin, primary = controls.primary
        let awake = activity == .active || activity == .hlt
        let movSS = interruptShadow.contains(.movSS), sti = interruptShadow.contains(.sti)
        var waiting = false
        if primary.contains(.nmiWindowExiting) {
            // No virtual-NMI blocking and no blocking by MOV SS (this processor also honours
            // blocking by STI, which §26.2 permits).
            if awake && !nmiBlocked && !movSS && !sti { return .some(exitForEvent(.nmiWindow)) }
            waiting = waiting || !nmiBlocked           // IRET raises the check when blocking ends
        }
        if vmxEvents.nmiPresented {
            // With virtual NMIs, bit 3 is virtual-NMI blocking and does not block NMIs (§27.7.1).
            // The shutdown state does not block NMIs (§27.7.4: it blocks external interrupts
            // and SIPIs); only wait-for-SIPI does.
            let blocked = activity == .waitForSIPI || movSS || (nmiBlocked && !pin.contains(.virtualNMIs))
            if !blocked {
                vmxEvents.nmiPresented = false
                if pin.contains(.nmiExiting) {
                    return .some(exitForEvent(.exceptionOrNMI, interruptionInfo: Self.nmiInterruptionInformation))
                }
                return .some(raise(Event(vector: Vector.nmi, type: .nmi)) ?? monitorTrapAfterDelivery())
            }
            waiting = waiting || !(nmiBlocked && !pin.contains(.virtualNMIs))
        }
        if primary.contains(.interruptWindowExiting) {
            if interruptWindowOpen { return .some(exitForEvent(.interruptWindow)) }
            // Closed with IF = 0: STI, POPF, IRET… raise the check when they set IF, so the
            // boundary is not re-armed (code running with interrupts off keeps block chaining).
            waiting = waiting || interruptFlag
        }
        if let vector = vmxEvents.externalInterrupt {
            if pin.contains(.externalInterruptExiting) {
                if awake && interruptShadow.isEmpty { return .some(externalInterruptExit(vector)) }
            } else if interruptWindowOpen {
                vmxEvents.externalInterrupt = nil
                return .some(raise(Event(vector: vector, type: .external)) ?? monitorTrapAfterDelivery())
            }
            waiting = waiting || pin.contains(.externalInterruptExiting) || interruptFlag
        }
        if waiting { pending |= PendingBit.eventWindow }
        return nil
    }

    /// §28.2.2: an NMI VM exit reports vector 2, type 2 (NMI), valid.
    static let nmiInterruptionInformation = InterruptionInformation(vector: Vector.nmi, type: .nmi)

    /// SDM Vol. 3C §26.2, §28.2.2 — an external interrupt with "external-interrupt exiting":
    /// exit reason 1; with "acknowledge interrupt on exit" the interrupt is acknowledged and the
    /// VM-exit interruption information holds its vector (type 0, valid), else it is invalid.
    func externalInterruptExit(_ vector: UInt8) -> StopReason {
        var info = InterruptionInformation.none
        if controls.exit.contains(.acknowledgeInterruptOnExit) {
            vmxEvents.externalInterrupt = nil
            info = InterruptionInformation(vector: vector, type: .external)
        }
        return exitForEvent(.externalInterrupt, interruptionInfo: info)
    }

    /// SDM Vol. 3C §26.3 — IRET and NMI blocking in VMX non-root operation: with "NMI exiting"
    /// and without "virtual NMIs", IRET leaves blocking by NMI alone; with "virtual NMIs" it
    /// removes virtual-NMI blocking (kept in `nmiBlocked`); otherwise it unblocks NMIs.
    var iretUnblocksNMIs: Bool {
        !(nonRoot && controls.pin.contains(.nmiExiting) && !controls.pin.contains(.virtualNMIs))
    }
}
