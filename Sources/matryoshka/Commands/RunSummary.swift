import CommandLineSupport
import Foundation
import Hypervisor
import Tracing

/// `run --summary`: how the run ended, instructions and
/// virtual time (halted time shown apart), the translator's and decode cache's counters, and
/// each vCPU's state and registers at the end.
enum RunSummary {
    static func text(outcome: VirtualMachine.Outcome, vm: VirtualMachine, wallSeconds: Double) -> String {
        let n = vm.clock.instructionsRetired
        var lines = [String(format: "%@ — %llu guest instructions, %.1f virtual ms (%.1f ms halted), %.2f s wall (%.0f MIPS)",
                            describe(outcome), n, Double(vm.clock.nanoseconds) / 1e6, Double(vm.clock.idleNanoseconds) / 1e6,
                            wallSeconds, Double(n) / max(wallSeconds, 1e-6) / 1e6)]
        let t = vm.bootProcessor.translationStatistics
        lines.append(String(format: "translator: %llu blocks translated (%llu instructions), %llu left to the interpreter, %llu entries into host code, %llu blocks run a page-crossing instruction, %llu memory operands share an earlier operand's page check",
                            t.blocks, t.instructions, t.refused, vm.vcpus.reduce(0) { $0 + $1.processor.translatedEntries },
                            t.crossingTails, t.sharedPageOperands))
        lines.append(String(format: "decode cache: %llu blocks decoded, %llu removed by stores to code, %llu flushes; %llu events delivered",
                            t.blocksDecoded, t.blocksInvalidated, t.flushes, vm.vcpus.reduce(0) { $0 + $1.processor.eventsDelivered }))
        for v in vm.vcpus {
            let g = v.currentVMCS
            lines.append(String(format: "vCPU %d %@: RIP 0x%llx RSP 0x%llx RFLAGS 0x%llx CR0 0x%llx CR3 0x%llx CR4 0x%llx",
                                v.index, state(v), g[.guestRIP], g[.guestRSP], g[.guestRFLAGS], g[.guestCR0], g[.guestCR3], g[.guestCR4]))
        }
        return lines.map { "matryoshka: \($0)\n" }.joined()
    }

    /// The exit statistics: the per-level table after a nested run (an exit from L2 or a
    /// virtual VM entry), the table per reason otherwise.
    static func statistics(vm: VirtualMachine, wallSeconds: Double) -> String {
        guard vm.exitTrace.sawL2 else { return TraceExport.statisticsTable(vm.exitTrace) }
        let totals = TraceExport.RunTotals(instructions: vm.clock.instructionsRetired, nanoseconds: vm.clock.nanoseconds,
                                           idleNanoseconds: vm.clock.idleNanoseconds, wallSeconds: wallSeconds)
        return TraceExport.levelTable(vm.exitTrace, totals: totals)
    }

    /// The outcome in words (the exit status line says the rest).
    static func describe(_ o: VirtualMachine.Outcome) -> String {
        switch o {
        case .exited(let status): return "the guest wrote \((status >> 1) & 0xFF) to isa-debug-exit"
        case .poweredOff: return "the guest powered off (ACPI S5)"
        case .shutdown(let cpu): return "vCPU \(cpu) triple fault (shutdown)"
        case .deadlock: return "deadlock"
        case .instructionLimit: return "instruction limit reached"
        case .timeLimit: return "virtual-time limit reached"
        case .interrupted(let s): return "stopped by \(StopSignals.name(s))"
        case .l0Failure(let cpu, _): return "L0 failure on vCPU \(cpu)"
        }
    }

    /// A vCPU's state once the run is over: one that could still run was stopped by its end.
    static func state(_ v: VCPU) -> String {
        switch v.state {
        case .running: return "stopped"
        case .halted: return "halted"
        case .waitingForSIPI: return "waiting for SIPI"
        case .shutdown: return "in shutdown"
        }
    }
}
