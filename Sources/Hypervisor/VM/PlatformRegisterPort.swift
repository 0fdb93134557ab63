import CPU
import Platform

/// One processor's way to L0's platform registers (SDM Vol. 3A §12.4.4, §12.8.6.1): its local
/// APIC's TPR for MOV to/from CR8 directly, and the platform MSRs through the VM. The
/// processor holds it in a `let` (no reference counting per call); it refers to the APIC and
/// the VM without owning them — the VM owns both and outlives its processors.
final class PlatformRegisterPort: PlatformRegisterHandler {
    /// Set once the VM and this processor's local APIC exist (right after the processor).
    var vm: Unmanaged<VirtualMachine>?
    var lapic: Unmanaged<LocalAPIC>?

    func readMSR(_ index: UInt32, cpu: Processor) -> PlatformMSRResult {
        vm?._withUnsafeGuaranteedRef { $0.readMSR(index, cpu: cpu) } ?? .notHandled
    }

    func writeMSR(_ index: UInt32, value: UInt64, cpu: Processor) -> PlatformMSRResult {
        vm?._withUnsafeGuaranteedRef { $0.writeMSR(index, value: value, cpu: cpu) } ?? .notHandled
    }

    /// MOV to CR8: TPR[7:4] (§12.8.6.1).
    func taskPriorityWritten(cpu: Processor, value: UInt64) {
        lapic?._withUnsafeGuaranteedRef { $0.taskPriority = UInt8(truncatingIfNeeded: value << 4) }
    }

    /// MOV from CR8: TPR[7:4].
    func taskPriority(cpu: Processor) -> UInt64? {
        lapic?._withUnsafeGuaranteedRef { UInt64($0.taskPriority >> 4) }
    }
}
