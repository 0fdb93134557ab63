import CPU
import NestedVMX
import Platform
import Tracing

/// The L1 virtual machine: guest memory, the PC platform's buses and interrupt controllers,
/// the vCPUs and the deterministic scheduler that runs them on one host thread.
public final class VirtualMachine {
    public enum Outcome: Equatable, Sendable {
        /// The guest wrote to isa-debug-exit: QEMU's convention, status = (value << 1) | 1.
        case exited(status: Int32)
        /// Triple fault with `noReboot`.
        case shutdown(cpu: Int)
        /// The guest entered ACPI S5 (soft off) through the PM block, as `poweroff` does.
        case poweredOff
        /// Every vCPU waits and nothing can wake one (no timer, no pending interrupt).
        case deadlock
        /// The instruction limit given to `run` was reached.
        case instructionLimit
        /// The virtual-time limit given to `run` was reached.
        case timeLimit
        /// The run was asked to stop from outside (`RunLimits.interruption`, a signal).
        case interrupted(signal: Int32)
        /// L0 could not resolve a VM exit (an L0 bug or an access nothing can emulate).
        case l0Failure(cpu: Int, message: String)
    }

    public let configuration: MachineConfiguration
    public let memory: PhysicalMemory
    public let bus: PlatformBus
    public let clock: VirtualClock
    public let scheduler: EventScheduler
    public let apicBus: APICBus
    public let ioapic: IOAPIC
    public private(set) var vcpus: [VCPU] = []
    /// The 8259 pair, once the board attaches it.
    public var externalInterrupts: ExternalInterruptSource? {
        didSet { pic = (externalInterrupts as? PICInterruptSource).map { .passUnretained($0.pic) } }
    }
    /// The board's 8259 pair behind `externalInterrupts`, unretained (the board holds it): its
    /// INTR word is read after every exit without an existential call or a retain.
    private var pic: Unmanaged<PIC8259Pair>?
    /// The vCPU whose instruction is executing (the local APIC window decodes to its APIC).
    public var current: VCPU { currentVCPU.takeUnretainedValue() }
    /// `current`, unretained (`vcpus` owns it): set before every slice.
    private var currentVCPU: Unmanaged<VCPU>
    /// Set by the exit device; ends `run`.
    public var exitStatus: Int32?
    /// Triple faults and resets seen (for `noReboot == false`).
    public internal(set) var resets = 0
    /// In ACPI S3 (the PM block's state): no vCPU runs until a wake event (SleepStates.swift).
    public var sleeping: Bool { powerManagement?._withUnsafeGuaranteedRef { $0.sleeping } ?? false }
    /// The guest entered S5 (the PM block's state): `run` ends with `.poweredOff`.
    public var poweredOff: Bool { powerManagement?._withUnsafeGuaranteedRef { $0.poweredOff } ?? false }
    /// The board's PM block, unretained (the board owns it for the VM's life): the run loop
    /// asks it after every exit.
    private var powerManagement: Unmanaged<ACPIPowerManagement>?
    /// Resumes from S3 at a waking vector.
    public internal(set) var s3Resumes = 0
    /// Virtual time at which the machine entered S3.
    var sleptAt: UInt64 = 0

    /// The PC's devices.
    public private(set) var board: PCBoard!
    /// EPT01: L1's guest-physical memory as L0 maps it.
    public let ept01: EPT01
    /// Every VM exit L0 handled, with per-level statistics.
    public let exitTrace = ExitTrace()
    /// Table indices of the VMCS fields every resolved exit touches.
    let exitFields = VMCSLayout.shared
    /// Nested VMX, when the model offers VMX to L1.
    public private(set) var nested: NestedVMX?

    public init(_ configuration: MachineConfiguration, board options: PCBoardOptions = PCBoardOptions()) throws {
        try configuration.validate()
        var configuration = configuration
        // A model with VMX offers it to L1 (nested VMX), and says GenuineIntel: guests set up
        // VMX only on Intel-family processors.
        let offersVMX = configuration.cpuModel.has(.vmx)
        if offersVMX { configuration.cpuModel.vendor = "GenuineIntel" }
        self.configuration = configuration
        // L0's region (EPT01's tables, nested VMX's pages) lies above L1's RAM; EPT01 does not
        // map it.
        let ramTop = configuration.ramTop
        let nestedBytes = offersVMX ? NestedVMX.reservedBytes(processors: configuration.cpuCount) : 0
        let l0Bytes = EPT01.reservedBytes + nestedBytes
        memory = try PhysicalMemory(size: ramTop + l0Bytes)
        memory.addHole(ramTop..<(ramTop + l0Bytes))
        if let hole = configuration.ramHoleBelow4G { memory.addHole(hole) }
        // The PCI memory window firmware assigns BARs from (FEA00000H–FEBFFFFFH), the I/O APIC,
        // remapping-unit and local APIC windows (and the rest up to 4 GiB) are devices, not RAM.
        memory.addHole(0xFEA0_0000..<0x1_0000_0000)
        ept01 = try EPT01(memory: memory, ramTop: ramTop, regionBase: ramTop)
        bus = PlatformBus()
        clock = VirtualClock(source: configuration.clock,
                             tscHz: configuration.cpuModel.tscKHz * 1000)
        scheduler = EventScheduler(time: clock)
        apicBus = APICBus()
        ioapic = IOAPIC(bus: apicBus)
        var processors: [Processor] = []
        let ports = (0..<configuration.cpuCount).map { _ in PlatformRegisterPort() }
        for i in 0..<configuration.cpuCount {
            processors.append(Processor(memory: memory, bus: bus, model: configuration.cpuModel, index: i,
                                        platformRegisters: ports[i]))
        }
        if offersVMX {
            let n = NestedVMX(processor: processors[0].vmxCapabilities, withheld: configuration.cpuModel.vmxWithheld,
                              memory: memory, ramTop: ramTop,
                              regionBase: ramTop + EPT01.reservedBytes, processors: processors.count)
            n.shadowsVMCS12 = configuration.shadowsVMCS12
            nested = n
        }
        var list: [VCPU] = []
        for (i, p) in processors.enumerated() {
            let lapic = LocalAPIC(apicID: UInt32(i), cpuIndex: i, bootstrap: i == 0, bus: apicBus,
                                  scheduler: scheduler, x2APICSupported: configuration.cpuModel.has(.x2apic))
            // Each VMCS01 has its own VPID (index + 1): L1's cached translations survive its exits.
            let vmcs01 = VMCS01.make(ept: ept01.pointer, vpid: UInt16(i + 1))
            let v = VCPU(index: i, processor: p, lapic: lapic, vmcs01: vmcs01,
                         vmx: nested?.makeVirtualVMX(processor: p, vmcs01: vmcs01))
            lapic.host = v
            ports[i].lapic = .passUnretained(lapic)
            clock.attach(p)
            list.append(v)
        }
        vcpus = list
        currentVCPU = .passUnretained(list[0])
        for port in ports { port.vm = .passUnretained(self) }
        let window = LocalAPICWindow(self)
        try bus.map(mmio: LocalAPIC.defaultBase..<(LocalAPIC.defaultBase + 0x1000), to: window)
        // An xAPIC moved away from FEE00000H by IA32_APIC_BASE decodes at its new page.
        bus.relocatedWindow = (base: { [unowned self] in
            let lapic = self.current.lapic, base = lapic.baseMSR & ~0xFFF & ((1 << 52) - 1)
            return lapic.globallyEnabled && !lapic.x2APICMode && base != LocalAPIC.defaultBase ? base : nil
        }, device: window)
        try bus.map(mmio: IOAPIC.defaultBase..<(IOAPIC.defaultBase + 0x1000), to: ioapic)
        board = try PCBoard(vm: self, options: options)
        powerManagement = .passUnretained(board.acpiPM)
    }

    public var bootProcessor: Processor { vcpus[0].processor }

    /// Ends the run with an exit status (the isa-debug-exit device calls this).
    public func requestExit(status: Int32) {
        exitStatus = status
        current.processor.requestStop()
    }

    /// Runs the vCPUs round robin until the guest exits, shuts down, deadlocks or retires
    /// `instructionLimit` instructions in total.
    public func run(instructionLimit: UInt64 = .max) -> Outcome {
        run(limits: RunLimits(instructions: instructionLimit))
    }

    /// Runs the vCPUs round robin until the guest exits, shuts down or deadlocks (no waiting
    /// vCPU can be woken: `someVCPUCanWake`), or a limit is reached.
    public func run(limits: RunLimits) -> Outcome {
        // The sole vCPU's next turn was taken by `runSlices`, which found it waiting.
        var nextTurnTaken = false
        while true {
            if let s = exitStatus { return .exited(status: s) }
            if poweredOff { return .poweredOff }
            var ran = false
            if nextTurnTaken {
                nextTurnTaken = false
            } else {
                for v in vcpus {
                    switch runSlices(of: v, limits: limits) {
                    case .notRunnable: continue
                    case .ran: ran = true
                    case .ranThenWaits:
                        ran = true
                        nextTurnTaken = true
                    case .end(let o): return o
                    }
                }
            }
            if !ran {
                // Every vCPU waits: jump virtual time to the next timer, or give up.
                if sleeping && !canWakeFromS3 { return .deadlock }
                if !sleeping && !someVCPUCanWake { return .deadlock }
                guard let deadline = scheduler.nextDeadline else {
                    if !sleeping && vcpus.contains(where: { $0.state == .halted && hasDeliverableEvent($0) }) { continue }
                    return .deadlock
                }
                clock.skipIdle(to: min(deadline, limits.nanoseconds))
                scheduler.runDue()
                if let o = limitReached(limits) { return o }
            }
        }
    }

    /// What `runSlices` did with its vCPU.
    private enum SliceEnd {
        /// The vCPU waits (halted, waiting for a SIPI, shut down, or the machine sleeps).
        case notRunnable
        /// It ran one slice or more.
        case ran
        /// The sole vCPU ran, and its next turn (taken already) found it waiting.
        case ranThenWaits
        /// The run ends.
        case end(Outcome)
    }

    /// vCPU `v`'s turn in the round robin: signals and events applied, then a slice. A sole vCPU
    /// the exit left runnable, with nothing for the next turn's bookkeeping to do (no INIT or
    /// SIPI, no state for VMCS01, no machine sleep; `deliverEvents` still runs), is re-entered
    /// here directly rather than through `run`'s loop — the same steps in the same order.
    private func runSlices(of v: VCPU, limits: RunLimits) -> SliceEnd {
        v.applyInterprocessorSignals()
        if v.guestStateStale {
            VMCS01.load(guestStateOf: v.processor, into: v.vmcs01)
            v.guestStateStale = false
        }
        if !v.pendingVMCS01Writes.isEmpty {
            for w in v.pendingVMCS01Writes { v.vmcs01[w.field] = w.value }
            v.pendingVMCS01Writes.removeAll()
            v.vmcs01Edited = true
        }
        deliverEvents(to: v)
        guard v.state == .running && !sleeping else { return .notRunnable }
        let alone = vcpus.count == 1
        while true {
            if let o = runSlice(v, limits: limits) { return .end(o) }
            guard alone, v.state == .running, !v.initPending, v.sipiVector == nil, !v.guestStateStale,
                  v.pendingVMCS01Writes.isEmpty, !sleeping else { return .ran }
            deliverEvents(to: v)
            guard v.state == .running else { return .ranThenWaits }
        }
    }

    /// One `Processor.run` slice of `v` and L0's handling of how it ended; an outcome ends the
    /// run.
    private func runSlice(_ v: VCPU, limits: RunLimits) -> Outcome? {
        currentVCPU = .passUnretained(v)
        // One clock read before the slice, one after it, one after L0's handling: nothing
        // between them moves virtual time.
        let started = clock.nanoseconds
        clock.synchronizeTSC(v.processor, now: started)
        v.isRunning = true
        let shared = vcpus.count > 1 && moreThanOneRunnable
        // Pause-loop exiting, L0's way (SDM Vol. 3C §26.1.3 "PAUSE exiting"): while vCPUs share
        // the thread, PAUSE ends a spinning vCPU's slice.
        setPrimaryControl(v, .pauseExiting, shared)
        // Per-level accounting (Tracing's timeline): the slice, and what L0 emulates while
        // handling its end, count at the level that ran it; L0's span runs from the exit to
        // the end of this slice's handling.
        let inL2 = v.inL2, level: ExitEvent.Level = inL2 ? .l2 : .l1
        let retiredBefore = v.processor.instructionsRetired
        let vpid12 = level == .l2 ? UInt16(truncatingIfNeeded: v.vmx?.runningVMCS12?[.virtualProcessorIdentifier] ?? 0) : 0
        var guestEnd = started
        var end: UInt64?
        defer {
            exitTrace.recordSlice(cpu: UInt16(v.index), level: level, guestVPID: vpid12,
                                  start: started, guestEnd: guestEnd, end: end ?? clock.nanoseconds,
                                  instructions: v.processor.instructionsRetired &- retiredBefore)
        }
        let slice = budget(sliceBudget(for: v, shared: shared, now: started), within: limits, now: started)
        // VMCS01, or while L2 runs the VMCS02 nested VMX keeps current (it stays current until
        // L0 handles the exit).
        let outcome = inL2 ? v.processor.run(vmcs: v.currentVMCS, budget: slice) : v.processor.run(vmcs: v.vmcs01, budget: slice)
        guestEnd = clock.nanoseconds
        v.eventJustQueued = false
        v.isRunning = false
        switch outcome {
        case .vmExit(let reason):
            if (inL2 ? v.currentVMCS : v.vmcs01).exitReasonField.isEntryFailure {
                return .l0Failure(cpu: v.index, message: entryFailureMessage(v, reason: "\(reason)"))
            }
            let resolution = level == .l2 ? handleL2Exit(reason, on: v) : handleL1Exit(reason, on: v, at: guestEnd)
            if case .end(let o) = resolution { return o }
        case .entryFailed(let error):
            return .l0Failure(cpu: v.index, message: entryFailureMessage(v, reason: "VMfailValid \(error.rawValue)"))
        case .vmxAbort(let indicator):
            return .l0Failure(cpu: v.index, message: "VMX abort \(indicator.rawValue) (\(indicator)) on a VM exit from VMCS01: an L0 bug")
        case .halted:
            v.state = .halted
        case .budgetExhausted where inL2 && v.currentVMCS[.guestActivityState] == UInt64(ActivityState.waitForSIPI.rawValue):
            // L2 waits for a SIPI (only a SIPI exit ends that state, §26.2): idle until one comes.
            v.state = .waitingForSIPI
        case .budgetExhausted, .stopRequested, .interruptWindow:
            break
        }
        let now = clock.nanoseconds
        end = now
        scheduler.runDue(now: now)
        if let s = exitStatus { return .exited(status: s) }
        if poweredOff { return .poweredOff }
        return limitReached(limits, now: now)
    }

    /// An entry into a VMCS L0 built failed: an L0 bug, reported with the rule it broke.
    private func entryFailureMessage(_ v: VCPU, reason: String) -> String {
        let which = v.currentVMCS === v.vmcs01 ? "VMCS01" : "VMCS02"
        let whose = which == "VMCS01" && v.vmcs01Edited ? "with the fields --vmcs01-write set" : "an L0 bug"
        guard let f = v.processor.lastEntryCheckFailure else { return "\(which) failed VM entry (\(reason)): \(whose)" }
        return "\(which) failed VM entry: \(f) — \(whose)"
    }

    /// More than one vCPU is runnable (the slice is shared).
    private var moreThanOneRunnable: Bool {
        var n = 0
        for v in vcpus where v.state == .running {
            n += 1
            if n > 1 { return true }
        }
        return false
    }

    /// Instructions the current slice may run: up to the next timer deadline (`now` is the
    /// clock), and the shorter shared slice while other vCPUs are runnable too.
    private func sliceBudget(for v: VCPU, shared: Bool, now: UInt64) -> UInt64 {
        var budget = configuration.sliceInstructions
        if shared {
            budget = min(budget, v.eventJustQueued ? configuration.eventSliceInstructions
                                                   : configuration.sharedSliceInstructions)
        }
        if let d = scheduler.nextDeadline {
            let left = d > now ? (d - now + clock.nanosecondsPerInstruction - 1) / clock.nanosecondsPerInstruction : 1
            budget = max(1, min(budget, left))
        }
        return budget
    }

    func hasDeliverableEvent(_ v: VCPU) -> Bool {
        if v.nmiPending { return true }
        guard v.lapic.pendingVector != nil || externalInterruptRequested(v) else { return false }
        return v.interruptFlag
    }

    /// The 8259's INTR reaches vCPU `v`: the BSP's local APIC passes ExtINT (virtual wire,
    /// SDM Vol. 3A §12.5.1) and the 8259 pair requests.
    @inline(__always)
    private func externalInterruptRequested(_ v: VCPU) -> Bool {
        guard v.index == 0 && v.lapic.acceptsExtINT else { return false }
        if let pic { return pic._withUnsafeGuaranteedRef { $0.interruptRequested } }
        return externalInterrupts?.interruptRequested == true
    }

    /// VMCS01 asks for interrupt-window exits (SDM Vol. 3C §25.6.2, §26.2).
    @inline(__always)
    static func interruptWindowExiting(_ vmcs01: VMCS) -> Bool {
        vmcs01.primary.contains(.interruptWindowExiting)
    }

    /// Queues the highest-priority pending event for the next VM entry through VMCS01's
    /// VM-entry interruption-information field (SDM Vol. 3C §25.8.3, §27.6): a single-step
    /// #DB L0 owes, then an NMI, then a maskable interrupt from the local APIC or the 8259
    /// (SDM Vol. 3A §6.9 Table 6-2 priorities). A maskable interrupt waits for RFLAGS.IF = 1
    /// and no blocking by STI / MOV SS (§6.8.1, Vol. 3C §25.4.2); while it waits, VMCS01 asks
    /// for an interrupt-window exit, and an NMI blocked by L1's NMI handler for an
    /// NMI-window exit (§26.5.2).
    ///
    /// While L2 runs, an NMI or interrupt vmcs12 makes exit (NMI exiting, external-interrupt
    /// exiting) is presented to the processor instead, which takes the VM exit at the right
    /// boundary whatever L2's RFLAGS.IF (SDM Vol. 3C §26.2); the others are L2's to take.
    private func deliverEvents(to v: VCPU) {
        // The controllers' state words, read once: nothing below changes them before the
        // acknowledge at the end (an L2's presented interrupt returns first).
        let extINT = externalInterruptRequested(v)
        let interruptPending = extINT || v.lapic.pendingVector != nil
        let l2 = v.inL2 ? v.vmx : nil
        if !v.nmiPending && !v.pendingDebugTrap && l2 == nil {
            // Two states in which the full path below changes nothing, told apart with the
            // controllers' words and three VMCS01 fields.
            let vmcs01 = v.vmcs01, window = Self.interruptWindowExiting(vmcs01)
            // Nothing to queue, and interrupt-window exiting (the one thing the path could
            // change) already off.
            if !interruptPending && !window { return }
            // An interrupt L1 blocks (RFLAGS.IF = 0, STI or MOV SS blocking, SDM Vol. 3A §6.8.1,
            // Vol. 3C §25.4.2) while it runs, with the window exit already asked for.
            if interruptPending && window && v.state == .running
                && (vmcs01[.guestRFLAGS] & (1 << 9) == 0 || !vmcs01.guestInterruptibility.isDisjoint(with: .blockingBySTIOrMovSS))
                && vmcs01[.guestActivityState] != UInt64(ActivityState.shutdown.rawValue) { return }
        }
        guard v.state == .running || v.state == .halted else { return }
        let vmcs: VMCS
        if let vmx = l2 {
            if presentExitingEvents(to: v, vmx) { return }
            vmcs = vmx.currentVMCS
        } else {
            vmcs = v.vmcs01
        }
        // One event per entry: an event already queued (or being re-injected) goes first.
        guard !vmcs.entryInterruption.isValid else { return }
        // SDM Vol. 3C §27.3.1.5: VM entry injects only events the guest's activity state lets
        // through — in shutdown NMIs alone, waiting for a SIPI nothing (§27.7.4: those states
        // block the rest, which stay pending). Only an L2 is ever entered in those states.
        let activity = vmcs[.guestActivityState]
        if activity == UInt64(ActivityState.waitForSIPI.rawValue) { return }
        let shutdown = activity == UInt64(ActivityState.shutdown.rawValue)
        if v.pendingDebugTrap && !shutdown {
            if v.state == .halted && !hasDeliverableEvent(v) { return }   // the trap follows the HLT's wake-up
            v.pendingDebugTrap = false
            inject(v, vector: Vector.db)
            v.state = .running
            return
        }
        let blocking = vmcs.guestInterruptibility
        if v.nmiPending {
            // Blocked by (virtual-)NMI blocking, MOV SS or STI (which §25.4.2 Table 25-3 lets
            // a processor apply to NMIs; this one does, and so does its NMI-window exiting):
            // NMI-window exiting.
            if blocking.isDisjoint(with: [.blockingByNMI, .blockingByMovSS, .blockingBySTI]) {
                v.nmiPending = false
                setNMIWindowExiting(v, false)
                vmcs.inject(InterruptionInformation(vector: Vector.nmi, type: .nmi))
                v.state = .running
                v.eventJustQueued = true
                return
            }
            if v.inL2 && !vmcs.pin.contains(.virtualNMIs) {
                // §27.2.1.1: "NMI-window exiting" requires "virtual NMIs", which is vmcs12's
                // choice; the processor takes the NMI itself, through L2's IDT, once L2's
                // blocking ends (its IRET, Vol. 3A §6.7.1).
                v.nmiPending = false
                v.processor.presentNMI()
            } else {
                setNMIWindowExiting(v, true)
            }
        }
        guard interruptPending && !shutdown else {
            setL0Control(.interruptWindowExiting, false, l2: l2, vmcs01: vmcs)
            return
        }
        guard vmcs[.guestRFLAGS] & (1 << 9) != 0, blocking.isDisjoint(with: .blockingBySTIOrMovSS) else {
            // Regain control as soon as the guest can take it (after STI, MOV SS, POPF…).
            if v.state == .running { setL0Control(.interruptWindowExiting, true, l2: l2, vmcs01: vmcs) }
            return
        }
        var vector: UInt8?
        if v.lapic.pendingVector != nil {
            vector = v.lapic.acknowledge()
        } else if extINT, let pic = externalInterrupts {
            vector = pic.acknowledgeInterrupt()
        }
        setL0Control(.interruptWindowExiting, false, l2: l2, vmcs01: vmcs)
        if let vec = vector {
            vmcs.inject(InterruptionInformation(vector: vec, type: .external))
            v.state = .running
            v.eventJustQueued = true
        }
    }

    /// NMIs and interrupts that make L2 exit to L1: presented to the processor (the exit comes
    /// at the next boundary where nothing blocks it). True when an interrupt was presented
    /// (nothing else is queued for this entry).
    private func presentExitingEvents(to v: VCPU, _ vmx: VirtualVMX) -> Bool {
        if v.nmiPending && vmx.l2ExitsOnNMI {
            v.nmiPending = false
            v.processor.presentNMI()
            v.state = .running
            v.eventJustQueued = true
        }
        guard vmx.l2ExitsOnExternalInterrupt else { return false }
        if let vector = v.lapic.pendingVector {
            v.processor.presentExternalInterrupt(vector: vector)
            v.state = .running
            return true
        }
        if v.index == 0, v.lapic.acceptsExtINT, externalInterrupts?.interruptRequested == true {
            // The 8259's vector is known only once it is acknowledged (INTA).
            if v.processor.presentedExternalInterrupt == nil, let vector = externalInterrupts?.acknowledgeInterrupt() {
                v.processor.presentExternalInterrupt(vector: vector)
            }
            v.state = .running
            return true
        }
        if v.processor.presentedExternalInterrupt != nil && !vmx.l2AcknowledgesInterruptOnExit {
            v.processor.withdrawExternalInterrupt()
        }
        return false
    }

    /// Machine reset after a triple fault without `noReboot`: processors to their reset state.
    func reset() {
        resets += 1
        resetProcessors()
    }

    /// Every processor and local APIC to its reset state; the BSP runs, the APs wait for a
    /// SIPI. An event L0 had queued for VMCS01 is dropped with the state it was meant for.
    func resetProcessors() {
        for v in vcpus {
            v.vmcs01.entryInterruption = .none
            v.vmx?.reset()
            v.processor.reset()
            v.guestStateStale = true
            v.pendingDebugTrap = false
            v.lapic.powerOnReset()
            v.state = v.index == 0 ? .running : .waitingForSIPI
        }
    }
}

/// The local APIC MMIO page decodes to the APIC of the vCPU making the access.
final class LocalAPICWindow: MMIODevice {
    unowned let vm: VirtualMachine
    init(_ vm: VirtualMachine) { self.vm = vm }
    func mmioRead(offset: UInt64, size: Int) -> UInt64 { vm.current.lapic.mmioRead(offset: offset, size: size) }
    func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        vm.current.lapic.mmioWrite(offset: offset, size: size, value: value)
    }
}

/// Platform MSRs: the local APIC's (SDM Vol. 3A §12.4.4, §12.12.1.2, §12.5.4.1) and the VMX
/// capability MSRs nested VMX offers (Vol. 3D Appendix A). Each processor reaches them through
/// its `PlatformRegisterPort`, which also owns CR8's path to the TPR.
extension VirtualMachine {
    public func readMSR(_ index: UInt32, cpu: Processor) -> PlatformMSRResult {
        let lapic = vcpus[cpu.index].lapic
        switch index {
        case MSRIndex.apicBase: return .value(lapic.baseMSR)
        case MSRIndex.tscDeadline:
            return configuration.cpuModel.has(.tscDeadline) ? .value(lapic.tscDeadline) : .generalProtection
        case MSRIndex.x2apicBase...MSRIndex.x2apicLast: return lapic.readMSR(index).map { .value($0) } ?? .generalProtection
        // SDM Vol. 3D Appendix A: the VMX capability MSRs report what nested VMX offers this
        // vCPU; one it does not offer (or without VMX at all) is not implemented (#GP).
        case MSRIndex.vmxBasic...MSRIndex.vmxVMFunc: return nested?.capabilities.msr(index).map { .value($0) } ?? .generalProtection
        default: return .notHandled
        }
    }

    public func writeMSR(_ index: UInt32, value: UInt64, cpu: Processor) -> PlatformMSRResult {
        let lapic = vcpus[cpu.index].lapic
        switch index {
        case MSRIndex.apicBase:
            return lapic.writeBaseMSR(value, physicalAddressBits: configuration.cpuModel.physicalAddressBits)
                ? .value(0) : .generalProtection
        case MSRIndex.tscDeadline:
            guard configuration.cpuModel.has(.tscDeadline) else { return .generalProtection }
            lapic.writeTSCDeadline(value)
            return .value(0)
        case MSRIndex.x2apicBase...MSRIndex.x2apicLast: return lapic.writeMSR(index, value) ? .value(0) : .generalProtection
        // Appendix A: the VMX capability MSRs are read-only (WRMSR #GP).
        case MSRIndex.vmxBasic...MSRIndex.vmxVMFunc: return .generalProtection
        default: return .notHandled
        }
    }
}
