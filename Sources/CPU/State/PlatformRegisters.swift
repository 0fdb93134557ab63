/// MSRs that belong to the platform rather than the core: the local APIC's (IA32_APIC_BASE,
/// the x2APIC range 0x800–0x8FF, IA32_TSC_DEADLINE). Outside VMX these reach L0 through this
/// hook; in VMX non-root operation L0 sees them as RDMSR/WRMSR exits instead.
public protocol PlatformRegisterHandler: AnyObject {
    /// RDMSR `index`: `.notHandled` lets the processor's own MSR table answer.
    func readMSR(_ index: UInt32, cpu: Processor) -> PlatformMSRResult
    /// WRMSR `index`.
    func writeMSR(_ index: UInt32, value: UInt64, cpu: Processor) -> PlatformMSRResult
    /// MOV to CR8 wrote the task-priority class (the local APIC's TPR[7:4], SDM Vol. 3A §12.8.6.1).
    func taskPriorityWritten(cpu: Processor, value: UInt64)
    /// MOV from CR8: TPR[7:4] of the local APIC (nil: use the processor's own CR8).
    func taskPriority(cpu: Processor) -> UInt64?
}

extension PlatformRegisterHandler {
    public func taskPriorityWritten(cpu: Processor, value: UInt64) {}
    public func taskPriority(cpu: Processor) -> UInt64? { nil }
}

public enum PlatformMSRResult: Equatable, Sendable {
    case notHandled
    /// RDMSR result, or WRMSR accepted (value ignored).
    case value(UInt64)
    /// The access raises #GP(0).
    case generalProtection
}
