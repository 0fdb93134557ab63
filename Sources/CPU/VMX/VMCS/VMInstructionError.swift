/// VM-instruction error numbers (SDM Vol. 3C §31.4, Table 31-1): what VMfailValid stores in
/// the VM-instruction error field of the current VMCS. The one list every VMX instruction,
/// VM entry and VMCS access reports from.
public enum VMInstructionError: UInt32, Error, Sendable, CaseIterable, CustomStringConvertible {
    case vmcallInVMXRoot = 1
    case vmclearInvalidAddress = 2
    case vmclearVMXONPointer = 3
    case vmlaunchNonClearVMCS = 4
    case vmresumeNonLaunchedVMCS = 5
    case vmresumeAfterVMXOFF = 6
    case invalidControlFields = 7
    case invalidHostState = 8
    case vmptrldInvalidAddress = 9
    case vmptrldVMXONPointer = 10
    case vmptrldIncorrectRevision = 11
    case unsupportedComponent = 12
    case readOnlyComponent = 13
    case vmxonInVMXRoot = 15
    case invalidExecutiveVMCSPointer = 16
    case nonLaunchedExecutiveVMCS = 17
    case executiveVMCSPointerNotVMXON = 18
    case vmcallNonClearVMCS = 19
    case vmcallInvalidExitControls = 20
    case vmcallIncorrectMSEGRevision = 22
    case vmxoffUnderDualMonitor = 23
    case vmcallInvalidSMMMonitorFeatures = 24
    case invalidExecutiveExecutionControls = 25
    case entryWithEventsBlockedByMOVSS = 26
    case invalidINVEPTOrINVVPIDOperand = 28

    /// Table 31-1's description.
    public var description: String {
        switch self {
        case .vmcallInVMXRoot: return "VMCALL executed in VMX root operation"
        case .vmclearInvalidAddress: return "VMCLEAR with invalid physical address"
        case .vmclearVMXONPointer: return "VMCLEAR with VMXON pointer"
        case .vmlaunchNonClearVMCS: return "VMLAUNCH with non-clear VMCS"
        case .vmresumeNonLaunchedVMCS: return "VMRESUME with non-launched VMCS"
        case .vmresumeAfterVMXOFF: return "VMRESUME after VMXOFF"
        case .invalidControlFields: return "VM entry with invalid control field(s)"
        case .invalidHostState: return "VM entry with invalid host-state field(s)"
        case .vmptrldInvalidAddress: return "VMPTRLD with invalid physical address"
        case .vmptrldVMXONPointer: return "VMPTRLD with VMXON pointer"
        case .vmptrldIncorrectRevision: return "VMPTRLD with incorrect VMCS revision identifier"
        case .unsupportedComponent: return "VMREAD/VMWRITE from/to unsupported VMCS component"
        case .readOnlyComponent: return "VMWRITE to read-only VMCS component"
        case .vmxonInVMXRoot: return "VMXON executed in VMX root operation"
        case .invalidExecutiveVMCSPointer: return "VM entry with invalid executive-VMCS pointer"
        case .nonLaunchedExecutiveVMCS: return "VM entry with non-launched executive VMCS"
        case .executiveVMCSPointerNotVMXON: return "VM entry with executive-VMCS pointer not VMXON pointer"
        case .vmcallNonClearVMCS: return "VMCALL with non-clear VMCS"
        case .vmcallInvalidExitControls: return "VMCALL with invalid VM-exit control fields"
        case .vmcallIncorrectMSEGRevision: return "VMCALL with incorrect MSEG revision identifier"
        case .vmxoffUnderDualMonitor: return "VMXOFF under dual-monitor treatment of SMIs and SMM"
        case .vmcallInvalidSMMMonitorFeatures: return "VMCALL with invalid SMM-monitor features"
        case .invalidExecutiveExecutionControls: return "VM entry with invalid VM-execution control fields in executive VMCS"
        case .entryWithEventsBlockedByMOVSS: return "VM entry with events blocked by MOV SS"
        case .invalidINVEPTOrINVVPIDOperand: return "invalid operand to INVEPT/INVVPID"
        }
    }
}
