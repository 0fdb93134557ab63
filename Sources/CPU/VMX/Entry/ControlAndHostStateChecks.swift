/// VM-entry checks on the VMX controls (SDM Vol. 3C §27.2.1 → VM-instruction error 7) and on
/// the host-state area (§27.2.2, §27.2.3 → error 8), each a small named function. These run
/// before any guest state is examined; a failure leaves the processor untouched.
public enum VMInstructionError: UInt32, Error, Sendable {
    case invalidControlFields = 7
    case invalidHostState = 8
}

extension VMCS {
    var pin: PinBasedControls { PinBasedControls(rawValue: UInt32(truncatingIfNeeded: self[.pinBasedControls])) }
    var primary: PrimaryProcessorBasedControls {
        PrimaryProcessorBasedControls(rawValue: UInt32(truncatingIfNeeded: self[.primaryProcessorBasedControls]))
    }
    var secondary: SecondaryProcessorBasedControls {
        primary.contains(.activateSecondaryControls)
            ? SecondaryProcessorBasedControls(rawValue: UInt32(truncatingIfNeeded: self[.secondaryProcessorBasedControls])) : []
    }
    var exitControls: VMExitControls { VMExitControls(rawValue: UInt32(truncatingIfNeeded: self[.exitControls])) }
    var entryControls: VMEntryControls { VMEntryControls(rawValue: UInt32(truncatingIfNeeded: self[.entryControls])) }
}

enum VMEntryChecks {
    static func alignedWithinWidth(_ a: UInt64, _ bits: Int) -> Bool { a & 0xFFF == 0 && a >> UInt64(bits) == 0 }

    /// §27.2.1.1: reserved bits of the execution controls set per the (TRUE) capability MSRs.
    static func executionControlsConform(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        VMXCapabilities.conforms(v.pin.rawValue, to: c.msr(0x48D)!)
            && VMXCapabilities.conforms(v.primary.rawValue, to: c.msr(0x48E)!)
            && (!v.primary.contains(.activateSecondaryControls)
                || VMXCapabilities.conforms(UInt32(truncatingIfNeeded: v[.secondaryProcessorBasedControls]), to: c.msr(0x48B)!))
    }

    /// §27.2.1.1: the CR3-target count is at most 4.
    static func cr3TargetCountValid(_ v: VMCS) -> Bool { v[.cr3TargetCount] <= 4 }

    /// §27.2.1.1: I/O- and MSR-bitmap addresses are 4-KByte aligned within MAXPHYADDR.
    static func bitmapAddressesValid(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        if v.primary.contains(.useIOBitmaps) {
            guard alignedWithinWidth(v[.ioBitmapA], c.physicalAddressBits), alignedWithinWidth(v[.ioBitmapB], c.physicalAddressBits) else { return false }
        }
        if v.primary.contains(.useMSRBitmaps) && !alignedWithinWidth(v[.msrBitmaps], c.physicalAddressBits) { return false }
        return true
    }

    /// §27.2.1.1: with "VMCS shadowing", the VMREAD- and VMWRITE-bitmap addresses are 4-KByte
    /// aligned within MAXPHYADDR.
    static func vmcsShadowingBitmapAddressesValid(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        guard v.secondary.contains(.vmcsShadowing) else { return true }
        return alignedWithinWidth(v[.vmreadBitmapAddress], c.physicalAddressBits)
            && alignedWithinWidth(v[.vmwriteBitmapAddress], c.physicalAddressBits)
    }

    /// §27.2.1.1: "enable VPID" needs a non-zero VPID; "unrestricted guest" needs EPT.
    static func vpidAndUnrestrictedGuestValid(_ v: VMCS) -> Bool {
        if v.secondary.contains(.enableVPID) && v[.virtualProcessorIdentifier] == 0 { return false }
        if v.secondary.contains(.unrestrictedGuest) && !v.secondary.contains(.enableEPT) { return false }
        return true
    }

    /// §27.2.1.1: "virtual NMIs" needs "NMI exiting"; "NMI-window exiting" needs "virtual NMIs".
    static func nmiControlsValid(_ v: VMCS) -> Bool {
        let pin = v.pin
        if pin.contains(.virtualNMIs) && !pin.contains(.nmiExiting) { return false }
        return pin.contains(.virtualNMIs) || !v.primary.contains(.nmiWindowExiting)
    }

    /// §27.2.1.1: the EPT pointer: supported memory type, page-walk length, A/D only if
    /// supported, reserved bits 11:7 clear, address within MAXPHYADDR.
    static func eptPointerValid(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        guard v.secondary.contains(.enableEPT) else { return true }
        let p = EPTPointer(v[.eptPointer])
        let typeOK = (p.memoryType == 0 && c.ept.uncacheableType) || (p.memoryType == 6 && c.ept.writeBackType)
        let levelsOK = (p.levels == 4 && c.ept.fourLevel) || (p.levels == 5 && c.ept.fiveLevel)
        let adOK = !p.accessedDirtyEnabled || c.ept.accessedDirty
        return typeOK && levelsOK && adOK && p.raw & 0xF80 == 0 && p.raw >> UInt64(c.physicalAddressBits) == 0
    }

    /// §27.2.1.2: VM-exit controls conform; "save VMX-preemption timer" needs the timer.
    static func exitControlsConform(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        VMXCapabilities.conforms(v.exitControls.rawValue, to: c.msr(0x48F)!)
            && (v.pin.contains(.activateVMXPreemptionTimer) || !v.exitControls.contains(.saveVMXPreemptionTimer))
    }

    /// §27.2.1.3: VM-entry controls conform; entry to SMM is impossible outside SMM.
    static func entryControlsConform(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        VMXCapabilities.conforms(v.entryControls.rawValue, to: c.msr(0x490)!)
            && !v.entryControls.contains(.entryToSMM) && !v.entryControls.contains(.deactivateDualMonitor)
    }

    /// §27.2.1.3: a valid VM-entry interruption-information field: type not reserved (1),
    /// NMI with vector 2, hardware exceptions with vectors ≤ 31, "other event" only with
    /// vector 0, error code exactly for the exceptions that push one, reserved bits 30:12
    /// clear, and an instruction length 0–15 for software events (0 allowed, MISC[30]).
    static func entryInterruptionValid(_ v: VMCS) -> Bool {
        let info = UInt32(truncatingIfNeeded: v[.entryInterruptionInformation])
        guard info & (1 << 31) != 0 else { return true }
        let type = (info >> 8) & 7, vector = UInt8(info & 0xFF), deliversError = info & (1 << 11) != 0
        if type == 1 || info & 0x7FFF_F000 != 0 { return false }
        if type == 2 && vector != 2 { return false }
        if type == 3 && vector > 31 { return false }
        if type == 7 && vector != 0 { return false }
        let pushes = type == 3 && Vector.pushesErrorCode(vector) && v[.guestCR0] & 1 != 0
        if deliversError != pushes { return false }
        if deliversError && v[.entryExceptionErrorCode] >> 15 != 0 { return false }
        if (type == 4 || type == 5 || type == 6) && v[.entryInstructionLength] > 15 { return false }
        return true
    }

    /// §27.2.2: host CR0/CR4 fixed bits, CR3 within MAXPHYADDR, canonical SYSENTER addresses.
    static func hostControlRegistersValid(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        let cr0 = v[.hostCR0], cr4 = v[.hostCR4]
        return cr0 & VMXCapabilities.cr0Fixed0 == VMXCapabilities.cr0Fixed0 && cr0 & ~VMXCapabilities.cr0Fixed1 == 0
            && cr4 & VMXCapabilities.cr4Fixed0 == VMXCapabilities.cr4Fixed0 && cr4 & ~c.cr4Fixed1 == 0
            && v[.hostCR3] >> UInt64(c.physicalAddressBits) == 0
            && canonical(v[.hostIA32SysenterESP]) && canonical(v[.hostIA32SysenterEIP])
    }

    /// §27.2.3: host selectors have RPL 0 and TI 0; CS and TR are not null (SS may be null
    /// only with a 64-bit host); FS/GS/TR/GDTR/IDTR bases canonical; a 64-bit host has
    /// CR4.PAE and a canonical RIP, and "host address-space size" matches IA-32e mode.
    static func hostSegmentsAndAddressSpaceValid(_ v: VMCS) -> Bool {
        let sels: [VMCSField] = [.hostESSelector, .hostCSSelector, .hostSSSelector, .hostDSSelector,
                                 .hostFSSelector, .hostGSSelector, .hostTRSelector]
        for s in sels where v[s] & 7 != 0 { return false }
        if v[.hostCSSelector] == 0 || v[.hostTRSelector] == 0 { return false }
        let host64 = v.exitControls.contains(.hostAddressSpaceSize)
        if v[.hostSSSelector] == 0 && !host64 { return false }
        for b: VMCSField in [.hostFSBase, .hostGSBase, .hostTRBase, .hostGDTRBase, .hostIDTRBase] where !canonical(v[b]) {
            return false
        }
        if host64 { return v[.hostCR4] & (1 << 5) != 0 && canonical(v[.hostRIP]) }
        return v[.hostRIP] >> 32 == 0 && !v.entryControls.contains(.ia32eModeGuest)
    }

    static func canonical(_ a: UInt64) -> Bool { UInt64(bitPattern: Int64(bitPattern: a << 16) >> 16) == a }

    /// The checks in SDM order with their error number.
    static let controlChecks: [(String, @Sendable (VMCS, VMXCapabilities) -> Bool)] = [
        ("execution-controls-reserved-bits", executionControlsConform),
        ("cr3-target-count", { v, _ in cr3TargetCountValid(v) }),
        ("bitmap-addresses", bitmapAddressesValid),
        ("vmcs-shadowing-bitmap-addresses", vmcsShadowingBitmapAddressesValid),
        ("tpr-shadow", tprShadowControlsValid),
        ("apic-access-address", apicAccessControlsValid),
        ("vpid-and-unrestricted-guest", { v, _ in vpidAndUnrestrictedGuestValid(v) }),
        ("nmi-controls", { v, _ in nmiControlsValid(v) }),
        ("ept-pointer", eptPointerValid),
        ("exit-controls-reserved-bits", exitControlsConform),
        ("exit-msr-lists", exitMSRListsValid),
        ("entry-controls-reserved-bits", entryControlsConform),
        ("entry-msr-load-list", entryMSRListValid),
        ("entry-interruption-information", { v, _ in entryInterruptionValid(v) }),
    ]
    static let hostChecks: [(String, @Sendable (VMCS, VMXCapabilities) -> Bool)] = [
        ("host-control-registers", hostControlRegistersValid),
        ("host-segments-and-address-space", { v, _ in hostSegmentsAndAddressSpaceValid(v) }),
    ]

    /// The first failing check as (name, error), or nil.
    static func firstFailure(_ v: VMCS, _ c: VMXCapabilities) -> (String, VMInstructionError)? {
        // Rows are read in place: copying a row would retain and release its name. (A
        // `@convention(thin)` check, as the guest-state rows use, would also save the closure's
        // retain/release, but Swift 6.3's -Onone IRGen crashes on this table.)
        let control = controlChecks.withUnsafeBufferPointer { rows in rows.indices.first { !rows[$0].1(v, c) } }
        if let k = control { return (controlChecks[k].0, .invalidControlFields) }
        let host = hostChecks.withUnsafeBufferPointer { rows in rows.indices.first { !rows[$0].1(v, c) } }
        if let k = host { return (hostChecks[k].0, .invalidHostState) }
        return nil
    }
}
