@_extern(c, "vm_exit_entry_address") func vmExitEntryAddress() -> UInt64

/// Filling a guest's VMCS on the processor that will run it (a VMCS is active on one processor
/// at a time, SDM Vol. 3C §25.1). Every field L1 relies on is written: after VMCLEAR the region's
/// contents are implementation-specific (§25.11.3, "Initializing a VMCS").
enum VMCSSetup {
    static func initialize(_ g: UnsafeMutablePointer<Guest>) {
        VMX.clear(g.pointee.vmcs)
        VMX.pointerLoad(g.pointee.vmcs)
        writeControls(g.pointee)
        writeHostState(cpu: g.pointee.cpu)
        GuestState.write(g.pointee)
        let caps = VMXOperation.capabilities
        if g.pointee.vpid != 0 && caps.invvpidSingleContext { VMX.invalidateVPID(g.pointee.vpid) }
        if caps.inveptSingleContext { VMX.invalidateEPT(g.pointee.eptp) }
    }

    /// §25.6–§25.8: the chosen controls, bitmaps, EPT and VPID, no MSR lists, nothing to inject;
    /// CR0/CR4 bits VMX operation forces are owned by L1 (guest/host masks) and read as the
    /// guest's own values (read shadows, §25.6.6).
    static func writeControls(_ g: Guest) {
        let s = ControlSettings.chosen
        VMX.write(.pinBasedControls, UInt64(s.pin))
        VMX.write(.primaryProcessorBasedControls, UInt64(s.primary))
        VMX.write(.secondaryProcessorBasedControls, UInt64(s.secondary))
        VMX.write(.vmExitControls, UInt64(s.exit))
        VMX.write(.vmEntryControls, UInt64(g.definition.mode == .longMode ? s.entry64 : s.entry))
        VMX.write(.exceptionBitmap, 0)
        VMX.write(.pageFaultErrorCodeMask, 0)
        VMX.write(.pageFaultErrorCodeMatch, 0)
        VMX.write(.cr3TargetCount, 0)
        VMX.write(.vmExitMSRStoreCount, 0)
        VMX.write(.vmExitMSRLoadCount, 0)
        VMX.write(.vmEntryMSRLoadCount, 0)
        VMX.write(.vmEntryInterruptionInformation, 0)
        VMX.write(.ioBitmapA, Bitmaps.ioA)
        VMX.write(.ioBitmapB, Bitmaps.ioB)
        VMX.write(.msrBitmaps, Bitmaps.msr)
        VMX.write(.eptPointer, g.eptp)
        if s.vpid { VMX.write(.virtualProcessorID, UInt64(g.vpid)) }
        if s.preemptionTimer { VMX.write(.preemptionTimerValue, Scheduler.quantum) }
        let c = VMXOperation.capabilities
        let unrestricted = g.definition.mode == .realMode
        let cr0Forced = (c.cr0Fixed0 | ~c.cr0Fixed1) & 0xFFFF_FFFF & ~(unrestricted ? GuestState.cr0PE | GuestState.cr0PG : 0)
        let cr4Forced = (c.cr4Fixed0 | ~c.cr4Fixed1) & 0xFFFF_FFFF
        VMX.write(.cr0GuestHostMask, cr0Forced)
        VMX.write(.cr4GuestHostMask, cr4Forced)
        VMX.write(.cr0ReadShadow, GuestState.wantedCR0(g.definition.mode))
        VMX.write(.cr4ReadShadow, GuestState.wantedCR4(g.definition.mode))
    }

    /// §25.5 ("Host-State Area") with the §27.2.3 rules: L1's own control registers, CS = 18H,
    /// SS/DS/ES = 10H, FS/GS = 0, this CPU's TR; VM exits continue at vm_exit_entry
    /// (HOST_RSP is written by vmx_run before each entry).
    static func writeHostState(cpu: Int) {
        VMX.write(.hostCR0, readCR0())
        VMX.write(.hostCR3, readCR3())
        VMX.write(.hostCR4, readCR4())
        VMX.write(.hostCS, UInt64(Layout.kernelCS64))
        VMX.write(.hostSS, UInt64(Layout.kernelDS))
        VMX.write(.hostDS, UInt64(Layout.kernelDS))
        VMX.write(.hostES, UInt64(Layout.kernelDS))
        VMX.write(.hostFS, 0)
        VMX.write(.hostGS, 0)
        VMX.write(.hostTR, UInt64(TaskState.selector(cpu: cpu)))
        VMX.write(.hostFSBase, 0)
        VMX.write(.hostGSBase, 0)
        VMX.write(.hostTRBase, TaskState.base(cpu: cpu))
        VMX.write(.hostGDTRBase, gdtrBase())
        VMX.write(.hostIDTRBase, idtrBase())
        VMX.write(.hostSysenterCS, 0)
        VMX.write(.hostSysenterESP, 0)
        VMX.write(.hostSysenterEIP, 0)
        if ControlSettings.chosen.efer { VMX.write(.hostEFER, readMSR(0xC000_0080)) }
        VMX.write(.hostRIP, vmExitEntryAddress())
    }
}
