import XCTest
@testable import CPU
@testable import Hypervisor
@testable import NestedVMX

/// The machine the hostile L1 runs on: a one-vCPU `VirtualMachine` with nested VMX, booted with
/// the fuzz L1 (`FuzzL1`) and run from one isa-debug-exit signal to the next. A machine L1 can
/// no longer drive (it shut down, L2 never came back, a device reset it) is reset and L1
/// booted again (`reboot`): that is an outcome of the case, not of the fuzz.
final class FuzzMachine {
    let vm: VirtualMachine
    let layout: L1ImageFacts
    var vcpu: VCPU { vm.vcpus[0] }
    var vmx: VirtualVMX { vcpu.vmx! }
    var nested: NestedVMX { vm.nested! }
    var memory: PhysicalMemory { vm.memory }
    /// Nested VMX's notes for the current case (`--vmx-log`), when `keepsLog`.
    var log: [String] = []
    var keepsLog = false

    /// Where the assembled L1 put the things the test needs (its labels' addresses).
    struct L1ImageFacts {
        let image: [UInt8]
        let landing: UInt64
        let gdt: UInt64, idt: UInt64, tss: UInt64
        let imageRange: Range<UInt64>
    }

    /// The fuzz L1 for a capability set, assembled once per process.
    nonisolated(unsafe) private static var assembled: [UInt64: L1ImageFacts] = [:]
    static func facts(for capabilities: VMXCapabilities) -> L1ImageFacts {
        let key = capabilities.basic ^ capabilities.misc ^ UInt64(capabilities.secondary.rawValue)
        if let f = assembled[key] { return f }
        let l1 = FuzzL1(capabilities: capabilities)
        let image = l1.image()
        let f = L1ImageFacts(image: image, landing: l1.landing.address!, gdt: l1.program.gdt.address!,
                             idt: l1.program.idt.address!, tss: l1.program.tss[0].address!,
                             imageRange: L1Layout.image..<(L1Layout.image + UInt64(image.count)))
        assembled[key] = f
        return f
    }

    enum Stop: Equatable {
        /// L1 finished the case's steps.
        case caseDone
        /// L1 is at its exit landing after a VM entry (an exit of L2 or a VM-entry failure).
        case guestRan
        /// Anything else the run ended with.
        case other(VirtualMachine.Outcome)
    }

    init() throws {
        var config = MachineConfiguration()
        config.memoryBytes = L1Layout.ramBytes
        config.cpuModel.features.insert(.vmx)
        vm = try VirtualMachine(config)
        layout = Self.facts(for: vm.nested!.capabilities)
        vm.nested!.log = { [unowned self] in if self.keepsLog { self.log.append($0) } }
        try boot()
    }

    private func boot() throws {
        try vm.boot(kernel: layout.image, commandLine: "")
        let first = run(budget: 2_000_000)
        guard first == .caseDone else { throw FuzzMachineError.bootFailed("\(first)") }
    }

    /// A machine reset (as after a triple fault without `noReboot`) and L1 booted again: L0's
    /// state — nested VMX's pages, the EPT02 pool, VPID02s — carries on, L1's RAM keeps what
    /// the new L1 does not overwrite.
    func reboot() throws {
        vm.reset()
        vcpu.nmiPending = false
        vcpu.processor.withdrawExternalInterrupt()
        try boot()
    }

    /// Runs until the next signal, or until `budget` more instructions retired or the virtual
    /// time they take (plus idle time, which a halted guest skips) passed.
    func run(budget: UInt64) -> Stop {
        vm.exitStatus = nil
        let outcome = vm.run(limits: RunLimits(instructions: vm.clock.instructionsRetired &+ budget,
                                               nanoseconds: vm.clock.nanoseconds &+ budget &* 4))
        switch outcome {
        case .exited(status: FuzzL1.status(FuzzL1.caseDoneSignal)): return .caseDone
        case .exited(status: FuzzL1.status(FuzzL1.guestRanSignal)): return .guestRan
        default: return .other(outcome)
        }
    }

    /// L1's control registers after boot (the landing restores them; vmcs12's host state
    /// starts from them).
    var l1CR0: UInt64 { qword(FuzzLayout.l1CR0) }
    var l1CR3: UInt64 { qword(FuzzLayout.l1CR3) }
    var l1CR4: UInt64 { qword(FuzzLayout.l1CR4) }
    var l1EFER: UInt64 { qword(FuzzLayout.l1EFER) }

    func qword(_ address: UInt64) -> UInt64 { (try? memory.load(UInt64.self, at: address)) ?? 0xBAD }
    func store(_ value: UInt64, at address: UInt64) { try? memory.store(value, at: address) }
    func write(_ bytes: [UInt8], at address: UInt64) { try? memory.write(bytes, at: address) }
}

enum FuzzMachineError: Error, CustomStringConvertible {
    case bootFailed(String)
    var description: String {
        switch self { case .bootFailed(let s): return "the fuzz L1 did not reach its step loop: \(s)" }
    }
}
