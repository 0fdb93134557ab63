import XCTest
@testable import CPU
@testable import Hypervisor
import NestedVMX
import Platform

/// The machine a test L1 runs on: a `VirtualMachine` whose CPU model has VMX, so L0 offers
/// nested VMX (less `withheld`). `program()` starts an L1 for it; `run` boots and runs it and
/// fails with L1's own account when the run does not end with `ExitCode.done`; then the test
/// reads what L1 recorded.
final class NestedMachine {
    let vm: VirtualMachine
    private let serialBytes = SerialCapture()
    /// Nested VMX's notes (`--vmx-log`): every VMfail and entry failure with its rule.
    private(set) var vmxLog: [String] = []

    init(cpus: Int = 1, withheld: VMXFeatureMask = VMXFeatureMask()) throws {
        // Every VM entry (VMCS01, VMCS02) and virtual entry (vmcs12) compares the cached entry
        // checks with the full check.
        VMEntryCheckCache.verify = true
        var config = MachineConfiguration()
        config.memoryBytes = L1Layout.ramBytes
        config.cpuCount = cpus
        config.cpuModel.features.insert(.vmx)
        config.cpuModel.vmxWithheld = withheld
        var options = PCBoardOptions()
        let capture = serialBytes
        options.serialOutput = { capture.bytes.append($0) }
        vm = try VirtualMachine(config, board: options)
        vm.nested?.log = { [unowned self] in self.vmxLog.append($0) }
    }

    var nested: NestedVMX { vm.nested! }
    var capabilities: VMXCapabilities { nested.capabilities }
    var serialOutput: String { String(decoding: serialBytes.bytes, as: UTF8.self) }

    func program() -> L1Program { L1Program(capabilities: capabilities, cpus: vm.configuration.cpuCount) }

    enum RunError: Error, CustomStringConvertible {
        case unexpectedFault(vector: UInt64, errorCode: UInt64, rip: UInt64, log: [String])
        case setupFailed(field: UInt64, flags: UInt64, error: UInt64?, log: [String])
        case outcome(VirtualMachine.Outcome, log: [String])

        var description: String {
            switch self {
            case .unexpectedFault(let v, let e, let rip, let log):
                return "L1 took an unexpected fault \(v) (error code 0x\(String(e, radix: 16))) at RIP 0x\(String(rip, radix: 16)); nested VMX log: \(log)"
            case .setupFailed(let f, let flags, let e, let log):
                return "L1's setup step 0x\(String(f, radix: 16)) failed (RFLAGS 0x\(String(flags, radix: 16)), VM-instruction error \(e.map(String.init) ?? "-")); nested VMX log: \(log)"
            case .outcome(let o, let log):
                return "the run ended with \(o); nested VMX log: \(log)"
            }
        }
    }

    /// Boots `p` and runs it to its end; throws unless L1 finished normally.
    func run(_ p: L1Program, instructionLimit: UInt64 = 50_000_000) throws {
        try vm.boot(kernel: p.image(), commandLine: "")
        let outcome = vm.run(instructionLimit: instructionLimit)
        let g = L1Program.Globals.self
        switch outcome {
        case .exited(status: Int32(L1Program.ExitCode.done) << 1 | 1):
            return
        case .exited(status: Int32(L1Program.ExitCode.unexpectedFault) << 1 | 1):
            throw RunError.unexpectedFault(vector: self[g.unexpectedVector], errorCode: self[g.unexpectedErrorCode],
                                           rip: self[g.unexpectedRIP], log: vmxLog)
        case .exited(status: Int32(L1Program.ExitCode.setupFailed) << 1 | 1):
            throw RunError.setupFailed(field: self[g.setupFailedField], flags: self[g.setupFailedFlags],
                                       error: nested.currentError(vm), log: vmxLog)
        default:
            throw RunError.outcome(outcome, log: vmxLog)
        }
    }

    /// Boots `p` and runs it until the machine stops for any reason, which it returns.
    func runToEnd(_ p: L1Program, instructionLimit: UInt64 = 50_000_000) throws -> VirtualMachine.Outcome {
        try vm.boot(kernel: p.image(), commandLine: "")
        return vm.run(instructionLimit: instructionLimit)
    }

    /// What L1 stored in `s`.
    subscript(_ s: Slot) -> UInt64 { (try? vm.memory.load(UInt64.self, at: s.address)) ?? 0xBAD }

    /// A qword of L1's memory.
    func qword(at address: UInt64) -> UInt64 { (try? vm.memory.load(UInt64.self, at: address)) ?? 0xBAD }

    func outcome(_ r: OutcomeRecord) -> VMXOutcome {
        let vector = self[r.vector]
        if vector != ~0 { return .fault(vector: vector, errorCode: self[r.errorCode]) }
        switch self[r.flags] & UInt64(vmxStatusFlags) {
        case 0: return .succeed
        case 1: return .failInvalid
        case 0x40: return .failValid(self[r.instructionError])
        case let f: return .flags(f)
        }
    }

    /// A VM entry's outcome: `nil` when it led to a VM exit.
    func entry(_ r: EntryRecord) -> VMXOutcome? { self[r.exited] == 1 ? nil : outcome(r.outcome) }

    func exits(_ log: ExitLog) -> [ObservedExit] {
        let n = min(Int(self[log.count]), log.capacity)
        return (0..<n).map { k in ObservedExit { self[log.slot(k, $0)] } }
    }
}

private final class SerialCapture: @unchecked Sendable {
    var bytes: [UInt8] = []
}

extension NestedVMX {
    /// The VM-instruction error of the BSP's current vmcs12 (for setup-failure reports).
    func currentError(_ vm: VirtualMachine) -> UInt64? {
        guard let v = vm.vcpus.first?.vmx, v.hasCurrentVMCS else { return nil }
        if case .success(let e) = v.vmread(encoding: UInt64(VMCSField.vmInstructionError.encoding)) { return e }
        return nil
    }
}

/// One logged VM exit (`ExitLog`), decoded.
struct ObservedExit: CustomStringConvertible {
    let values: [UInt64]
    init(_ read: (ExitLog.Item) -> UInt64) { values = ExitLog.Item.allCases.map(read) }
    subscript(_ item: ExitLog.Item) -> UInt64 { values[item.rawValue] }

    var reasonField: UInt64 { self[.reason] }
    /// The basic exit reason (bits 15:0, Table 28-? / Appendix C).
    var reason: ExitReason? { ExitReason(rawValue: UInt16(reasonField & 0xFFFF)) }
    var isEntryFailure: Bool { reasonField & (1 << 31) != 0 }
    var qualification: UInt64 { self[.qualification] }
    var guestPhysicalAddress: UInt64 { self[.guestPhysicalAddress] }
    var guestLinearAddress: UInt64 { self[.guestLinearAddress] }
    var instructionLength: UInt64 { self[.instructionLength] }
    var interruptionInformation: UInt64 { self[.interruptionInformation] }
    var guestRIP: UInt64 { self[.guestRIP] }

    var description: String {
        "exit \(reason.map { "\($0)" } ?? "?") (0x\(String(reasonField, radix: 16))) qualification 0x\(String(qualification, radix: 16)) RIP 0x\(String(guestRIP, radix: 16)) GPA 0x\(String(guestPhysicalAddress, radix: 16)) length \(instructionLength) interruption 0x\(String(interruptionInformation, radix: 16)) RBX 0x\(String(self[.rbx], radix: 16))"
    }
}

extension Array where Element == ObservedExit {
    /// The basic exit reasons, in order.
    var reasons: [ExitReason?] { map(\.reason) }
}
