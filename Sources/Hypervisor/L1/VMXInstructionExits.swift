import CPU
import NestedVMX
import Tracing

/// L1's VMX instructions and VMX capability MSRs when L0 offers VMX (nested VMX): the
/// processor emulates the instruction with the root-operation semantics of the vCPU's
/// `VirtualVMX`; a VMLAUNCH/VMRESUME that passes its checks becomes a virtual VM entry.
extension VirtualMachine {
    func handleVMXInstruction(_ v: VCPU, _ vmx: VirtualVMX) -> L1ExitResolution {
        switch v.processor.emulateInstruction(vmcs: v.vmcs01, bus: bus, vmx: vmx) {
        case .completed:
            return .resume
        case .vmExit(let r):
            return handleL1Exit(r, on: v)
        case .cannotEmulate(let r):
            return .end(.l0Failure(cpu: v.index, message: "cannot emulate L1's VMX instruction at RIP 0x\(String(v.vmcs01[.guestRIP], radix: 16)): \(r)"))
        case .virtualEntry(let launch):
            switch vmx.enterGuest(launch: launch) {
            case .enteredL2:
                exitTrace.recordVirtualEntry()
                v.state = .running
                return .resume
            case .failed(let reason):
                exitTrace.record(ExitEvent(time: clock.nanoseconds, cpu: UInt16(v.index), level: .l2, reason: reason,
                                           entryFailure: true, qualification: vmx.runningOrCurrentExitQualification,
                                           disposition: .reflectedToL1))
                return .resume
            case .vmxAbort:
                return l1Shutdown(v)
            }
        }
    }

    /// L1's processor is in the shutdown state (a VMX abort, §28.7): as a triple fault would
    /// leave it — the run ends, or the machine resets.
    func l1Shutdown(_ v: VCPU) -> L1ExitResolution {
        v.state = .shutdown
        if configuration.noReboot { return .end(.shutdown(cpu: v.index)) }
        reset()
        return .resume
    }
}
