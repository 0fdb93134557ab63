import Hypervisor

/// How a run ended, as a front end reports it: an exit status and, for anything but a clean
/// end, one line for stderr (without the program-name prefix).
public struct OutcomeReport: Equatable, Sendable {
    public var status: Int32
    public var message: String?

    public init(status: Int32, message: String?) {
        self.status = status
        self.message = message
    }

    /// What the front end passed as limits, for the messages that name them.
    public struct Limits: Sendable {
        public var instructions: UInt64?
        public var virtualTime: UInt64?
        public init(instructions: UInt64? = nil, virtualTime: UInt64? = nil) {
            self.instructions = instructions
            self.virtualTime = virtualTime
        }
    }

    /// `matryoshka run`'s statuses (`RunExitStatus`).
    public static func run(_ outcome: VirtualMachine.Outcome, vm: VirtualMachine, limits: Limits = Limits()) -> Self {
        switch outcome {
        case .exited(let status):
            // The device records QEMU's (value << 1) | 1; the guest's value is passed through.
            let value = (status >> 1) & 0xFF
            return Self(status: value, message: value == 0 ? nil : "the guest wrote \(value) to isa-debug-exit")
        case .poweredOff:
            return Self(status: RunExitStatus.success.rawValue, message: nil)
        case .shutdown(let cpu):
            return Self(status: RunExitStatus.tripleFault.rawValue, message: tripleFaultLine(vm, cpu))
        case .deadlock:
            return Self(status: RunExitStatus.deadlock.rawValue, message: vm.deadlockDescription)
        case .instructionLimit:
            let n = limits.instructions.map { " (--max-instructions \($0))" } ?? ""
            return Self(status: RunExitStatus.limitReached.rawValue,
                        message: "instruction limit reached: \(vm.clock.instructionsRetired) guest instructions retired\(n)")
        case .timeLimit:
            let t = limits.virtualTime.map { " (--max-time \(VirtualDuration.describe($0)))" } ?? ""
            return Self(status: RunExitStatus.limitReached.rawValue,
                        message: "virtual-time limit reached: \(VirtualDuration.describe(vm.clock.nanoseconds)) of virtual time\(t)")
        case .interrupted(let signal):
            return Self(status: RunExitStatus.signal(signal),
                        message: "stopped by \(StopSignals.name(signal)) after \(vm.clock.instructionsRetired) guest instructions, \(VirtualDuration.describe(vm.clock.nanoseconds)) of virtual time")
        case .l0Failure(let cpu, let message):
            return Self(status: RunExitStatus.unresolvedExit.rawValue, message: "L0 could not resolve a VM exit on vCPU \(cpu): \(message)")
        }
    }

    /// `matryoshka-qemu`'s statuses, QEMU's: isa-debug-exit's (value << 1) | 1; 0 for a
    /// shutdown with -no-reboot, a power-off, or a signal (with QEMU's "terminating on signal
    /// N", which kvm-unit-tests turns into 128 + N); 1 when the emulator itself fails (QEMU
    /// would hang on a deadlock; here it ends with the reason).
    public static func qemu(_ outcome: VirtualMachine.Outcome, vm: VirtualMachine) -> Self {
        switch outcome {
        case .exited(let status): return Self(status: status & 0xFF, message: nil)
        case .poweredOff: return Self(status: 0, message: nil)
        case .shutdown(let cpu): return Self(status: 0, message: tripleFaultLine(vm, cpu))
        case .interrupted(let signal): return Self(status: 0, message: "terminating on signal \(signal)")
        case .deadlock, .instructionLimit, .timeLimit, .l0Failure:
            return Self(status: 1, message: run(outcome, vm: vm).message)
        }
    }

    static func tripleFaultLine(_ vm: VirtualMachine, _ cpu: Int) -> String {
        let rip = cpu < vm.vcpus.count ? " at RIP 0x" + String(vm.vcpus[cpu].guestRIP, radix: 16) : ""
        return "vCPU \(cpu) triple fault\(rip): the machine shut down"
    }
}
