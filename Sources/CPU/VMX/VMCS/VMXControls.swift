/// Pin-based VM-execution controls (SDM Vol. 3C §25.6.1, Table 25-5).
public struct PinBasedControls: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let externalInterruptExiting = PinBasedControls(rawValue: 1 << 0)
    public static let nmiExiting = PinBasedControls(rawValue: 1 << 3)
    public static let virtualNMIs = PinBasedControls(rawValue: 1 << 5)
    public static let activateVMXPreemptionTimer = PinBasedControls(rawValue: 1 << 6)
    public static let processPostedInterrupts = PinBasedControls(rawValue: 1 << 7)
    /// Bits reserved as 1 (Appendix A.3.1 "default1").
    public static let default1 = PinBasedControls(rawValue: 0x16)
}

/// Primary processor-based VM-execution controls (§25.6.2, Table 25-6).
public struct PrimaryProcessorBasedControls: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let interruptWindowExiting = Self(rawValue: 1 << 2)
    public static let useTSCOffsetting = Self(rawValue: 1 << 3)
    public static let hltExiting = Self(rawValue: 1 << 7)
    public static let invlpgExiting = Self(rawValue: 1 << 9)
    public static let mwaitExiting = Self(rawValue: 1 << 10)
    public static let rdpmcExiting = Self(rawValue: 1 << 11)
    public static let rdtscExiting = Self(rawValue: 1 << 12)
    public static let cr3LoadExiting = Self(rawValue: 1 << 15)
    public static let cr3StoreExiting = Self(rawValue: 1 << 16)
    public static let activateTertiaryControls = Self(rawValue: 1 << 17)
    public static let cr8LoadExiting = Self(rawValue: 1 << 19)
    public static let cr8StoreExiting = Self(rawValue: 1 << 20)
    public static let useTPRShadow = Self(rawValue: 1 << 21)
    public static let nmiWindowExiting = Self(rawValue: 1 << 22)
    public static let movDRExiting = Self(rawValue: 1 << 23)
    public static let unconditionalIOExiting = Self(rawValue: 1 << 24)
    public static let useIOBitmaps = Self(rawValue: 1 << 25)
    public static let monitorTrapFlag = Self(rawValue: 1 << 27)
    public static let useMSRBitmaps = Self(rawValue: 1 << 28)
    public static let monitorExiting = Self(rawValue: 1 << 29)
    public static let pauseExiting = Self(rawValue: 1 << 30)
    public static let activateSecondaryControls = Self(rawValue: 1 << 31)
    /// Appendix A.3.2 default1: bits 1, 4–6, 8, 13–16, 26.
    public static let default1 = Self(rawValue: 0x0401_E172)
}

/// Secondary processor-based VM-execution controls (§25.6.2, Table 25-7).
public struct SecondaryProcessorBasedControls: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let virtualizeAPICAccesses = Self(rawValue: 1 << 0)
    public static let enableEPT = Self(rawValue: 1 << 1)
    public static let descriptorTableExiting = Self(rawValue: 1 << 2)
    public static let enableRDTSCP = Self(rawValue: 1 << 3)
    public static let virtualizeX2APICMode = Self(rawValue: 1 << 4)
    public static let enableVPID = Self(rawValue: 1 << 5)
    public static let wbinvdExiting = Self(rawValue: 1 << 6)
    public static let unrestrictedGuest = Self(rawValue: 1 << 7)
    public static let apicRegisterVirtualization = Self(rawValue: 1 << 8)
    public static let virtualInterruptDelivery = Self(rawValue: 1 << 9)
    public static let pauseLoopExiting = Self(rawValue: 1 << 10)
    public static let rdrandExiting = Self(rawValue: 1 << 11)
    public static let enableINVPCID = Self(rawValue: 1 << 12)
    public static let enableVMFunctions = Self(rawValue: 1 << 13)
    public static let vmcsShadowing = Self(rawValue: 1 << 14)
    public static let rdseedExiting = Self(rawValue: 1 << 16)
    public static let enablePML = Self(rawValue: 1 << 17)
    public static let eptViolationVE = Self(rawValue: 1 << 18)
    public static let enableXSAVES = Self(rawValue: 1 << 20)
    public static let modeBasedExecuteControl = Self(rawValue: 1 << 22)
    public static let useTSCScaling = Self(rawValue: 1 << 25)
}

/// VM-exit controls (§25.7.1, Table 25-13).
public struct VMExitControls: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let saveDebugControls = Self(rawValue: 1 << 2)
    public static let hostAddressSpaceSize = Self(rawValue: 1 << 9)
    public static let loadPerfGlobalCtrl = Self(rawValue: 1 << 12)
    public static let acknowledgeInterruptOnExit = Self(rawValue: 1 << 15)
    public static let savePAT = Self(rawValue: 1 << 18)
    public static let loadPAT = Self(rawValue: 1 << 19)
    public static let saveEFER = Self(rawValue: 1 << 20)
    public static let loadEFER = Self(rawValue: 1 << 21)
    public static let saveVMXPreemptionTimer = Self(rawValue: 1 << 22)
    /// Appendix A.4 default1: bits 0–8, 10, 11, 13, 14, 16, 17.
    public static let default1 = Self(rawValue: 0x0003_6DFF)
}

/// VM-entry controls (§25.8.1, Table 25-15).
public struct VMEntryControls: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let loadDebugControls = Self(rawValue: 1 << 2)
    public static let ia32eModeGuest = Self(rawValue: 1 << 9)
    public static let entryToSMM = Self(rawValue: 1 << 10)
    public static let deactivateDualMonitor = Self(rawValue: 1 << 11)
    public static let loadPerfGlobalCtrl = Self(rawValue: 1 << 13)
    public static let loadPAT = Self(rawValue: 1 << 14)
    public static let loadEFER = Self(rawValue: 1 << 15)
    /// Appendix A.5 default1: bits 0–8, 12.
    public static let default1 = Self(rawValue: 0x0000_11FF)
}
