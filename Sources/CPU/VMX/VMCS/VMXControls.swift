/// Pin-based VM-execution controls (SDM Vol. 3C §25.6.1, Table 25-5).
public struct PinBasedControls: OptionSet, Sendable {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public static var externalInterruptExiting: Self { Self(rawValue: 1 << 0) }
    @inlinable public static var nmiExiting: Self { Self(rawValue: 1 << 3) }
    @inlinable public static var virtualNMIs: Self { Self(rawValue: 1 << 5) }
    @inlinable public static var activateVMXPreemptionTimer: Self { Self(rawValue: 1 << 6) }
    @inlinable public static var processPostedInterrupts: Self { Self(rawValue: 1 << 7) }
    /// Bits reserved as 1 (Appendix A.3.1 "default1").
    @inlinable public static var default1: Self { Self(rawValue: 0x16) }
}

/// Primary processor-based VM-execution controls (§25.6.2, Table 25-6).
public struct PrimaryProcessorBasedControls: OptionSet, Sendable {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public static var interruptWindowExiting: Self { Self(rawValue: 1 << 2) }
    @inlinable public static var useTSCOffsetting: Self { Self(rawValue: 1 << 3) }
    @inlinable public static var hltExiting: Self { Self(rawValue: 1 << 7) }
    @inlinable public static var invlpgExiting: Self { Self(rawValue: 1 << 9) }
    @inlinable public static var mwaitExiting: Self { Self(rawValue: 1 << 10) }
    @inlinable public static var rdpmcExiting: Self { Self(rawValue: 1 << 11) }
    @inlinable public static var rdtscExiting: Self { Self(rawValue: 1 << 12) }
    @inlinable public static var cr3LoadExiting: Self { Self(rawValue: 1 << 15) }
    @inlinable public static var cr3StoreExiting: Self { Self(rawValue: 1 << 16) }
    @inlinable public static var activateTertiaryControls: Self { Self(rawValue: 1 << 17) }
    @inlinable public static var cr8LoadExiting: Self { Self(rawValue: 1 << 19) }
    @inlinable public static var cr8StoreExiting: Self { Self(rawValue: 1 << 20) }
    @inlinable public static var useTPRShadow: Self { Self(rawValue: 1 << 21) }
    @inlinable public static var nmiWindowExiting: Self { Self(rawValue: 1 << 22) }
    @inlinable public static var movDRExiting: Self { Self(rawValue: 1 << 23) }
    @inlinable public static var unconditionalIOExiting: Self { Self(rawValue: 1 << 24) }
    @inlinable public static var useIOBitmaps: Self { Self(rawValue: 1 << 25) }
    @inlinable public static var monitorTrapFlag: Self { Self(rawValue: 1 << 27) }
    @inlinable public static var useMSRBitmaps: Self { Self(rawValue: 1 << 28) }
    @inlinable public static var monitorExiting: Self { Self(rawValue: 1 << 29) }
    @inlinable public static var pauseExiting: Self { Self(rawValue: 1 << 30) }
    @inlinable public static var activateSecondaryControls: Self { Self(rawValue: 1 << 31) }
    /// Appendix A.3.2 default1: bits 1, 4–6, 8, 13–16, 26.
    @inlinable public static var default1: Self { Self(rawValue: 0x0401_E172) }
}

/// Secondary processor-based VM-execution controls (§25.6.2, Table 25-7).
public struct SecondaryProcessorBasedControls: OptionSet, Sendable {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public static var virtualizeAPICAccesses: Self { Self(rawValue: 1 << 0) }
    @inlinable public static var enableEPT: Self { Self(rawValue: 1 << 1) }
    @inlinable public static var descriptorTableExiting: Self { Self(rawValue: 1 << 2) }
    @inlinable public static var enableRDTSCP: Self { Self(rawValue: 1 << 3) }
    @inlinable public static var virtualizeX2APICMode: Self { Self(rawValue: 1 << 4) }
    @inlinable public static var enableVPID: Self { Self(rawValue: 1 << 5) }
    @inlinable public static var wbinvdExiting: Self { Self(rawValue: 1 << 6) }
    @inlinable public static var unrestrictedGuest: Self { Self(rawValue: 1 << 7) }
    @inlinable public static var apicRegisterVirtualization: Self { Self(rawValue: 1 << 8) }
    @inlinable public static var virtualInterruptDelivery: Self { Self(rawValue: 1 << 9) }
    @inlinable public static var pauseLoopExiting: Self { Self(rawValue: 1 << 10) }
    @inlinable public static var rdrandExiting: Self { Self(rawValue: 1 << 11) }
    @inlinable public static var enableINVPCID: Self { Self(rawValue: 1 << 12) }
    @inlinable public static var enableVMFunctions: Self { Self(rawValue: 1 << 13) }
    @inlinable public static var vmcsShadowing: Self { Self(rawValue: 1 << 14) }
    @inlinable public static var rdseedExiting: Self { Self(rawValue: 1 << 16) }
    @inlinable public static var enablePML: Self { Self(rawValue: 1 << 17) }
    @inlinable public static var eptViolationVE: Self { Self(rawValue: 1 << 18) }
    @inlinable public static var enableXSAVES: Self { Self(rawValue: 1 << 20) }
    @inlinable public static var modeBasedExecuteControl: Self { Self(rawValue: 1 << 22) }
    @inlinable public static var useTSCScaling: Self { Self(rawValue: 1 << 25) }
}

/// VM-exit controls (§25.7.1, Table 25-13).
public struct VMExitControls: OptionSet, Sendable {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public static var saveDebugControls: Self { Self(rawValue: 1 << 2) }
    @inlinable public static var hostAddressSpaceSize: Self { Self(rawValue: 1 << 9) }
    @inlinable public static var loadPerfGlobalCtrl: Self { Self(rawValue: 1 << 12) }
    @inlinable public static var acknowledgeInterruptOnExit: Self { Self(rawValue: 1 << 15) }
    @inlinable public static var savePAT: Self { Self(rawValue: 1 << 18) }
    @inlinable public static var loadPAT: Self { Self(rawValue: 1 << 19) }
    @inlinable public static var saveEFER: Self { Self(rawValue: 1 << 20) }
    @inlinable public static var loadEFER: Self { Self(rawValue: 1 << 21) }
    @inlinable public static var saveVMXPreemptionTimer: Self { Self(rawValue: 1 << 22) }
    /// Appendix A.4 default1: bits 0–8, 10, 11, 13, 14, 16, 17.
    @inlinable public static var default1: Self { Self(rawValue: 0x0003_6DFF) }
}

/// VM-entry controls (§25.8.1, Table 25-15).
public struct VMEntryControls: OptionSet, Sendable {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public static var loadDebugControls: Self { Self(rawValue: 1 << 2) }
    @inlinable public static var ia32eModeGuest: Self { Self(rawValue: 1 << 9) }
    @inlinable public static var entryToSMM: Self { Self(rawValue: 1 << 10) }
    @inlinable public static var deactivateDualMonitor: Self { Self(rawValue: 1 << 11) }
    @inlinable public static var loadPerfGlobalCtrl: Self { Self(rawValue: 1 << 13) }
    @inlinable public static var loadPAT: Self { Self(rawValue: 1 << 14) }
    @inlinable public static var loadEFER: Self { Self(rawValue: 1 << 15) }
    /// Appendix A.5 default1: bits 0–8, 12.
    @inlinable public static var default1: Self { Self(rawValue: 0x0000_11FF) }
}
