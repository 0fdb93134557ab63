import ArgumentParser
import CPU
import Foundation
import Hypervisor
import Platform
import QEMUFrontend
import Tracing

/// `matryoshka run [KERNEL]`: boots a kernel (Multiboot ELF/a.out, PVH ELF or Linux bzImage) — or the
/// bundled default guest — on a PC with COM1 on stdout. Exit status: the value the guest wrote
/// to isa-debug-exit (0xF4), so a guest reporting success with 0 exits 0; 1 if the guest stopped
/// otherwise (deadlock, instruction limit); 2 for a usage or image error. (`matryoshka-qemu`
/// keeps QEMU's (value << 1) | 1 convention instead.)
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a kernel (or the bundled default guest) with COM1 on standard output.")

    @Argument(help: "Kernel image: Multiboot (ELF or a.out kludge), an ELF with a PVH entry note (a Linux vmlinux) or a Linux bzImage. Omit for the bundled default guest.")
    var kernel: String?

    @Option(help: "Kernel command line.")
    var append: String = ""

    @Option(help: "Initial ramdisk (a Multiboot module, or the Linux initrd).")
    var initrd: String?

    @Option(name: [.customShort("m"), .long], help: "Guest RAM in MiB.")
    var memory: UInt64 = 128

    @Option(help: "Number of vCPUs.")
    var smp: Int = 1

    @Option(help: "CPU model in QEMU's syntax (e.g. qemu64,+x2apic or max).")
    var cpu: String = "max"

    @Option(help: "Time base: virtual (reproducible, default) or host.")
    var clock: String = "virtual"

    @Option(help: "Stop after this many guest instructions.")
    var maxInstructions: UInt64?

    @Flag(help: "Print a summary (instructions, time, outcome) to standard error.")
    var summary = false

    @Flag(help: "Interpret every instruction: no translation of hot 64-bit blocks to host code (same results, slower; for comparison).")
    var noTranslate = false

    @Flag(help: "Print the table of VM exits L0 handled (per level and reason) to standard error.")
    var exitStatistics = false

    @Option(help: "Write the VM exits as a Chrome/Perfetto trace (JSON) to this file.")
    var exitTrace: String?

    @Flag(help: "Sample the guest's RIP and print where it spent virtual time (functions from the kernel's ELF symbols) to standard error.")
    var profile = false

    @Option(help: "Microseconds of virtual time between profile samples (1–1000000).")
    var profileInterval: UInt64 = 100

    @Option(help: "ELF file whose symbol table names the profile's addresses (default: the kernel, if it is ELF), e.g. a Linux vmlinux.")
    var profileSymbols: String?

    func validate() throws {
        guard (1...1_000_000).contains(profileInterval) else {
            throw ValidationError("--profile-interval must be between 1 and 1000000 µs, not \(profileInterval)")
        }
    }

    /// The symbols for the profile: `--profile-symbols`, else the kernel image's own.
    func profileSymbolTable(kernelImage: [UInt8]) throws -> ELFSymbolTable? {
        if let path = profileSymbols {
            guard let data = FileManager.default.contents(atPath: path) else { throw Failure("cannot read symbol file '\(path)'") }
            do { return try ELFSymbolTable([UInt8](data)) }
            catch { throw Failure("symbol file '\(path)': \(error)") }
        }
        guard ELFImage.isELF(kernelImage) else { return nil }
        return try? ELFSymbolTable(kernelImage)
    }

    func run() throws {
        let started = Date()
        var config = MachineConfiguration()
        config.memoryBytes = memory << 20
        config.cpuCount = smp
        do { config.cpuModel = try CPUModelSpec.model(from: cpu) }
        catch { throw Failure("\(error)") }
        guard let source = VirtualClock.Source(rawValue: clock) else { throw Failure("--clock must be virtual or host") }
        config.clock = source
        let image: [UInt8]
        if let path = kernel {
            guard let data = FileManager.default.contents(atPath: path) else { throw Failure("cannot read kernel image '\(path)'") }
            image = [UInt8](data)
        } else {
            image = DefaultGuest.image().elf
        }
        var rd: [UInt8]?
        if let path = initrd {
            guard let data = FileManager.default.contents(atPath: path) else { throw Failure("cannot read initrd '\(path)'") }
            rd = [UInt8](data)
        }
        var options = PCBoardOptions()
        let out = FileHandle.standardOutput
        var line: [UInt8] = []
        options.serialOutput = { b in
            line.append(b)
            if b == 10 || line.count >= 4096 { out.write(Data(line)); line.removeAll(keepingCapacity: true) }
        }
        let vm: VirtualMachine
        do {
            vm = try VirtualMachine(config, board: options)
            // A Multiboot command line starts with the kernel's path, as GRUB and QEMU pass it.
            let name = kernel ?? "default-guest"
            let line = MultibootLoader.isMultiboot(image) ? (append.isEmpty ? name : "\(name) \(append)") : append
            try vm.boot(kernel: image, commandLine: line, initrd: rd)
        } catch { throw Failure("\(error)") }
        if noTranslate { for v in vm.vcpus { v.processor.translationEnabled = false } }
        let symbols = profile ? try profileSymbolTable(kernelImage: image) : nil
        let samples = profile ? vm.startProfiling(intervalNanoseconds: profileInterval * 1000) : nil
        let outcome = vm.run(instructionLimit: maxInstructions ?? .max)
        if !line.isEmpty { out.write(Data(line)) }
        if summary || kernel == nil {
            let secs = Date().timeIntervalSince(started)
            let n = vm.clock.instructionsRetired
            FileHandle.standardError.write(Data(String(
                format: "matryoshka: %@ — %llu guest instructions, %.1f virtual ms, %.2f s wall (%.0f MIPS)\n",
                "\(outcome)", n, Double(vm.clock.nanoseconds) / 1e6, secs, Double(n) / secs / 1e6).utf8))
            let t = vm.bootProcessor.translationStatistics
            FileHandle.standardError.write(Data(String(
                format: "matryoshka: translator: %llu blocks translated (%llu instructions), %llu left to the interpreter, %llu entries into host code\n",
                t.blocks, t.instructions, t.refused, vm.vcpus.reduce(0) { $0 + $1.processor.translatedEntries }).utf8))
            FileHandle.standardError.write(Data(String(
                format: "matryoshka: decode cache: %llu blocks decoded, %llu removed by stores to code, %llu flushes; %llu events delivered\n",
                t.blocksDecoded, t.blocksInvalidated, t.flushes, vm.vcpus.reduce(0) { $0 + $1.processor.eventsDelivered }).utf8))
            for v in vm.vcpus {
                let g = v.vmcs01!
                FileHandle.standardError.write(Data(String(
                    format: "matryoshka: vCPU %d %@: RIP 0x%llx RSP 0x%llx RFLAGS 0x%llx CR0 0x%llx CR3 0x%llx CR4 0x%llx\n",
                    v.index, "\(v.state)", g[.guestRIP], g[.guestRSP], g[.guestRFLAGS], g[.guestCR0], g[.guestCR3], g[.guestCR4]).utf8))
            }
        }
        if summary || exitStatistics {
            FileHandle.standardError.write(Data(TraceExport.statisticsTable(vm.exitTrace).utf8))
        }
        if let samples {
            let lookup = symbols.map { t in { (a: UInt64) in t.lookup(a).map { ($0.symbol.name, $0.offset) } } }
            FileHandle.standardError.write(Data(samples.report(symbols: lookup).utf8))
        }
        if let path = exitTrace {
            guard FileManager.default.createFile(atPath: path, contents: Data(TraceExport.chromeTrace(vm.exitTrace).utf8)) else {
                throw Failure("cannot write exit trace '\(path)'")
            }
        }
        switch outcome {
        case .exited(let status): throw ExitCode((status >> 1) & 0x7F)
        case .shutdown, .poweredOff: throw ExitCode(0)
        case .deadlock where vm.sleeping:
            FileHandle.standardError.write(Data("matryoshka: \(VirtualMachine.sleepingWithoutWakeEvent)\n".utf8))
            throw ExitCode(1)
        case .deadlock, .instructionLimit: throw ExitCode(1)
        case .l0Failure(let cpu, let message):
            FileHandle.standardError.write(Data("matryoshka: L0 failure on vCPU \(cpu): \(message)\n".utf8))
            throw ExitCode(3)
        }
    }
}

/// A user-facing error: one line, exit status 2.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
