import ArgumentParser
import CPU
import Foundation
import Hypervisor
import Tracing

/// `bench --workload nested-cpuid`: virtual VM-exit round trips per second (an L2 CPUID
/// reflected to the guest hypervisor in `NestedBenchmarkGuest`, handled, VMRESUME) and the L0
/// exits each costs, with L0's VMCS shadowing on and off, next to the single-level CPUID rate
/// of the same run; Bochs (which emulates VMX) runs the same image; QEMU's TCG has no VMX.
struct NestedCPUIDBench {
    let iterations: UInt64
    /// Matryoshka's single-level CPUID round trips per second, measured in this run.
    let singleLevelCPUIDsPerSecond: Double
    let peers: [PeerEmulator]
    let workDirectory: URL
    /// `--write-images`: also write the image there.
    var imageDirectory: String?

    struct Variant {
        let shadowing: Bool
        var label: String { shadowing ? "VMCS shadowing on" : "VMCS shadowing off" }
    }

    func run() throws {
        let full = NestedBenchmarkGuest.image(iterations: iterations)
        let empty = NestedBenchmarkGuest.image(iterations: 1)
        if let dir = imageDirectory {
            let url = URL(fileURLWithPath: dir).appendingPathComponent("bench-nested-cpuid.elf")
            try Data(full.elf).write(to: url)
            print("wrote \(url.path)")
        }
        print("\n== nested-cpuid: L2 runs \(iterations) CPUIDs, each reflected to L1, which reads "
              + "\(NestedBenchmarkGuest.perExitReads.count) VMCS fields, emulates CPUID, writes guest RIP and "
              + "VMRESUMEs (KVM's work per exit) ==")
        var ours: [Bool: Double] = [:]   // reflected CPUIDs/s by shadowing
        for v in [Variant(shadowing: true), Variant(shadowing: false)] {
            ours[v.shadowing] = try measure(v, full: full.elf, empty: empty.elf)
        }
        print(String(format: "Matryoshka single-level CPUID, this run: %.1f CPUIDs/s; a reflected round trip costs %.1f of them with shadowing, %.1f without",
                     singleLevelCPUIDsPerSecond,
                     singleLevelCPUIDsPerSecond / ours[true]!,
                     singleLevelCPUIDsPerSecond / ours[false]!))
        for peer in peers where peer.unavailableReason() == nil {
            guard let bochs = peer as? BochsPeer else {
                print("\(peer.name): no nested figure — its TCG emulates SVM, not VMX, so this L1 cannot run there")
                continue
            }
            do {
                let console = workDirectory.appendingPathComponent("bochs-console.txt")
                let vmx = bochs.withCPUModel(BochsPeer.vmxModel, consoleOutput: console)
                let t0 = try vmx.run(elf: empty.elf, workDirectory: workDirectory)
                try Self.requireSuccess(console: console)
                let t1 = try vmx.run(elf: full.elf, workDirectory: workDirectory)
                try Self.requireSuccess(console: console)
                guard let loop = loopSeconds(peer, run: t1, baseline: t0) else { continue }
                let rate = Double(iterations - 1) / loop
                print(peer.name.padding(toLength: 11, withPad: " ", startingAt: 0)
                      + String(format: " %12.1f reflected CPUIDs/s  (cpu model %@; %.2f s, %.2f s of it boot)   Matryoshka/%@ = %.3f with shadowing, %.3f without",
                               rate, BochsPeer.vmxModel as NSString, t1, t0, peer.name as NSString,
                               ours[true]! / rate, ours[false]! / rate))
            } catch {
                print("\(peer.name): nested run failed — \(error)")
            }
        }
    }

    /// Prints one variant's figures — the full run less the one-CPUID run (boot and VMX setup) —
    /// and the full run's exact counts; returns the reflected CPUIDs per second.
    func measure(_ v: Variant, full: [UInt8], empty: [UInt8]) throws -> Double {
        // Per round trip: L2's 5 loop instructions and L1's handler (about 90).
        let limit = iterations * 200 + 10_000_000
        let m0 = try MatryoshkaBenchRun.run(elf: empty, memoryMiB: BenchmarkGuest.memoryMiB, instructionLimit: limit,
                                            nestedVMX: true, shadowsVMCS12: v.shadowing)
        let m = try MatryoshkaBenchRun.run(elf: full, memoryMiB: BenchmarkGuest.memoryMiB, instructionLimit: limit,
                                           nestedVMX: true, shadowsVMCS12: v.shadowing)
        for r in [m0, m] { try Self.requireSuccess(r, v) }
        let reflected = Self.reflectedCPUIDs(m.trace) - Self.reflectedCPUIDs(m0.trace)
        let seconds = max(m.seconds - m0.seconds, 1e-3)
        let rate = Double(reflected) / seconds
        let perReflected = Double(m.exits - m0.exits) / Double(max(reflected, 1))
        // L0's exits per reflected exit, by level and reason.
        var parts: [String] = []
        for level in [ExitEvent.Level.l2, .l1] {
            for r in ExitReason.allCases {
                let n = m.trace.count(r, level: level) - m0.trace.count(r, level: level)
                if n > 0 { parts.append("\(level == .l1 ? "L1" : "L2") \(r) " + String(format: "%.2f", Double(n) / Double(reflected))) }
            }
        }
        // (Foundation on Linux does not pad %@: the columns are padded here.)
        print("Matryoshka  " + String(format: "%12.1f", rate) + " reflected CPUIDs/s  "
              + v.label.padding(toLength: 18, withPad: " ", startingAt: 0)
              + String(format: " (%.2f L0 exits per reflected exit: ", perReflected)
              + parts.joined(separator: ", ") + String(format: "; %.2f s)", m.seconds))
        print("  full run, \(v.label): \(Self.counts(m.trace))")
        return rate
    }

    static func reflectedCPUIDs(_ t: ExitTrace) -> UInt64 {
        t.count(.cpuid, level: .l2, disposition: .reflectedToL1)
    }

    /// The run's exact counts: L2's exits reflected and kept, L1's exits by reason.
    static func counts(_ t: ExitTrace) -> String {
        let kept = ExitReason.allCases.reduce(UInt64(0)) { $0 + t.count($1, level: .l2, disposition: .handledByL0) }
        let l1 = ExitReason.allCases.compactMap { r -> String? in
            let n = t.count(r, level: .l1)
            return n > 0 ? "\(r)=\(n)" : nil
        }
        return "reflected CPUID=\(reflectedCPUIDs(t)) VMCALL=\(t.count(.vmcall, level: .l2, disposition: .reflectedToL1)); "
            + "L2 exits kept by L0: \(kept); virtual entries: \(t.virtualEntries); L1 exits: \(l1.joined(separator: " "))"
    }

    /// Under Bochs the guest hypervisor's status is its line on the port E9H console.
    static func requireSuccess(console: URL) throws {
        let text = String(decoding: (try? Data(contentsOf: console)) ?? Data(), as: UTF8.self)
        let line = "nested-cpuid: L1 status "
        guard let r = text.range(of: line) else {
            throw PeerError(description: "no \"\(line)N\" line on the E9H console (the guest hypervisor did not finish)")
        }
        let digit = text[r.upperBound...].first.flatMap { $0.wholeNumberValue }
        guard digit == 0 else {
            let status = digit.flatMap { NestedBenchmarkGuest.Status(rawValue: UInt8($0)) }
            throw PeerError(description: "the guest hypervisor ended with \(status.map { "\($0)" } ?? "an unknown status")")
        }
    }

    /// The guest hypervisor ends with isa-debug-exit 0 only when it counted every CPUID.
    static func requireSuccess(_ r: MatryoshkaBenchRun.Result, _ v: Variant) throws {
        if case .exited(status: 1) = r.outcome { return }
        var why = "\(r.outcome)"
        if case .exited(let s) = r.outcome, let status = NestedBenchmarkGuest.Status(rawValue: UInt8(truncatingIfNeeded: s >> 1)) {
            why = "L1 ended with \(status)"
        }
        print("Matryoshka (\(v.label)): the nested guest did not finish — \(why) after \(r.instructions) instructions")
        throw ExitCode(1)
    }
}
