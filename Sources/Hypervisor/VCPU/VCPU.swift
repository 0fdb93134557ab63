import CPU
import NestedVMX
import Platform

/// One virtual processor: the emulated processor, its local APIC, and the run state the
/// scheduler needs (SDM Vol. 3A §9.4 for INIT and start-up IPIs).
public final class VCPU: LocalAPICHost {
    public enum RunState: Equatable, Sendable {
        case running
        /// HLT: waits for an interrupt (or NMI, INIT).
        case halted
        /// An application processor after INIT: waits for a start-up IPI.
        case waitingForSIPI
        /// Triple fault: the processor is in shutdown.
        case shutdown
    }

    public let index: Int
    public let processor: Processor
    public let lapic: LocalAPIC
    public internal(set) var state: RunState
    var nmiPending = false
    /// The vCPU is inside `Processor.run` (an APIC event must interrupt the slice).
    var isRunning = false
    var initPending = false
    var sipiVector: UInt8?
    /// The VMCS L0 runs L1 under (L1's state between VM exits and entries).
    public let vmcs01: VMCS
    /// The virtual processor's VMX operation when L0 offers VMX to L1 (nested VMX). A
    /// constant, so the exit path reads it without retaining it.
    public let vmx: VirtualVMX?
    /// The VMCS the next `Processor.run(vmcs:)` enters: VMCS01, or the VMCS02 of a nested
    /// guest while L1 has one running. Exit handlers that complete an instruction or queue an
    /// event act on this one.
    public var currentVMCS: VMCS { vmx?.currentVMCS ?? vmcs01 }
    /// L2 runs (its exits go through nested VMX's routing).
    public var inL2: Bool { vmxUnretained?._withUnsafeGuaranteedRef { $0.inL2 } ?? false }
    /// `vmx`, for the exit path's questions without a retain.
    private let vmxUnretained: Unmanaged<VirtualVMX>?
    /// L0 changed the processor's state directly (boot, reset, INIT, SIPI): VMCS01's guest
    /// state is taken from the processor before the next VM entry.
    var guestStateStale = true
    /// VMCS01 writes a developer asked for (`run --vmcs01-write`), made once, after L0 has
    /// filled VMCS01 and before the first VM entry, so the entry checks judge them.
    public var pendingVMCS01Writes: [(field: VMCSField, value: UInt64)] = []
    /// VMCS01 holds such writes: a failed entry into it is theirs, not an L0 bug.
    var vmcs01Edited = false
    /// L0 completed an instruction with RFLAGS.TF = 1: a single-step #DB is owed before any
    /// interrupt (SDM Vol. 3A §6.9, Table 6-2).
    var pendingDebugTrap = false
    /// L0 queued an NMI or interrupt for the next entry: the slice is short while other vCPUs
    /// run, so a sender spinning on the handler's effect sees it soon (`eventSliceInstructions`).
    var eventJustQueued = false

    init(index: Int, processor: Processor, lapic: LocalAPIC, vmcs01: VMCS, vmx: VirtualVMX?) {
        self.index = index
        self.processor = processor
        self.lapic = lapic
        self.vmcs01 = vmcs01
        self.vmx = vmx
        vmxUnretained = vmx.map { .passUnretained($0) }
        state = index == 0 ? .running : .waitingForSIPI
    }

    // MARK: LocalAPICHost

    /// An external interrupt can reach the guest as L0 will next enter it: its RFLAGS.IF, or
    /// L2 exits to L1 on external interrupts (RFLAGS.IF does not block those, SDM Vol. 3C §26.2).
    var interruptFlag: Bool {
        if vmx?.l2ExitsOnExternalInterrupt == true { return true }
        return (guestStateStale ? processor.rflags : currentVMCS[.guestRFLAGS]) & (1 << 9) != 0
    }

    public func apicInterruptPending() {
        guard lapic.pendingVector != nil else { return }
        // An interrupt that makes L2 exit to L1 wakes it whatever L2's RFLAGS.IF (§26.2).
        if state == .halted, interruptFlag { state = .running }
        // A self-IPI or a device on this vCPU's own instruction: deliver at the next boundary.
        if isRunning { processor.requestStop() }
    }

    public func apicNMI() {
        nmiPending = true
        if state == .halted { state = .running }
        if isRunning { processor.requestStop() }
    }

    /// INIT cancels any start-up IPI received before it.
    public func apicINIT() {
        initPending = true
        sipiVector = nil
        if isRunning { processor.requestStop() }
    }

    /// A SIPI counts only in the wait-for-SIPI state (or right after an INIT not yet applied).
    public func apicStartup(vector: UInt8) {
        if state == .waitingForSIPI || initPending || vmx?.inL2 == true { sipiVector = vector }
    }

    /// Applies INIT and SIPI received since the last slice (SDM Vol. 3A §9.4.3): INIT resets the
    /// processor; an application processor then waits for a SIPI, which starts real-mode
    /// execution at vector × 4096.
    func applyInterprocessorSignals() {
        // SDM Vol. 3C §24.8, §26.2: in VMX operation INIT is blocked in root operation (it waits)
        // and causes a VM exit in non-root operation (L2 → L1, reason 3); a SIPI makes an L2 in
        // the wait-for-SIPI state exit (reason 4).
        if let vmx, vmx.inVMXOperation {
            if initPending && vmx.inL2 {
                initPending = false
                processor.presentINIT()
            }
            if let v = sipiVector, vmx.inL2 {
                sipiVector = nil
                processor.presentSIPI(vector: v)
                if state == .halted || state == .waitingForSIPI { state = .running }
            }
            return
        }
        if initPending {
            initPending = false
            guestStateStale = true
            pendingDebugTrap = false
            processor.reset()
            lapic.resetRegisters()
            // The BSP restarts at the reset vector; application processors wait for a SIPI.
            state = lapic.baseMSR & (1 << 8) != 0 ? .running : .waitingForSIPI
        }
        if state == .waitingForSIPI, let v = sipiVector {
            sipiVector = nil
            guestStateStale = true
            processor.setSegment(.cs, SegmentRegister(selector: UInt16(v) << 8, base: UInt64(v) << 12,
                                                      limit: 0xFFFF, accessRights: 0x9B))
            processor.rip = 0
            state = .running
        }
    }
}
