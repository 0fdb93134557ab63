import CPU
import Foundation
import Hypervisor
import Platform
import Tracing

/// Runs a benchmark image on Matryoshka in this process, the way `matryoshka run` does: the
/// Multiboot kernel boots on the PC board as an L1 guest under VMCS01 (EPT01, every port
/// I/O an exit to L0), so the figures are the product's, exits included.
struct MatryoshkaBenchRun {
    struct Result {
        var instructions: UInt64
        var exits: UInt64
        var seconds: Double
        var outcome: VirtualMachine.Outcome
        /// Every exit L0 handled, per level and reason.
        var trace: ExitTrace
    }

    /// `nestedVMX`: the model offers VMX (`max,+vmx`-style), so the image may run its own
    /// guests; `shadowsVMCS12` is then L0's VMCS-shadowing policy.
    static func run(elf: [UInt8], memoryMiB: Int, instructionLimit: UInt64, nestedVMX: Bool = false,
                    shadowsVMCS12: Bool = true) throws -> Result {
        var config = MachineConfiguration()
        config.memoryBytes = UInt64(memoryMiB) << 20
        // Long slices: the benchmark has no timer to service.
        config.sliceInstructions = 50_000_000
        if nestedVMX { config.cpuModel.features.insert(.vmx) }
        config.shadowsVMCS12 = shadowsVMCS12
        let vm = try VirtualMachine(config)
        try vm.boot(kernel: elf, commandLine: "bench")
        let start = Date()
        let outcome = vm.run(instructionLimit: instructionLimit)
        return Result(instructions: vm.clock.instructionsRetired, exits: vm.exitTrace.recorded,
                      seconds: Date().timeIntervalSince(start), outcome: outcome, trace: vm.exitTrace)
    }
}
