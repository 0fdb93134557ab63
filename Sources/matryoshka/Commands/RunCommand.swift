import ArgumentParser
import CommandLineSupport
import CPU
import Foundation
import GuestImages
import Hypervisor
import Platform
import QEMUFrontend
import Tracing

/// `matryoshka run [KERNEL]`: boots a kernel (Multiboot ELF/a.out, PVH ELF or Linux bzImage) — or,
/// without one, the bundled guest hypervisor (L1) with nested VMX, which runs its two L2 guests
/// — on a PC with COM1 on stdout, and ends a nested run with the per-level table
/// (`TraceExport.levelTable`). Exit status: the value the guest wrote
/// to isa-debug-exit (0xF4), so a guest reporting success with 0 exits 0; Matryoshka's own
/// statuses (`RunExitStatus`) otherwise, each with one line on stderr. (`matryoshka-qemu`
/// keeps QEMU's (value << 1) | 1 convention instead.)
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a kernel (or the bundled guest hypervisor, three levels deep) with COM1 on standard output.",
        discussion: "Exit status:\n" + RunExitStatus.rows.map { "  \($0.status.padding(toLength: 6, withPad: " ", startingAt: 0)) \($0.meaning)" }
            .joined(separator: "\n") + "\nEvery status but 0 comes with one line on standard error saying why.")

    @Argument(help: "Kernel image: Multiboot (ELF or a.out kludge), an ELF with a PVH entry note (a Linux vmlinux) or a Linux bzImage. Omit for the bundled guest hypervisor (docs/GUEST_HYPERVISOR.md), run with nested VMX.")
    var kernel: String?

    @Option(parsing: .unconditional, help: "Kernel command line.")
    var append: String = ""

    @Option(parsing: .unconditional, help: "Initial ramdisk (a Multiboot module, or the Linux initrd).")
    var initrd: String?

    @Option(name: [.customShort("m"), .long], parsing: .unconditional,
            help: "Guest RAM: MiB, or with a suffix (512M, 2G); 1 MiB ... 64 GiB.")
    var memory: String = "128"

    @Option(parsing: .unconditional, help: "Number of vCPUs (1 ... 64).")
    var smp: Int = 1

    @Option(parsing: .unconditional, help: "CPU model in QEMU's syntax (e.g. qemu64,+x2apic or max; 'help' lists models and features). Default: max, and max,+vmx for the bundled guest hypervisor.")
    var cpu: String?

    /// RAM the bundled guest hypervisor needs for itself and its two L2 guests (it powers off
    /// with "out of memory" below this).
    static let guestHypervisorMinimumMemory: UInt64 = 5 << 20

    /// `--cpu`, or the default: the bundled guest hypervisor needs VMX, which `max` does not offer.
    var cpuSpec: String { cpu ?? (kernel == nil ? "max,+vmx" : "max") }

    @Option(parsing: .unconditional, help: "Time base: virtual (reproducible, default) or host.")
    var clock: String = "virtual"

    @Option(parsing: .unconditional, help: "Stop after this many guest instructions (all vCPUs together).")
    var maxInstructions: String?

    @Option(parsing: .unconditional, help: "Stop after this much virtual time, halted time included (e.g. 500ms, 10s, 2m).")
    var maxTime: String?

    @Flag(help: "Print a summary (instructions, time, outcome) and the exit statistics to standard error.")
    var summary = false

    @Flag(help: "Interpret every instruction: no translation of hot 64-bit blocks to host code (same results, slower; for comparison).")
    var noTranslate = false

    @Flag(help: "Nested VMX: log every VMfail and VM-entry failure the guest hypervisor causes, with the rule it broke (field, value, SDM section), to standard error.")
    var vmxLog = false

    @Flag(help: "Nested VMX: L0 does not shadow the guest hypervisor's current VMCS (like KVM's enable_shadow_vmcs=0), so each of its VMREADs and VMWRITEs exits to L0.")
    var noVMCSShadowing = false

    @Option(name: .customLong("vmcs01-write"), parsing: .unconditionalSingleValue,
            help: "For studying VM-entry checks: FIELD=VALUE written into every vCPU's VMCS01 just before its first VM entry (FIELD: an encoding such as 0x4000 or the SDM's name, e.g. 'pin-based VM-execution controls'; repeatable). A value the checks refuse ends the run with status 70 and the rule it broke.")
    var vmcs01Write: [String] = []

    @Flag(help: "Print the table of VM exits L0 handled to standard error: per reason, or for a nested run per level (L2 exits L0 handled alone or reflected to L1, L1's exits, virtual VM entries, instructions and virtual time per level).")
    var exitStatistics = false

    @Option(parsing: .unconditional, help: "Write the timeline as a Chrome/Perfetto trace (JSON) to this file: a track per vCPU and level (L2, L1 running; L0 handling each exit), in virtual time; 'matryoshka trace-view' draws it.")
    var exitTrace: String?

    @Flag(help: "Sample the guest's RIP and print where it spent virtual time (functions from the kernel's ELF symbols) to standard error; with nested guests, L1's and L2's samples apart.")
    var profile = false

    @Option(parsing: .unconditional, help: "Microseconds of virtual time between profile samples (1–1000000).")
    var profileInterval: Int = 100

    @Option(parsing: .unconditional, help: "ELF file whose symbol table names the profile's addresses (default: the kernel, if it is ELF), e.g. a Linux vmlinux.")
    var profileSymbols: String?

    @Option(parsing: .unconditional, help: "ELF file whose symbol table names the profile's L2 addresses (default: none, L2 addresses in hex), e.g. the vmlinux L2 boots.")
    var profileL2Symbols: String?

    /// The machine the options describe; every value checked.
    func machineConfiguration() throws -> MachineConfiguration {
        var config = MachineConfiguration()
        config.memoryBytes = try MemorySize.parse(memory)
        config.cpuCount = smp
        do { config.cpuModel = try CPUModelSpec.model(from: cpuSpec) } catch { throw CommandLineError.usage("--cpu \(cpuSpec): \(error)") }
        guard let source = VirtualClock.Source(rawValue: clock) else {
            throw CommandLineError.usage("--clock must be virtual or host, not '\(clock)'")
        }
        config.clock = source
        config.shadowsVMCS12 = !noVMCSShadowing
        do { try config.validate() } catch { throw CommandLineError.usage("\(error)") }
        if kernel == nil && config.memoryBytes < Self.guestHypervisorMinimumMemory {
            throw CommandLineError.usage("the bundled guest hypervisor needs at least \(MachineConfiguration.describe(bytes: Self.guestHypervisorMinimumMemory)) of RAM, not \(MachineConfiguration.describe(bytes: config.memoryBytes))")
        }
        return config
    }

    /// `--max-instructions` and `--max-time`.
    func limits() throws -> OutcomeReport.Limits {
        var l = OutcomeReport.Limits()
        if let text = maxInstructions {
            guard let n = UInt64(text), n > 0 else {
                throw CommandLineError.usage("--max-instructions must be a whole number of at least 1, not '\(text)'")
            }
            l.instructions = n
        }
        if let text = maxTime { l.virtualTime = try VirtualDuration.parse(text) }
        return l
    }

    /// The symbols for the profile: `--profile-symbols`, else the kernel image's own.
    func profileSymbolTable(kernelImage: [UInt8]) throws -> ELFSymbolTable? {
        if let path = profileSymbols { return try Self.symbolFile(path) }
        guard ELFImage.isELF(kernelImage) else { return nil }
        return try? ELFSymbolTable(kernelImage)
    }

    /// The symbol table of ELF file `path` (a precise image error otherwise).
    static func symbolFile(_ path: String) throws -> ELFSymbolTable {
        let data = try InputFile.read(path, what: "symbol file")
        do { return try ELFSymbolTable(data) }
        catch { throw CommandLineError.image("symbol file '\(path)': \(error)") }
    }

    func run() throws {
        let started = Date()
        if cpuSpec == "help" {
            print(CPUModelSpec.helpText)
            return
        }
        let config = try machineConfiguration()
        let limits = try limits()
        guard (1...1_000_000).contains(profileInterval) else {
            throw CommandLineError.usage("--profile-interval must be between 1 and 1000000 µs, not \(profileInterval)")
        }
        for w in CPUModelSpec.warnings(for: cpuSpec) { FileHandle.standardError.write(Data("matryoshka: note: \(w)\n".utf8)) }
        // Inputs, then outputs, all before the guest runs.
        let image = try kernel.map { try InputFile.read($0, what: "kernel image") } ?? HypervisorGuest.image()
        let rd = try initrd.map { try InputFile.read($0, what: "initrd") }
        let symbols = profile ? try profileSymbolTable(kernelImage: image) : nil
        let l2Symbols = profile ? try profileL2Symbols.map(Self.symbolFile) : nil
        let traceFile = try exitTrace.map { try OutputFile.create($0, what: "exit trace") }

        let serial = SerialOutput(fileDescriptor: 1)
        var options = PCBoardOptions()
        options.serialOutput = { serial.put($0) }
        let vm: VirtualMachine
        do { vm = try VirtualMachine(config, board: options) } catch { throw CommandLineError.usage("\(error)") }
        if vmxLog {
            guard let nested = vm.nested else { throw CommandLineError.usage("--vmx-log needs a CPU model that offers VMX (e.g. --cpu max,+vmx)") }
            nested.log = { FileHandle.standardError.write(Data("matryoshka: vmx: \($0)\n".utf8)) }
        }
        // A Multiboot command line starts with the kernel's path, as GRUB and QEMU pass it.
        let name = kernel ?? "guest-hypervisor"
        let line = MultibootLoader.isMultiboot(image) ? (append.isEmpty ? name : "\(name) \(append)") : append
        do { try vm.boot(kernel: image, commandLine: line, initrd: rd) }
        catch { throw CommandLineError.image("kernel '\(name)': \(error)") }
        if noTranslate { for v in vm.vcpus { v.processor.translationEnabled = false } }
        let writes = try vmcs01Write.map(VMCSFieldAssignment.parse)
        for v in vm.vcpus { v.pendingVMCS01Writes = writes.map { ($0.field, $0.value) } }
        let samples = profile ? vm.startProfiling(intervalNanoseconds: UInt64(profileInterval) * 1000) : nil

        StopSignals.install()
        let outcome = vm.run(limits: RunLimits(instructions: limits.instructions ?? .max, nanoseconds: limits.virtualTime ?? .max,
                                               interruption: StopSignals.interruption))
        serial.flush()
        let report = OutcomeReport.run(outcome, vm: vm, limits: limits)
        if let m = report.message { FileHandle.standardError.write(Data("matryoshka: \(m)\n".utf8)) }
        let wall = Date().timeIntervalSince(started)
        if summary { FileHandle.standardError.write(Data(RunSummary.text(outcome: outcome, vm: vm, wallSeconds: wall).utf8)) }
        if summary || exitStatistics || kernel == nil {
            FileHandle.standardError.write(Data(RunSummary.statistics(vm: vm, wallSeconds: wall).utf8))
        }
        if let samples {
            func lookup(_ t: ELFSymbolTable?) -> GuestProfile.Symbolizer? {
                t.map { t in { (a: UInt64) in t.lookup(a).map { ($0.symbol.name, $0.offset) } } }
            }
            FileHandle.standardError.write(Data(samples.report(symbols: lookup(symbols), l2Symbols: lookup(l2Symbols)).utf8))
        }
        if let traceFile {
            try traceFile.write(Array(TraceExport.chromeTrace(vm.exitTrace).utf8))
            traceFile.close()
        }
        throw ExitCode(report.status)
    }
}
