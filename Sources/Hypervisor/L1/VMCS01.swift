import CPU

/// VMCS01: the VMCS under which L0 runs an L1 vCPU (SDM Vol. 3C ch. 25 "Virtual Machine
/// Control Structures"). Every L1 I/O instruction, CPUID, RDMSR/WRMSR and HLT exits to L0;
/// L1 memory is EPT01; L1 may run in any mode, real mode included ("unrestricted guest").
///
/// The bits VMX operation fixes but L1 must not see fixed are host-owned through the
/// guest/host masks, with L1's own values in the read shadows (§25.6.6, §26.3): CR0.NE
/// (fixed to 1, IA32_VMX_CR0_FIXED0) and CR4.VMXE (fixed to 1, IA32_VMX_CR4_FIXED0; L1 is not
/// offered VMX).
public enum VMCS01 {
    /// CR0 bits L0 owns: NE. (PE and PG are free with "unrestricted guest", §27.3.1.1.)
    public static let cr0HostOwned: UInt64 = CR0.ne
    /// CR4 bits L0 owns: VMXE.
    public static let cr4HostOwned: UInt64 = CR4.vmxe

    /// A VMCS01 with L0's controls and host state, whose guest state is set later with
    /// `load(guestStateOf:into:)`.
    /// Each vCPU's VMCS01 has its own VPID (index + 1), so L1's cached translations survive
    /// its VM exits and entries (SDM Vol. 3C §29.1: with VPID 0 or VPID off, every entry and
    /// exit would invalidate them).
    public static func make(ept: EPTPointer, vpid: UInt16) -> VMCS {
        let v = VMCS()
        // Virtual NMIs (with NMI exiting, which they require, §27.2.1.1): L1's NMI blocking is
        // tracked per VMCS so L0 can ask for an NMI-window exit (§26.5.2) when it has an NMI
        // for an L1 that is still handling one.
        let pin = PinBasedControls.default1.union([.nmiExiting, .virtualNMIs])
        let primary = PrimaryProcessorBasedControls.default1
            .union([.hltExiting, .unconditionalIOExiting, .activateSecondaryControls])
            .subtracting([.cr3LoadExiting, .cr3StoreExiting])
        let secondary: SecondaryProcessorBasedControls = [.enableEPT, .enableVPID, .unrestrictedGuest, .enableRDTSCP,
                                                          .enableINVPCID]
        let exit = VMExitControls.default1.union([.hostAddressSpaceSize, .saveDebugControls, .savePAT, .loadPAT,
                                                  .saveEFER, .loadEFER])
        let entry = VMEntryControls.default1.union([.loadDebugControls, .loadPAT, .loadEFER])
        v[.pinBasedControls] = UInt64(pin.rawValue)
        v[.primaryProcessorBasedControls] = UInt64(primary.rawValue)
        v[.secondaryProcessorBasedControls] = UInt64(secondary.rawValue)
        v[.exitControls] = UInt64(exit.rawValue)
        v[.entryControls] = UInt64(entry.rawValue)
        v[.eptPointer] = ept.raw
        v[.virtualProcessorIdentifier] = UInt64(vpid)
        // #UD only: L0 implements VMMCALL (the AMD hypercall instruction) for L1 (KVMHypercall).
        v[.exceptionBitmap] = 1 << UInt64(Vector.ud)
        v[.cr0GuestHostMask] = cr0HostOwned
        v[.cr4GuestHostMask] = cr4HostOwned
        // Host state: L0 is Swift code, so these only have to be a valid 64-bit host (§27.2.2,
        // §27.2.3); a VM exit returns to L0's caller, it does not load them.
        v[.hostCR0] = CR0.pe | CR0.et | CR0.ne | CR0.pg
        v[.hostCR4] = CR4.pae | CR4.vmxe
        v[.hostCR3] = 0x1000
        v[.hostCSSelector] = 0x08
        v[.hostSSSelector] = 0x10
        v[.hostTRSelector] = 0x18
        v[.hostRIP] = 0xFFFF_FFFF_8000_0000
        v[.hostIA32PAT] = 0x0007_0406_0007_0406
        v[.hostIA32EFER] = EFER.lme | EFER.lma
        return v
    }

    /// Puts `p`'s architectural state into `v`'s guest-state area (§28.3 layout), with the
    /// host-owned CR0/CR4 bits forced to their VMX-operation values and L1's own values kept
    /// in the read shadows.
    public static func load(guestStateOf p: Processor, into v: VMCS) {
        p.storeGuestState(into: v)
        let cr0 = v[.guestCR0], cr4 = v[.guestCR4]
        v[.cr0ReadShadow] = cr0 & cr0HostOwned
        v[.cr4ReadShadow] = cr4 & cr4HostOwned
        v[.guestCR0] = cr0 | CR0.ne
        v[.guestCR4] = cr4 | CR4.vmxe
        v[.guestIA32EFER] = p.efer
        v[.guestIA32PAT] = p.msr.pat
        v[.guestIA32DebugCtl] = p.msr.debugCtl
        v[.guestDR7] = p.dr7
        v[.entryInterruptionInformation] = 0
        v.launched = false
    }
}
