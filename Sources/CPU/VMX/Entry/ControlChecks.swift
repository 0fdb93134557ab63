/// VM-entry checks on the VMX controls (SDM Vol. 3C §27.2.1 → VMfailValid, VM-instruction
/// error 7), as rows in SDM order. They run before any guest state is examined; a failure
/// leaves the processor untouched. The rows for the TPR shadow, the APIC-access page and the
/// MSR lists call functions that live with those features.
extension VMCS {
    /// The VM-execution, VM-exit and VM-entry control fields as their typed sets (§25.6.1,
    /// §25.6.2, §25.7.1, §25.8.1): the one place their raw values are decoded. Inlined across
    /// modules (a table load and a field load; a set is a compare and store).
    @inlinable public var pin: PinBasedControls {
        get { typed(.pinBasedControls) }
        set { setTyped(.pinBasedControls, newValue) }
    }
    @inlinable public var primary: PrimaryProcessorBasedControls {
        get { typed(.primaryProcessorBasedControls) }
        set { setTyped(.primaryProcessorBasedControls, newValue) }
    }
    /// The secondary controls in effect: 0 unless "activate secondary controls" (§25.6.2).
    @inlinable public var secondary: SecondaryProcessorBasedControls {
        primary.contains(.activateSecondaryControls) ? secondaryField : []
    }
    /// The secondary processor-based VM-execution controls field as written, whatever the
    /// primary controls say.
    @inlinable public var secondaryField: SecondaryProcessorBasedControls {
        get { typed(.secondaryProcessorBasedControls) }
        set { setTyped(.secondaryProcessorBasedControls, newValue) }
    }
    @inlinable public var exitControls: VMExitControls {
        get { typed(.exitControls) }
        set { setTyped(.exitControls, newValue) }
    }
    @inlinable public var entryControls: VMEntryControls {
        get { typed(.entryControls) }
        set { setTyped(.entryControls, newValue) }
    }

    /// The table index of a field this processor supports (a 32-bit or natural-width field,
    /// or the full 64-bit one: its value is stored whole).
    @inlinable @inline(__always)
    func fieldIndex(_ f: VMCSField) -> Int { index(of: f)! }

    /// A 32-bit field as its typed value (control sets, interruption information,
    /// interruptibility, exit reason): the one conversion every typed accessor uses.
    @inlinable @inline(__always)
    func typed<T: RawRepresentable>(_ f: VMCSField) -> T where T.RawValue == UInt32 {
        T(rawValue: UInt32(truncatingIfNeeded: self[index: fieldIndex(f)]))!
    }

    /// Writes a typed value to its 32-bit field.
    @inlinable @inline(__always)
    func setTyped<T: RawRepresentable>(_ f: VMCSField, _ value: T) where T.RawValue == UInt32 {
        self[index: fieldIndex(f)] = UInt64(value.rawValue)
    }
}

enum VMEntryChecks {
    static func alignedWithinWidth(_ a: UInt64, _ bits: Int) -> Bool { a & 0xFFF == 0 && a >> UInt64(bits) == 0 }

    static func control(_ id: String, _ section: String, _ requirement: String, field: VMCSField, reads: [VMCSField],
                        _ holds: VMEntryCheck.FieldsPredicate) -> VMEntryCheck {
        VMEntryCheck(id, section, requirement, field: field, .vmFail(.invalidControlFields), reads: reads, fields: holds)
    }

    /// What `VMCS.secondary` reads: the secondary controls count only with "activate secondary
    /// controls" (§25.6.2).
    static let secondaryReads: [VMCSField] = [.primaryProcessorBasedControls, .secondaryProcessorBasedControls]

    /// §27.2.1.3: a valid VM-entry interruption-information field: type not reserved (1),
    /// NMI with vector 2, hardware exceptions with vectors ≤ 31, "other event" only with
    /// vector 0, error code exactly for the exceptions that push one (none for an unrestricted
    /// guest entered with CR0.PE = 0), reserved bits 30:12
    /// clear, and an instruction length 0–15 for software events (0 allowed, MISC[30]).
    static func entryInterruptionValid(_ v: VMCS) -> Bool {
        let info = v.entryInterruption
        guard info.isValid else { return true }
        guard let type = info.type, info.entryReservedBits == 0 else { return false }
        let vector = info.vector
        if type == .nmi && vector != Vector.nmi { return false }
        if type == .hardwareException && vector > 31 { return false }
        if type == .other && vector != 0 { return false }
        // An error code exactly for exceptions that push one, unless an unrestricted guest
        // starts in real mode (CR0.PE = 0), where none is pushed.
        let realModeUG = v.secondary.contains(.unrestrictedGuest) && v[.guestCR0] & CR0.pe == 0
        let pushes = type == .hardwareException && Vector.pushesErrorCode(vector) && !realModeUG
        if info.deliversErrorCode != pushes { return false }
        if info.deliversErrorCode && v[.entryExceptionErrorCode] >> 15 != 0 { return false }
        let software = type == .softwareInterrupt || type == .privilegedSoftwareException || type == .softwareException
        if software && v[.entryInstructionLength] > 15 { return false }
        return true
    }

    /// §27.2.1 in SDM order.
    static let controlRows: [VMEntryCheck] = [
        // §27.2.1.1 VM-execution control fields
        control("pin-based-controls-reserved", "27.2.1.1", "reserved pin-based controls set per IA32_VMX_TRUE_PINBASED_CTLS",
                field: .pinBasedControls, reads: []) { v, x in
            VMXCapabilities.conforms(v.pin.rawValue, to: x.capabilities.msr(MSRIndex.vmxTruePinbasedControls)!)
        },
        control("primary-controls-reserved", "27.2.1.1", "reserved primary processor-based controls set per IA32_VMX_TRUE_PROCBASED_CTLS",
                field: .primaryProcessorBasedControls, reads: []) { v, x in
            VMXCapabilities.conforms(v.primary.rawValue, to: x.capabilities.msr(MSRIndex.vmxTrueProcbasedControls)!)
        },
        control("secondary-controls-reserved", "27.2.1.1", "with \"activate secondary controls\", reserved secondary controls set per IA32_VMX_PROCBASED_CTLS2",
                field: .secondaryProcessorBasedControls, reads: [.primaryProcessorBasedControls]) { v, x in
            !v.primary.contains(.activateSecondaryControls)
                || VMXCapabilities.conforms(UInt32(truncatingIfNeeded: v[.secondaryProcessorBasedControls]), to: x.capabilities.msr(MSRIndex.vmxProcbasedControls2)!)
        },
        control("cr3-target-count", "27.2.1.1", "the CR3-target count is at most 4", field: .cr3TargetCount, reads: []) { v, _ in
            v[.cr3TargetCount] <= 4
        },
        control("io-bitmap-a-address", "27.2.1.1", "with \"use I/O bitmaps\", I/O bitmap A is 4-KByte aligned within MAXPHYADDR",
                field: .ioBitmapA, reads: [.primaryProcessorBasedControls]) { v, x in
            !v.primary.contains(.useIOBitmaps) || alignedWithinWidth(v[.ioBitmapA], x.capabilities.physicalAddressBits)
        },
        control("io-bitmap-b-address", "27.2.1.1", "with \"use I/O bitmaps\", I/O bitmap B is 4-KByte aligned within MAXPHYADDR",
                field: .ioBitmapB, reads: [.primaryProcessorBasedControls]) { v, x in
            !v.primary.contains(.useIOBitmaps) || alignedWithinWidth(v[.ioBitmapB], x.capabilities.physicalAddressBits)
        },
        control("msr-bitmap-address", "27.2.1.1", "with \"use MSR bitmaps\", the MSR-bitmap address is 4-KByte aligned within MAXPHYADDR",
                field: .msrBitmaps, reads: [.primaryProcessorBasedControls]) { v, x in
            !v.primary.contains(.useMSRBitmaps) || alignedWithinWidth(v[.msrBitmaps], x.capabilities.physicalAddressBits)
        },
        control("vmread-bitmap-address", "27.2.1.1", "with \"VMCS shadowing\", the VMREAD-bitmap address is 4-KByte aligned within MAXPHYADDR",
                field: .vmreadBitmapAddress, reads: secondaryReads) { v, x in
            !v.secondary.contains(.vmcsShadowing) || alignedWithinWidth(v[.vmreadBitmapAddress], x.capabilities.physicalAddressBits)
        },
        control("vmwrite-bitmap-address", "27.2.1.1", "with \"VMCS shadowing\", the VMWRITE-bitmap address is 4-KByte aligned within MAXPHYADDR",
                field: .vmwriteBitmapAddress, reads: secondaryReads) { v, x in
            !v.secondary.contains(.vmcsShadowing) || alignedWithinWidth(v[.vmwriteBitmapAddress], x.capabilities.physicalAddressBits)
        },
        control("tpr-shadow", "27.2.1.1", "with \"use TPR shadow\": virtual-APIC address aligned within MAXPHYADDR and TPR threshold bits 31:4 clear; without it, no x2APIC/APIC-register virtualization or virtual-interrupt delivery",
                field: .virtualAPICAddress, reads: secondaryReads + [.tprThreshold]) { v, x in tprShadowControlsValid(v, x.capabilities) },
        control("apic-access-address", "27.2.1.1", "with \"virtualize APIC accesses\": APIC-access address 4-KByte aligned within MAXPHYADDR, and not with \"virtualize x2APIC mode\"",
                field: .apicAccessAddress, reads: secondaryReads) { v, x in apicAccessControlsValid(v, x.capabilities) },
        control("vpid-nonzero", "27.2.1.1", "with \"enable VPID\", the VPID is not 0000H", field: .virtualProcessorIdentifier, reads: secondaryReads) { v, _ in
            !v.secondary.contains(.enableVPID) || v[.virtualProcessorIdentifier] != 0
        },
        control("unrestricted-guest-requires-ept", "27.2.1.1", "\"unrestricted guest\" requires \"enable EPT\"",
                field: .secondaryProcessorBasedControls, reads: secondaryReads) { v, _ in
            !v.secondary.contains(.unrestrictedGuest) || v.secondary.contains(.enableEPT)
        },
        control("virtual-nmis-require-nmi-exiting", "27.2.1.1", "\"virtual NMIs\" requires \"NMI exiting\"", field: .pinBasedControls, reads: []) { v, _ in
            !v.pin.contains(.virtualNMIs) || v.pin.contains(.nmiExiting)
        },
        control("nmi-window-requires-virtual-nmis", "27.2.1.1", "\"NMI-window exiting\" requires \"virtual NMIs\"",
                field: .primaryProcessorBasedControls, reads: [.pinBasedControls]) { v, _ in
            v.pin.contains(.virtualNMIs) || !v.primary.contains(.nmiWindowExiting)
        },
        control("ept-pointer", "27.2.1.1", "with \"enable EPT\", the EPTP has a supported memory type and page-walk length, A/D only if supported, bits 11:7 clear and no bit beyond MAXPHYADDR",
                field: .eptPointer, reads: secondaryReads) { v, x in
            !v.secondary.contains(.enableEPT) || EPTPointer(v[.eptPointer]).isValid(for: x.capabilities)
        },
        // §27.2.1.2 VM-exit control fields
        control("exit-controls-reserved", "27.2.1.2", "reserved VM-exit controls set per IA32_VMX_TRUE_EXIT_CTLS", field: .exitControls, reads: []) { v, x in
            VMXCapabilities.conforms(v.exitControls.rawValue, to: x.capabilities.msr(MSRIndex.vmxTrueExitControls)!)
        },
        control("save-timer-requires-timer", "27.2.1.2", "\"save VMX-preemption timer value\" requires \"activate VMX-preemption timer\"",
                field: .exitControls, reads: [.pinBasedControls]) { v, _ in
            v.pin.contains(.activateVMXPreemptionTimer) || !v.exitControls.contains(.saveVMXPreemptionTimer)
        },
        control("exit-msr-store-address", "27.2.1.2", "a VM-exit MSR-store list is 16-byte aligned with its first and last byte within MAXPHYADDR",
                field: .exitMSRStoreAddress, reads: [.exitMSRStoreCount]) { v, x in msrListValid(v, .exitMSRStoreAddress, .exitMSRStoreCount, x.capabilities) },
        control("exit-msr-load-address", "27.2.1.2", "a VM-exit MSR-load list is 16-byte aligned with its first and last byte within MAXPHYADDR",
                field: .exitMSRLoadAddress, reads: [.exitMSRLoadCount]) { v, x in msrListValid(v, .exitMSRLoadAddress, .exitMSRLoadCount, x.capabilities) },
        // §27.2.1.3 VM-entry control fields
        // "Entry to SMM" and "deactivate dual-monitor treatment" must be 0 outside SMM; no
        // capability this processor reports allows them, so this row covers that rule too.
        control("entry-controls-reserved", "27.2.1.3", "reserved VM-entry controls set per IA32_VMX_TRUE_ENTRY_CTLS", field: .entryControls, reads: []) { v, x in
            VMXCapabilities.conforms(v.entryControls.rawValue, to: x.capabilities.msr(MSRIndex.vmxTrueEntryControls)!)
        },
        control("entry-interruption-information", "27.2.1.3", "a valid VM-entry interruption-information field is consistent (type, vector, error code, reserved bits, instruction length)",
                field: .entryInterruptionInformation, reads: secondaryReads + [.guestCR0, .entryExceptionErrorCode, .entryInstructionLength]) { v, _ in entryInterruptionValid(v) },
        control("entry-msr-load-address", "27.2.1.3", "a VM-entry MSR-load list is 16-byte aligned with its first and last byte within MAXPHYADDR",
                field: .entryMSRLoadAddress, reads: [.entryMSRLoadCount]) { v, x in msrListValid(v, .entryMSRLoadAddress, .entryMSRLoadCount, x.capabilities) },
        // §27.2.1.1, last because it reads the virtual-APIC page.
        VMEntryCheck("tpr-threshold-vtpr", "27.2.1.1", "with \"use TPR shadow\" and neither \"virtualize APIC accesses\" nor \"virtual-interrupt delivery\", TPR threshold[3:0] is not above VTPR[7:4] on the virtual-APIC page",
                     field: .tprThreshold, .vmFail(.invalidControlFields), reads: secondaryReads + [.virtualAPICAddress], fields: { v, x in tprThresholdNotAboveVTPR(v, &x) }),
    ]

    /// The control and host-state rows (§27.2), in the order VM entry evaluates them.
    static let controlAndHostRows = controlRows + hostRows
}
