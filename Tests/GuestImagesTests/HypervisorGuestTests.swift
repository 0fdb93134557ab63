import CPU
import GuestImages
import Hypervisor
import Platform
import XCTest

/// The bundled guest hypervisor (Guests/Hypervisor), as the package build produced it.
final class HypervisorGuestTests: XCTestCase {
    static func le32(_ b: [UInt8], _ o: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) }
    }

    /// Multiboot Specification 0.6.96 §3.1: the header (magic, flags, checksum) in the first
    /// 8 KiB, 4-byte aligned; flag 16 set with load_addr = 1 MiB and the entry inside the
    /// loaded range, so loaders that do not take ELF64 load it by these fields.
    func testTheImageIsAMultibootKernelWithAddressFields() throws {
        let image = HypervisorGuest.image()
        XCTAssertEqual(Array(image.prefix(4)), [0x7F, 0x45, 0x4C, 0x46])
        XCTAssertTrue(MultibootLoader.isMultiboot(image))
        let offset = try XCTUnwrap(stride(from: 0, to: min(8192, image.count) - 32, by: 4).first { Self.le32(image, $0) == 0x1BAD_B002 })
        let flags = Self.le32(image, offset + 4)
        XCTAssertEqual(Self.le32(image, offset) &+ flags &+ Self.le32(image, offset + 8), 0)
        XCTAssertNotEqual(flags & (1 << 16), 0)
        let load = Self.le32(image, offset + 16), loadEnd = Self.le32(image, offset + 20)
        let bssEnd = Self.le32(image, offset + 24), entry = Self.le32(image, offset + 28)
        XCTAssertEqual(load, 0x10_0000)
        XCTAssertTrue((load..<loadEnd).contains(entry))
        XCTAssertGreaterThanOrEqual(bssEnd, loadEnd)
        XCTAssertLessThanOrEqual(Int(loadEnd - load), image.count)
    }

    func boot() throws -> (output: String, outcome: VirtualMachine.Outcome, instructions: UInt64) {
        var out: [UInt8] = []
        var options = PCBoardOptions()
        options.serialOutput = { out.append($0) }
        let vm = try VirtualMachine(MachineConfiguration(), board: options)
        try vm.boot(kernel: HypervisorGuest.image(), commandLine: "matryoshka-l1")
        let outcome = vm.run(instructionLimit: 4_000_000_000)
        return (String(decoding: out, as: UTF8.self), outcome, vm.clock.instructionsRetired)
    }

    /// Booted as L1 by Matryoshka's L0: where the processor L0 presents has no VMX, L1 says so
    /// and reports failure through isa-debug-exit (status 1); where it has VMX (nested VMX), L1
    /// runs both L2 guests to their answers and powers off through ACPI S5. Either way the run
    /// is deterministic.
    func testBootsUnderL0AndEitherRunsItsGuestsOrExplainsWhyNot() throws {
        let a = try boot()
        XCTAssertTrue(a.output.hasPrefix("Matryoshka L1: a guest hypervisor in Embedded Swift\n"), a.output)
        if a.output.contains("this processor has no VMX (CPUID.1:ECX[5] = 0)") {
            XCTAssertEqual(a.outcome, .exited(status: (1 << 1) | 1))
            XCTAssertEqual(a.output.split(separator: "\n").count, 2, a.output)
        } else {
            XCTAssertEqual(a.outcome, .poweredOff, a.output)
            for line in ["[collatz16] longest Collatz chain below 100000: 77031 (350 steps)",
                         "[sieve64] primes below 2000000: 148933, their sum: 142913828922",
                         "[sieve64] CPUID.40000000h: \"MatryoshkaL1\", hypervisor bit 1",
                         "[sieve64] #PF at 40000000h handled by the guest: mapped to 800000h, value read back intact",
                         "[sieve64] RDMSR 1Bh: #GP injected by L1, handled by the guest"] {
                XCTAssertTrue(a.output.contains(line + "\n"), "missing: \(line)\n\(a.output)")
            }
        }
        let b = try boot()
        XCTAssertEqual(a.output, b.output)
        XCTAssertEqual(a.instructions, b.instructions)
    }
}
