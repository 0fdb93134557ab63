import ArgumentParser
import Foundation

/// `matryoshka bench`: guest MIPS on the integer and memory loops, with QEMU TCG and Bochs
/// running the same Multiboot images in the same session.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure guest MIPS on the benchmark loops against QEMU TCG and Bochs.")

    @Option(help: "Workloads to run: integer, memory or all.")
    var workload: String = "all"

    @Option(help: "Iterations of the integer loop (5 instructions each).")
    var integerIterations: UInt64 = 400_000_000

    @Option(help: "Iterations of the memory loop (5 instructions each).")
    var memoryIterations: UInt64 = 100_000_000

    @Flag(help: "Measure Matryoshka only.")
    var noPeers = false

    @Option(help: "Also write the benchmark images (Multiboot ELF) to this directory, for running them elsewhere.")
    var writeImages: String?

    func validate() throws {
        guard integerIterations >= 1, memoryIterations >= 1 else { throw ValidationError("iteration counts must be at least 1") }
        guard workload == "all" || BenchmarkGuest.Workload(rawValue: workload) != nil else {
            throw ValidationError("unknown workload '\(workload)' (integer, memory or all)")
        }
    }

    func run() throws {
        let workloads = workload == "all" ? BenchmarkGuest.Workload.allCases : [BenchmarkGuest.Workload(rawValue: workload)!]
        let peers: [PeerEmulator] = noPeers ? [] : [QEMUPeer(), BochsPeer()]
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("matryoshka-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        for peer in peers {
            if let why = peer.unavailableReason() { print("\(peer.name): skipped — \(why)") }
        }
        for w in workloads {
            let iterations = w == .integer ? integerIterations : memoryIterations
            let full = BenchmarkGuest.image(w, iterations: iterations)
            // The baseline runs one iteration (the loop is DEC/JNZ-terminated, so 0 would mean 2⁶⁴).
            let empty = BenchmarkGuest.image(w, iterations: 1)
            let loopInstructions = iterations * BenchmarkGuest.instructionsPerIteration
            if let dir = writeImages {
                let url = URL(fileURLWithPath: dir).appendingPathComponent("bench-\(w.rawValue).elf")
                try Data(full.elf).write(to: url)
                print("wrote \(url.path)")
            }
            print("\n== \(w.rawValue) loop: \(loopInstructions) guest instructions ==")
            let m = try MatryoshkaBenchRun.run(code: full.code, loadAddress: UInt64(BenchmarkGuest.loadAddress),
                                               entry: UInt64(full.entry), memoryMiB: BenchmarkGuest.memoryMiB,
                                               instructionLimit: loopInstructions * 2 + 10_000_000)
            guard m.exitStatus != nil else {
                print("Matryoshka: the guest did not finish (stopped: \(m.stop) after \(m.instructions) instructions)")
                throw ExitCode(1)
            }
            let ours = Double(m.instructions) / m.seconds / 1e6
            print(String(format: "%-12@ %8.1f MIPS  (%llu instructions in %.2f s)", "Matryoshka" as NSString, ours, m.instructions, m.seconds))
            for peer in peers where peer.unavailableReason() == nil {
                do {
                    let t0 = try peer.run(elf: empty.elf, workDirectory: work)
                    let t1 = try peer.run(elf: full.elf, workDirectory: work)
                    let loop = max(t1 - t0, 1e-3)
                    let mips = Double(loopInstructions) / loop / 1e6
                    print(String(format: "%-12@ %8.1f MIPS  (%.2f s, %.2f s of it boot)   Matryoshka/%@ = %.2f",
                                 peer.name as NSString, mips, t1, t0, peer.name as NSString, ours / mips))
                } catch {
                    print("\(peer.name): failed — \(error)")
                }
            }
        }
    }
}
