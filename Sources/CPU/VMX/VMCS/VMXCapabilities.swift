/// The VMX capabilities of a logical processor as the capability MSRs report them (SDM Vol. 3D
/// Appendix A): the controls it implements, the fixed CR0/CR4 bits, IA32_VMX_MISC, the EPT and
/// VPID features, address widths. One value answers both questions: which VMCS settings VM
/// entry accepts (the checks take it as input) and what RDMSR of 480H–491H returns. The
/// processor's own value comes from its model (`Processor.vmxCapabilities`); nested VMX
/// computes the (smaller) value it offers a guest hypervisor.
///
/// A control is allowed to be 1 only if in the allowed-1 set; allowed to be 0 unless it is a
/// default1 bit (or, in the TRUE MSRs, one of the default1 bits this implementation lets
/// software clear).
///
/// MONITOR and MWAIT exiting are allowed-1 although CPUID.1:ECX.MONITOR = 0: those instructions
/// raise #UD, which has priority over the VM exit (§26.1.1), so the controls change nothing —
/// but VMMs that require them (Linux's kvm_intel) accept the processor.
public struct VMXCapabilities: Sendable, Equatable {
    /// VMCS revision identifier (IA32_VMX_BASIC[30:0]).
    public static let revisionIdentifier: UInt32 = 0x4D54_5259 & 0x7FFF_FFFF

    public var pin: PinBasedControls = [.externalInterruptExiting, .nmiExiting, .virtualNMIs, .activateVMXPreemptionTimer]
    public var primary: PrimaryProcessorBasedControls = [.interruptWindowExiting, .useTSCOffsetting, .hltExiting,
        .invlpgExiting, .rdpmcExiting, .rdtscExiting, .cr3LoadExiting, .cr3StoreExiting, .cr8LoadExiting,
        .cr8StoreExiting, .useTPRShadow, .nmiWindowExiting, .movDRExiting, .unconditionalIOExiting, .useIOBitmaps,
        .monitorTrapFlag, .useMSRBitmaps, .pauseExiting, .activateSecondaryControls, .monitorExiting, .mwaitExiting]
    public var secondary: SecondaryProcessorBasedControls = [.virtualizeAPICAccesses, .enableEPT, .descriptorTableExiting, .enableRDTSCP,
        .enableVPID, .wbinvdExiting, .unrestrictedGuest, .enableINVPCID, .vmcsShadowing]
    public var exit: VMExitControls = [.saveDebugControls, .hostAddressSpaceSize, .acknowledgeInterruptOnExit,
        .savePAT, .loadPAT, .saveEFER, .loadEFER, .saveVMXPreemptionTimer]
    public var entry: VMEntryControls = [.loadDebugControls, .ia32eModeGuest, .loadPAT, .loadEFER]
    /// Default1 bits the TRUE MSRs let software clear (Appendix A.3.2: CR3-load/store exiting;
    /// A.4/A.5: save/load debug controls).
    public var trueClearablePrimary: PrimaryProcessorBasedControls = [.cr3LoadExiting, .cr3StoreExiting]
    public var trueClearableExit: VMExitControls = [.saveDebugControls]
    public var trueClearableEntry: VMEntryControls = [.loadDebugControls]

    public var ept = EPTFeatures()
    /// INVVPID types supported, bit n for `INVVPIDType(rawValue: n)` (IA32_VMX_EPT_VPID_CAP
    /// bit 32: INVVPID; bits 40–43: the types). 0: no INVVPID.
    public var invvpidTypes: UInt8 = 0b1111

    public static let defaultPhysicalAddressBits = 40
    public static let defaultLinearAddressBits = 48
    public var physicalAddressBits = defaultPhysicalAddressBits
    /// Linear-address width (48, or 57 with 5-level paging): the guest-state canonical checks.
    public var linearAddressBits = defaultLinearAddressBits

    public static let defaultCR0Fixed0: UInt64 = 0x8000_0021      // PE, NE, PG
    public static let defaultCR0Fixed1: UInt64 = 0xFFFF_FFFF
    public static let defaultCR4Fixed0: UInt64 = 0x2000           // VMXE
    /// CR4 bits 0–11, 13 (VMXE), 16–18, 20, 21: what the default model implements.
    public static let defaultCR4Fixed1: UInt64 = 0x0037_2FFF
    public var cr0Fixed0 = defaultCR0Fixed0
    public var cr0Fixed1 = defaultCR0Fixed1
    public var cr4Fixed0 = defaultCR4Fixed0
    public var cr4Fixed1 = defaultCR4Fixed1

    /// IA32_EFER bits the processor implements (SCE, LME, LMA, NXE) and IA32_DEBUGCTL bits
    /// (LBR 0, BTF 1): the guest- and host-state MSR checks.
    public static let defaultEFERSupported: UInt64 = (1 << 0) | (1 << 8) | (1 << 10) | (1 << 11)
    public static let defaultDebugCtlSupported: UInt64 = 0b11
    public var eferSupported = defaultEFERSupported
    public var debugCtlSupported = defaultDebugCtlSupported

    /// Activity states beyond active (IA32_VMX_MISC bits 8:6 as bits 2:0: HLT, shutdown,
    /// wait-for-SIPI).
    public var supportedActivityStates: UInt32 = 0b111
    /// IA32_VMX_MISC[29]: VMWRITE may write VM-exit information fields.
    public var vmwriteAnyField = true
    /// IA32_VMX_MISC[30]: software interrupts/exceptions may be injected with length 0.
    public var injectionWithZeroLength = true

    /// The VMX-preemption timer counts down when TSC bit X changes (IA32_VMX_MISC[4:0] = X).
    /// X is implementation-specific (Appendix A.6); 0 (every TSC tick, as Bochs) gives guest
    /// hypervisors the finest time slices — at 2 TSC ticks per instruction time, rate 5 made a
    /// slice L1 sized for hardware 32 times as long in instructions as on a real processor.
    public static let preemptionTimerRate: UInt64 = 0
    /// CR3-target values supported (IA32_VMX_MISC[24:16]).
    public static let cr3TargetCount: UInt64 = 4

    public init() {}

    /// allowed-0 settings in bits 31:0, allowed-1 settings in bits 63:32 (Appendix A.3).
    static func pair(required: UInt32, allowed: UInt32) -> UInt64 {
        UInt64(required) | (UInt64(allowed | required) << 32)
    }

    /// IA32_VMX_BASIC (Appendix A.1): revision, VMCS region size 4096 (bits 44:32), WB memory
    /// type (53:50 = 6), INS/OUTS information (54), TRUE controls (55).
    public var basic: UInt64 {
        UInt64(Self.revisionIdentifier) | (UInt64(4096) << 32) | (6 << 50) | (1 << 54) | (1 << 55)
    }

    /// IA32_VMX_MISC (Appendix A.6): timer rate 4:0, VM exits store IA32_EFER.LMA in the
    /// "IA-32e mode guest" entry control 5 (§28.3; required with unrestricted guest), activity
    /// states 8:6, CR3-target count 24:16, MSR-list size ((27:25 + 1) × 512 = 512), VMWRITE to
    /// any field 29, zero-length injection 30.
    public var misc: UInt64 {
        Self.preemptionTimerRate | (1 << 5) | UInt64(supportedActivityStates & 7) << 6 | Self.cr3TargetCount << 16
            | (vmwriteAnyField ? 1 << 29 : 0) | (injectionWithZeroLength ? 1 << 30 : 0)
    }

    /// The MSR-list size IA32_VMX_MISC[27:25] allows: (N + 1) × 512 entries.
    public var maximumMSRListEntries: UInt64 { (((misc >> 25) & 7) + 1) * 512 }

    /// IA32_VMX_EPT_VPID_CAP (Appendix A.10).
    public var eptVPIDCap: UInt64 {
        var v: UInt64 = 0
        if ept.executeOnly { v |= 1 << 0 }
        if ept.fourLevel { v |= 1 << 6 }
        if ept.fiveLevel { v |= 1 << 7 }
        if ept.uncacheableType { v |= 1 << 8 }
        if ept.writeBackType { v |= 1 << 14 }
        if ept.pages2M { v |= 1 << 16 }
        if ept.pages1G { v |= 1 << 17 }
        v |= (1 << 20) | (1 << 25) | (1 << 26)                   // INVEPT; single-context, all-context
        if ept.accessedDirty { v |= 1 << 21 }
        if invvpidTypes != 0 { v |= 1 << 32 }
        v |= UInt64(invvpidTypes & 0xF) << 40
        return v
    }

    /// IA32_VMX_VMCS_ENUM (Appendix A.9): the highest index of any supported field, bits 9:1.
    public var vmcsEnum: UInt64 { UInt64(VMCSFieldTable.highestIndex) << 1 }

    /// How a capability MSR's value derives from these capabilities (Appendix A).
    enum Derivation {
        case basic, misc, vmcsEnum, eptVPIDCap, vmfunc
        case cr0Fixed0, cr0Fixed1, cr4Fixed0, cr4Fixed1
        case pin(true: Bool), primary(true: Bool), secondary, exit(true: Bool), entry(true: Bool)
    }

    /// The capability MSRs, 480H–491H, as data.
    static let msrTable: [(index: UInt32, derivation: Derivation)] = [
        (MSRIndex.vmxBasic, .basic),
        (MSRIndex.vmxPinbasedControls, .pin(true: false)),
        (MSRIndex.vmxProcbasedControls, .primary(true: false)),
        (MSRIndex.vmxExitControls, .exit(true: false)),
        (MSRIndex.vmxEntryControls, .entry(true: false)),
        (MSRIndex.vmxMisc, .misc),
        (MSRIndex.vmxCR0Fixed0, .cr0Fixed0),
        (MSRIndex.vmxCR0Fixed1, .cr0Fixed1),
        (MSRIndex.vmxCR4Fixed0, .cr4Fixed0),
        (MSRIndex.vmxCR4Fixed1, .cr4Fixed1),
        (MSRIndex.vmxVMCSEnum, .vmcsEnum),
        (MSRIndex.vmxProcbasedControls2, .secondary),
        (MSRIndex.vmxEPTVPIDCap, .eptVPIDCap),
        (MSRIndex.vmxTruePinbasedControls, .pin(true: true)),
        (MSRIndex.vmxTrueProcbasedControls, .primary(true: true)),
        (MSRIndex.vmxTrueExitControls, .exit(true: true)),
        (MSRIndex.vmxTrueEntryControls, .entry(true: true)),
        (MSRIndex.vmxVMFunc, .vmfunc),
    ]

    /// The value of a derivation, or nil when that MSR does not exist for these capabilities.
    func value(_ d: Derivation) -> UInt64? {
        switch d {
        case .basic: return basic
        case .misc: return misc
        case .vmcsEnum: return vmcsEnum
        case .cr0Fixed0: return cr0Fixed0
        case .cr0Fixed1: return cr0Fixed1
        case .cr4Fixed0: return cr4Fixed0
        case .cr4Fixed1: return cr4Fixed1
        case .pin: return Self.pair(required: PinBasedControls.default1.rawValue, allowed: pin.rawValue)
        case .primary(let t):
            let clearable = t ? trueClearablePrimary.rawValue : 0
            return Self.pair(required: PrimaryProcessorBasedControls.default1.rawValue & ~clearable, allowed: primary.rawValue)
        case .exit(let t):
            let clearable = t ? trueClearableExit.rawValue : 0
            return Self.pair(required: VMExitControls.default1.rawValue & ~clearable, allowed: exit.rawValue)
        case .entry(let t):
            let clearable = t ? trueClearableEntry.rawValue : 0
            return Self.pair(required: VMEntryControls.default1.rawValue & ~clearable, allowed: entry.rawValue)
        // Architecturally these exist only when secondary controls (Appendix A.3.3), EPT or VPID
        // (A.10) may be used; this processor reads them as 0 otherwise (software probes them
        // unconditionally, and a 0 allows nothing).
        case .secondary: return primary.contains(.activateSecondaryControls) ? Self.pair(required: 0, allowed: secondary.rawValue) : 0
        case .eptVPIDCap: return secondary.contains(.enableEPT) || secondary.contains(.enableVPID) ? eptVPIDCap : 0
        // Exists only with "enable VM functions" allowed (Appendix A.11); no VM function is offered.
        case .vmfunc: return secondary.contains(.enableVMFunctions) ? 0 : nil
        }
    }

    /// The capability MSR `index` (480H–491H), or nil when it does not exist.
    public func msr(_ index: UInt32) -> UInt64? {
        guard let row = Self.msrTable.first(where: { $0.index == index }) else { return nil }
        return value(row.derivation)
    }

    /// Every capability MSR that exists, in index order, for dumps and comparisons.
    public var allMSRs: [(index: UInt32, value: UInt64)] {
        Self.msrTable.compactMap { row in value(row.derivation).map { (row.index, $0) } }
    }

    /// A control field value respects a capability MSR pair (§27.2.1.1: "reserved bits …
    /// set properly").
    public static func conforms(_ value: UInt32, to msr: UInt64) -> Bool {
        let allowed0 = UInt32(truncatingIfNeeded: msr), allowed1 = UInt32(truncatingIfNeeded: msr >> 32)
        return value & allowed0 == allowed0 && value & ~allowed1 == 0
    }

}
