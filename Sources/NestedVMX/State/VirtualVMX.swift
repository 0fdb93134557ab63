import CPU

/// The VMX operation of one virtual processor as its guest hypervisor sees it (SDM Vol. 3C
/// ch. 24 "Introduction to VMX Operation", §25.1 "VMCS States"): whether L1 is in VMX
/// operation (VMXON), its VMXON region, its current and active VMCSs (vmcs12s), and — while
/// L1 runs a guest — the VMCS02 the processor runs that guest (L2) under.
///
/// L1's own state lives in VMCS01's guest-state area between its exits; this object reads L1's
/// view of it there (`l1CR0`, `l1CR4`, …) and writes it on a virtual VM exit.
public final class VirtualVMX {
    unowned let nested: NestedVMX
    public let processor: Processor
    public let vmcs01: VMCS
    var l1: L1Memory { nested.l1 }
    var capabilities: VMXCapabilities { nested.capabilities }
    /// The table indices of the fields a virtual VM exit moves (`FieldIndices`).
    let ix = FieldIndices.shared

    /// L0's per-processor pages: copies of vmcs12's VMREAD/VMWRITE bitmaps for VMCS02, the
    /// region VMCS01's link pointer names while L0 shadows vmcs12 for L1 (and VMCS02's, for
    /// L2's shadow vmcs12, while L2 runs), and a scratch page standing in for vmcs12 addresses
    /// that are not L1 RAM.
    struct Pages {
        let vmreadBitmap: UInt64, vmwriteBitmap: UInt64, shadowLink: UInt64, scratch: UInt64
    }
    let pages: Pages

    /// In VMX operation (between L1's VMXON and VMXOFF).
    public internal(set) var inVMXOperation = false
    /// The VMXON pointer (§31.2: VMCLEAR and VMPTRLD of it fail).
    var vmxonRegion: UInt64 = ~0
    /// The current VMCS (§25.1), nil when the current-VMCS pointer is FFFFFFFF_FFFFFFFFH.
    @usableFromInline var current: VMCS12?
    let cache = VMCS12Cache()
    /// L2 runs: the processor's next entry is into `current`'s VMCS02 (VMX non-root operation
    /// from L1's point of view).
    public internal(set) var inL2 = false
    /// EPT02 hierarchies of this processor, by EPT12.
    let ept02: EPT02
    /// VPID02 for each VPID L1 used in a vmcs12; `noVPID02` for vmcs12s without "enable VPID".
    var vpid02: [UInt16: UInt16] = [:]
    lazy var noVPID02: UInt16 = nested.allocateVPID02()
    /// The guest/host masks and read shadows VMCS01 had before VMXON (VMX operation adds
    /// CR0.PE/PG to what L0 owns, to hold them fixed, §24.8).
    var savedCR0Mask: UInt64 = 0, savedCR0Shadow: UInt64 = 0
    /// Counts changes of VMCS01's host-state fields, which every VMCS02 copies (`buildVMCS02`).
    var vmcs01HostStateGeneration: UInt64 = 0
    /// Statistics for the run's summary and trace.
    public internal(set) var virtualEntries: UInt64 = 0
    public internal(set) var reflectedExits: UInt64 = 0

    init(nested: NestedVMX, processor: Processor, vmcs01: VMCS, pages: Pages) {
        self.nested = nested
        self.processor = processor
        self.vmcs01 = vmcs01
        self.pages = pages
        ept02 = EPT02(pool: nested.pages, l1: nested.l1, features: nested.capabilities.ept,
                      physicalAddressBits: nested.capabilities.physicalAddressBits)
        ept02.reclaim = { [unowned nested] in nested.reclaimEPT02Pool() }
    }

    /// The VMCS the processor enters next for this virtual processor: VMCS02 while L2 runs.
    @inlinable public var currentVMCS: VMCS { inL2 ? (current?.vmcs02 ?? vmcs01) : vmcs01 }

    /// The vmcs12 whose guest runs (nil in VMX root operation).
    public var runningVMCS12: VMCS? { inL2 ? current?.vmcs : nil }

    // MARK: L1's view of its state (VMCS01 guest state and read shadows, §25.6.6)

    /// CR0 as L1 reads it: host-owned bits from the read shadow.
    var l1CR0: UInt64 {
        let mask = vmcs01[.cr0GuestHostMask]
        return (vmcs01[.guestCR0] & ~mask) | (vmcs01[.cr0ReadShadow] & mask)
    }
    var l1CR4: UInt64 {
        let mask = vmcs01[.cr4GuestHostMask]
        return (vmcs01[.guestCR4] & ~mask) | (vmcs01[.cr4ReadShadow] & mask)
    }
    var l1EFER: UInt64 { vmcs01[.guestIA32EFER] }
    /// L1 is in IA-32e mode (IA32_EFER.LMA).
    var l1InIA32eMode: Bool { l1EFER & EFER.lma != 0 }

    /// VMX operation fixes CR0.PE, CR0.PG (and NE, already L0's) and CR4.VMXE (§24.8): L0 owns
    /// them in VMCS01 while L1 is in VMX operation, so an attempt to clear one exits and
    /// becomes #GP(0).
    func holdFixedBits(_ on: Bool) {
        let fixed = CR0.pe | CR0.pg
        if on {
            savedCR0Mask = vmcs01[.cr0GuestHostMask]
            savedCR0Shadow = vmcs01[.cr0ReadShadow]
            vmcs01[.cr0GuestHostMask] = savedCR0Mask | fixed
            vmcs01[.cr0ReadShadow] = (savedCR0Shadow & ~fixed) | (vmcs01[.guestCR0] & fixed)
        } else {
            vmcs01[.cr0GuestHostMask] = savedCR0Mask
            vmcs01[.cr0ReadShadow] = (vmcs01[.cr0ReadShadow] & savedCR0Mask)
        }
    }

    /// A MOV to CR0/CR4 by L1 that changes a bit L0 owns (after L0's own policy accepted it):
    /// false when VMX operation forbids it (SDM Vol. 3C §24.8: CR0.PE, PG, NE and CR4.VMXE
    /// cannot be cleared in VMX operation → #GP(0)).
    public func permitsControlRegisterWrite(cr: UInt8, value: UInt64) -> Bool {
        guard inVMXOperation else { return true }
        if cr == 0 { return value & (CR0.pe | CR0.pg | CR0.ne) == CR0.pe | CR0.pg | CR0.ne }
        if cr == 4 { return value & CR4.vmxe != 0 }
        return true
    }

    /// Leaves VMX operation for good (reset, INIT outside VMX operation): nothing is active.
    public func reset() {
        if inVMXOperation { holdFixedBits(false) }
        inVMXOperation = false
        inL2 = false
        current = nil
        vmxonRegion = ~0
        cache.deactivateAll(to: l1)
        ept02.dropAll()
        processor.withdrawExternalInterrupt()
        updateL1VMCSShadowing()
    }

    /// After the EPT02 pool was reclaimed: a running L2 under nested EPT gets its new root in
    /// VMCS02 (a VM entry sets it anyway).
    func repointRunningEPT02() {
        guard inL2, let c = current, let v02 = c.vmcs02, secondary12.contains(.enableEPT),
              let p = ept02.pointer(for: EPTPointer(c.vmcs[.eptPointer])) else { return }
        v02[.eptPointer] = p.raw
    }

    func dropVPID02Mappings() {
        vpid02.removeAll()
        processor.flushTLB()
    }
}

extension VirtualVMX: GuestVMXRootOperation {}

/// How L2's events reach it (SDM Vol. 3C §26.2, §25.6.1): with vmcs12's "external-interrupt
/// exiting" or "NMI exiting", an interrupt or NMI for L1 that arrives while L2 runs is a VM
/// exit to L1; without, it is delivered to L2 through its IDT. L0 asks for interrupt/NMI-window
/// exits in VMCS02 for the second kind (and PAUSE exits to share the processor) on top of
/// whatever vmcs12 asks for.
extension VirtualVMX {
    public var l2ExitsOnExternalInterrupt: Bool { inL2 && pin12.contains(.externalInterruptExiting) }
    public var l2ExitsOnNMI: Bool { inL2 && pin12.contains(.nmiExiting) }
    /// With vmcs12's "acknowledge interrupt on exit", the interrupt exit acknowledges the
    /// interrupt controller (§28.2.2): L0 acknowledges its local APIC when the exit comes.
    public var l2AcknowledgesInterruptOnExit: Bool { exit12.contains(.acknowledgeInterruptOnExit) }

    /// Turns L0's own interrupt-window, NMI-window or PAUSE exiting on or off in VMCS02,
    /// keeping what vmcs12 asks for.
    public func setL0Control(_ control: PrimaryProcessorBasedControls, _ on: Bool) {
        guard let v02 = current?.vmcs02 else { return }
        if on || primary12.contains(control) { v02.primary.insert(control) } else { v02.primary.remove(control) }
    }
}

extension VirtualVMX {
    /// The current vmcs12's exit qualification (for traces of entry failures).
    public var runningOrCurrentExitQualification: UInt64 { current?.vmcs[.exitQualification] ?? 0 }
}
