import ArgumentParser
import CommandLineSupport
import Foundation
import GuestImages

/// `matryoshka export-guest`: writes a bundled guest as a Multiboot ELF file, so the same
/// image can be run on QEMU (`-kernel`) or GRUB for comparison. `hypervisor` is the guest
/// hypervisor built from Guests/Hypervisor (docs/GUEST_HYPERVISOR.md); it needs VMX, so it runs
/// its L2 guests under Bochs (`cpu: model=corei7_skylake_x`) or a VT-x host.
struct ExportGuestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-guest",
        abstract: "Write a bundled guest (default, hypervisor, bench-integer, bench-memory, bench-nested-cpuid) as a Multiboot ELF file.")

    @Argument(help: "Which guest: default, hypervisor (the L1 guest hypervisor), bench-integer, bench-memory or bench-nested-cpuid (a guest hypervisor reflecting 500,000 L2 CPUIDs; needs VMX).")
    var guest: String = "default"

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Output file.")
    var output: String

    func run() throws {
        let elf: [UInt8]
        switch guest {
        case "default": elf = DefaultGuest.image().elf
        case "hypervisor": elf = HypervisorGuest.image()
        case "bench-integer": elf = BenchmarkGuest.image(.integer, iterations: 400_000_000).elf
        case "bench-memory": elf = BenchmarkGuest.image(.memory, iterations: 100_000_000).elf
        case "bench-nested-cpuid": elf = NestedBenchmarkGuest.image(iterations: 500_000).elf
        default: throw CommandLineError.usage("unknown guest '\(guest)' (default, hypervisor, bench-integer, bench-memory, bench-nested-cpuid)")
        }
        let file = try OutputFile.create(output, what: "output file")
        try file.write(elf)
        file.close()
    }
}
