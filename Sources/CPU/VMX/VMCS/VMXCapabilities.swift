/// The VMX capability MSRs (SDM Vol. 3D Appendix A), computed from the controls this processor
/// implements — one place defines what is advertised. A control is allowed to be 1 only if
/// implemented; allowed to be 0 unless it is a default1 bit (or, in the TRUE MSRs, one of the
/// default1 bits this implementation lets software clear).
public struct VMXCapabilities: Sendable {
    /// VMCS revision identifier (IA32_VMX_BASIC[30:0]).
    public static let revisionIdentifier: UInt32 = 0x4D54_5259 & 0x7FFF_FFFF

    public var pin: PinBasedControls = [.externalInterruptExiting, .nmiExiting, .virtualNMIs, .activateVMXPreemptionTimer]
    public var primary: PrimaryProcessorBasedControls = [.interruptWindowExiting, .useTSCOffsetting, .hltExiting,
        .invlpgExiting, .rdpmcExiting, .rdtscExiting, .cr3LoadExiting, .cr3StoreExiting, .cr8LoadExiting,
        .cr8StoreExiting, .useTPRShadow, .nmiWindowExiting, .movDRExiting, .unconditionalIOExiting, .useIOBitmaps,
        .monitorTrapFlag, .useMSRBitmaps, .pauseExiting, .activateSecondaryControls]
    public var secondary: SecondaryProcessorBasedControls = [.virtualizeAPICAccesses, .enableEPT, .descriptorTableExiting, .enableRDTSCP,
        .enableVPID, .wbinvdExiting, .unrestrictedGuest, .enableINVPCID, .vmcsShadowing]
    public var exit: VMExitControls = [.saveDebugControls, .hostAddressSpaceSize, .acknowledgeInterruptOnExit,
        .savePAT, .loadPAT, .saveEFER, .loadEFER, .saveVMXPreemptionTimer]
    public var entry: VMEntryControls = [.loadDebugControls, .ia32eModeGuest, .loadPAT, .loadEFER]
    /// Default1 bits the TRUE MSRs let software clear (Appendix A.3.2: CR3-load/store exiting;
    /// A.4/A.5: save/load debug controls).
    static let trueClearablePrimary: PrimaryProcessorBasedControls = [.cr3LoadExiting, .cr3StoreExiting]
    static let trueClearableExit: VMExitControls = [.saveDebugControls]
    static let trueClearableEntry: VMEntryControls = [.loadDebugControls]

    public var ept = EPTFeatures()
    public var physicalAddressBits = 40

    public init() {}

    /// allowed-0 settings in bits 31:0, allowed-1 settings in bits 63:32 (Appendix A.3).
    static func pair(required: UInt32, allowed: UInt32) -> UInt64 {
        UInt64(required) | (UInt64(allowed | required) << 32)
    }

    public var basic: UInt64 {
        // Revision, VMCS region size 4096 (bits 44:32), WB memory type (53:50 = 6), INS/OUTS
        // information (54), TRUE controls (55).
        UInt64(Self.revisionIdentifier) | (UInt64(4096) << 32) | (6 << 50) | (1 << 54) | (1 << 55)
    }

    /// The VMX-preemption timer counts down when TSC bit X changes (IA32_VMX_MISC[4:0] = X).
    public static let preemptionTimerRate: UInt64 = 5

    /// IA32_VMX_MISC: VMX-preemption timer rate (bits 4:0), activity states
    /// HLT/shutdown/wait-for-SIPI (8:6), CR3-target count 4 (24:16), 512 MSR-list entries
    /// ((27:25 + 1) × 512), VMWRITE to exit-information fields allowed (29), injection with
    /// instruction length 0 (30).
    public var misc: UInt64 {
        Self.preemptionTimerRate | (7 << 6) | (4 << 16) | (0 << 25) | (1 << 29) | (1 << 30)
    }

    public static let cr0Fixed0: UInt64 = 0x8000_0021          // PE, NE, PG
    public static let cr0Fixed1: UInt64 = 0xFFFF_FFFF
    public static let cr4Fixed0: UInt64 = 0x2000               // VMXE
    public var cr4Fixed1: UInt64 = 0x0037_2FFF

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
        // INVVPID (32) with individual-address, single-context, all-context, single-context
        // retaining globals (40–43).
        v |= (1 << 32) | (1 << 40) | (1 << 41) | (1 << 42) | (1 << 43)
        return v
    }

    /// The capability MSR `index` (0x480–0x491), or nil when it does not exist.
    public func msr(_ index: UInt32) -> UInt64? {
        switch index {
        case 0x480: return basic
        case 0x481: return Self.pair(required: PinBasedControls.default1.rawValue, allowed: pin.rawValue)
        case 0x482: return Self.pair(required: PrimaryProcessorBasedControls.default1.rawValue, allowed: primary.rawValue)
        case 0x483: return Self.pair(required: VMExitControls.default1.rawValue, allowed: exit.rawValue)
        case 0x484: return Self.pair(required: VMEntryControls.default1.rawValue, allowed: entry.rawValue)
        case 0x485: return misc
        case 0x486: return Self.cr0Fixed0
        case 0x487: return Self.cr0Fixed1
        case 0x488: return Self.cr4Fixed0
        case 0x489: return cr4Fixed1
        case 0x48A: return UInt64(VMCSFieldTable.highestIndex) << 1
        case 0x48B: return Self.pair(required: 0, allowed: secondary.rawValue)
        case 0x48C: return eptVPIDCap
        case 0x48D: return Self.pair(required: PinBasedControls.default1.rawValue, allowed: pin.rawValue)
        case 0x48E:
            return Self.pair(required: PrimaryProcessorBasedControls.default1.rawValue & ~Self.trueClearablePrimary.rawValue,
                             allowed: primary.rawValue)
        case 0x48F:
            return Self.pair(required: VMExitControls.default1.rawValue & ~Self.trueClearableExit.rawValue, allowed: exit.rawValue)
        case 0x490:
            return Self.pair(required: VMEntryControls.default1.rawValue & ~Self.trueClearableEntry.rawValue, allowed: entry.rawValue)
        default: return nil
        }
    }

    /// A control field value respects a capability MSR pair (§27.2.1.1: "reserved bits …
    /// set properly").
    public static func conforms(_ value: UInt32, to msr: UInt64) -> Bool {
        let allowed0 = UInt32(truncatingIfNeeded: msr), allowed1 = UInt32(truncatingIfNeeded: msr >> 32)
        return value & allowed0 == allowed0 && value & ~allowed1 == 0
    }
}
