import ArgumentParser
import Foundation

/// `matryoshka bench`: guest MIPS on the integer and memory loops, port-I/O writes and CPUIDs
/// (each a VM exit to L0 here) per second, with QEMU TCG and Bochs running the same Multiboot
/// images in the same session; and L2 CPUIDs reflected to a guest hypervisor and resumed
/// (`NestedCPUIDBench`), next to the single-level CPUID rate.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure guest MIPS, exit round trips/s (OUT, CPUID, an L2 CPUID reflected to L1) against QEMU TCG and Bochs.")

    @Option(help: "Workloads to run: integer, memory, portio, cpuid, nested-cpuid (runs cpuid too, for comparison) or all.")
    var workload: String = "all"

    @Option(help: "Iterations of the integer loop (5 instructions each).")
    var integerIterations: UInt64 = 400_000_000

    @Option(help: "Iterations of the memory loop (5 instructions each).")
    var memoryIterations: UInt64 = 100_000_000

    @Option(help: "Iterations of the port-I/O loop (5 instructions each, one OUT).")
    var portioIterations: UInt64 = 2_000_000

    @Option(help: "Iterations of the CPUID loop (5 instructions each, one CPUID).")
    var cpuidIterations: UInt64 = 2_000_000

    @Option(help: "CPUIDs of the nested-cpuid workload's L2 (each reflected to L1 and resumed).")
    var nestedCpuidIterations: UInt64 = 500_000

    @Flag(help: "Measure Matryoshka only.")
    var noPeers = false

    @Option(help: "Also write the benchmark images (Multiboot ELF) to this directory, for running them elsewhere.")
    var writeImages: String?

    func validate() throws {
        guard integerIterations >= 1, memoryIterations >= 1, portioIterations >= 1, cpuidIterations >= 1,
              nestedCpuidIterations >= 2 else {
            throw ValidationError("iteration counts must be at least 1 (2 for nested-cpuid)")
        }
        guard workload == "all" || workload == Self.nestedCPUID || BenchmarkGuest.Workload(rawValue: workload) != nil else {
            throw ValidationError("unknown workload '\(workload)' (integer, memory, portio, cpuid, nested-cpuid or all)")
        }
    }

    func iterations(_ w: BenchmarkGuest.Workload) -> UInt64 {
        switch w {
        case .integer: return integerIterations
        case .memory: return memoryIterations
        case .portio: return portioIterations
        case .cpuid: return cpuidIterations
        }
    }

    static let nestedCPUID = "nested-cpuid"

    func run() throws {
        let nested = workload == "all" || workload == Self.nestedCPUID
        let workloads = workload == "all" ? BenchmarkGuest.Workload.allCases
            : [BenchmarkGuest.Workload(rawValue: nested ? "cpuid" : workload)!]
        var cpuidRate = 0.0
        let peers: [PeerEmulator] = noPeers ? [] : [QEMUPeer(), BochsPeer()]
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("matryoshka-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        for peer in peers {
            if let why = peer.unavailableReason() { print("\(peer.name): skipped — \(why)") }
        }
        for w in workloads {
            let n = iterations(w)
            let full = BenchmarkGuest.image(w, iterations: n)
            // The baseline runs one iteration (the loop is DEC/JNZ-terminated, so 0 would mean 2⁶⁴).
            let empty = BenchmarkGuest.image(w, iterations: 1)
            let loopInstructions = n * BenchmarkGuest.instructionsPerIteration
            if let dir = writeImages {
                let url = URL(fileURLWithPath: dir).appendingPathComponent("bench-\(w.rawValue).elf")
                try Data(full.elf).write(to: url)
                print("wrote \(url.path)")
            }
            let exiting = w == .portio || w == .cpuid
            let what = w == .cpuid ? "CPUIDs" : "port writes"
            print("\n== \(w.rawValue) loop: \(loopInstructions) guest instructions, \(exiting ? n : 0) \(what) ==")
            let limit = loopInstructions * 2 + 10_000_000
            let m0 = try MatryoshkaBenchRun.run(elf: empty.elf, memoryMiB: BenchmarkGuest.memoryMiB, instructionLimit: limit)
            let m = try MatryoshkaBenchRun.run(elf: full.elf, memoryMiB: BenchmarkGuest.memoryMiB, instructionLimit: limit)
            guard case .exited = m.outcome else {
                print("Matryoshka: the guest did not finish (\(m.outcome) after \(m.instructions) instructions)")
                throw ExitCode(1)
            }
            let seconds = max(m.seconds - m0.seconds, 1e-3)
            let ours = Double(loopInstructions) / seconds / 1e6
            let exitsPerSecond = Double(m.exits - m0.exits) / seconds
            let oursRate = exiting ? Double(n) / seconds : ours
            let unit = w == .portio ? "writes/s" : (w == .cpuid ? "CPUIDs/s" : "MIPS")
            if w == .cpuid { cpuidRate = oursRate }
            print(String(format: "%-12@ %12.1f %@  (%.1f MIPS, %llu VM exits, %.0f exits/s, %.2f s)",
                         "Matryoshka" as NSString, oursRate, unit as NSString, ours, m.exits, exitsPerSecond, m.seconds))
            for peer in peers where peer.unavailableReason() == nil {
                do {
                    let t0 = try peer.run(elf: empty.elf, workDirectory: work)
                    let t1 = try peer.run(elf: full.elf, workDirectory: work)
                    guard let loop = loopSeconds(peer, run: t1, baseline: t0) else { continue }
                    let rate = exiting ? Double(n) / loop : Double(loopInstructions) / loop / 1e6
                    print(String(format: "%-12@ %12.1f %@  (%.2f s, %.2f s of it boot)   Matryoshka/%@ = %.3f",
                                 peer.name as NSString, rate, unit as NSString, t1, t0, peer.name as NSString, oursRate / rate))
                } catch {
                    print("\(peer.name): failed — \(error)")
                }
            }
        }
        if nested {
            try NestedCPUIDBench(iterations: nestedCpuidIterations, singleLevelCPUIDsPerSecond: cpuidRate,
                                 peers: peers, workDirectory: work, imageDirectory: writeImages).run()
        }
    }
}
