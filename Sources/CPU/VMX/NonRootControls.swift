/// The controls of the current VMCS that the interpreter consults while executing guest
/// code, unpacked from the VM-execution control fields at VM entry (SDM Vol. 3C §25.6)
/// so each sensitive instruction tests one stored value.
struct NonRootControls {
    var pin: PinBasedControls = []
    var primary: PrimaryProcessorBasedControls = []
    var secondary: SecondaryProcessorBasedControls = []
    /// The VM-exit controls (e.g. "acknowledge interrupt on exit").
    var exit: VMExitControls = []
    /// "enable EPT" (secondary processor-based control bit 1).
    var ept = false
    /// The EPT pointer (VMCS field 0x201A) when `ept` is set.
    var eptPointer = EPTPointer(0)
    /// The virtual-processor identifier (VMCS field 0000H), meaningful with "enable VPID".
    var vpid: UInt16 = 0
    var exceptionBitmap: UInt32 = 0
    var pageFaultErrorCodeMask: UInt32 = 0
    var pageFaultErrorCodeMatch: UInt32 = 0
    var cr0Mask: UInt64 = 0, cr0Shadow: UInt64 = 0
    var cr4Mask: UInt64 = 0, cr4Shadow: UInt64 = 0
    var cr3Targets: [UInt64] = []
    var ioBitmapA: UInt64 = 0, ioBitmapB: UInt64 = 0
    var msrBitmaps: UInt64 = 0
    var tscOffset: UInt64 = 0
    /// The VMCS being run (VMfailValid in non-root operation writes its VM-instruction error).
    var currentVMCS: VMCS? = nil
    /// "VMCS shadowing": VMCS link pointer, VMREAD/VMWRITE bitmaps, and the shadow VMCS the
    /// link pointer names (nil: FFFFFFFF_FFFFFFFFH or none registered; see VMCSRegions.swift).
    var vmcsLinkPointer: UInt64 = ~0
    var vmreadBitmap: UInt64 = 0, vmwriteBitmap: UInt64 = 0
    var shadowVMCS: VMCS? = nil
    /// "Use TPR shadow": the virtual-APIC page and TPR threshold (TPRShadow.swift).
    var virtualAPICAddress: UInt64 = 0
    var tprThreshold: UInt32 = 0
    /// "Virtualize APIC accesses": the APIC-access page, ~0 when off (APICAccessPage.swift).
    var apicAccessPage: UInt64 = ~0
    init() {}
}

/// Exit information recorded by the instruction or event that causes a VM exit
/// (SDM Vol. 3C §28.2 "Recording VM-exit information").
public struct PendingExit: Sendable {
    public var reason: ExitReason = .exceptionOrNMI
    public var entryFailure = false
    public var qualification: UInt64 = 0
    public var guestLinearAddress: UInt64 = 0
    public var guestPhysicalAddress: UInt64 = 0
    public var instructionLength: UInt32 = 0
    public var instructionInfo: UInt32 = 0
    public var interruptionInfo = InterruptionInformation.none
    public var interruptionErrorCode: UInt32 = 0
    /// The event being delivered when the exit occurred (§28.2.4); 0 when not during delivery.
    public var idtVectoringInfo = InterruptionInformation.none
    public var idtVectoringErrorCode: UInt32 = 0
    public init() {}
}
