/// The controls of the current VMCS that the interpreter consults while executing guest
/// code, unpacked from the VM-execution control fields at VM entry (SDM Vol. 3C §25.6)
/// so each sensitive instruction tests one stored Bool.
struct NonRootControls {
    /// "enable EPT" (secondary processor-based control bit 1).
    var ept = false
    /// The EPT pointer (VMCS field 0x201A) when `ept` is set.
    var eptPointer = EPTPointer(0)
    init() {}
}

/// Exit information recorded by the instruction or event that causes a VM exit
/// (SDM Vol. 3C §28.2 "Recording VM-exit information").
public struct PendingExit: Sendable {
    public var reason: ExitReason = .exceptionOrNMI
    public var qualification: UInt64 = 0
    public var guestLinearAddress: UInt64 = 0
    public var guestPhysicalAddress: UInt64 = 0
    public var instructionLength: UInt32 = 0
    public var instructionInfo: UInt32 = 0
    public var interruptionInfo: UInt32 = 0
    public var interruptionErrorCode: UInt32 = 0
    public init() {}
}
