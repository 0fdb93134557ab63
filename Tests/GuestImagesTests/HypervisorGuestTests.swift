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
        let (load, loadEnd, bssEnd, entry) = try Self.addressFields(image)
        XCTAssertEqual(load, 0x10_0000)
        XCTAssertTrue((load..<loadEnd).contains(entry))
        XCTAssertGreaterThanOrEqual(bssEnd, loadEnd)
        XCTAssertLessThanOrEqual(Int(loadEnd - load), image.count)
    }

    /// The Multiboot header's address fields (load_addr, load_end_addr, bss_end_addr,
    /// entry_addr), its checksum and flag 16 checked.
    static func addressFields(_ image: [UInt8]) throws -> (load: UInt32, loadEnd: UInt32, bssEnd: UInt32, entry: UInt32) {
        let offset = try XCTUnwrap(stride(from: 0, to: min(8192, image.count) - 32, by: 4).first { le32(image, $0) == 0x1BAD_B002 })
        let flags = le32(image, offset + 4)
        XCTAssertEqual(le32(image, offset) &+ flags &+ le32(image, offset + 8), 0)
        XCTAssertNotEqual(flags & (1 << 16), 0)
        return (le32(image, offset + 16), le32(image, offset + 20), le32(image, offset + 24), le32(image, offset + 28))
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

    /// Under nested VMX (a model with VMX), the per-level accounting covers the whole run:
    /// every retired instruction is L1's or L2's, L0's spans plus L1's, L2's and idle time make
    /// up the machine's virtual time, each virtual VM entry is an L1 VMLAUNCH/VMRESUME exit,
    /// every exit reflected to L1 follows an entry, and a vCPU's spans follow one another. The
    /// guest profile splits its samples the same way: L2's cover L2's time (give or take the
    /// exits L0 handled between them), and every L1 sample is in L1's image.
    func testNestedRunIsAccountedPerLevel() throws {
        var config = MachineConfiguration()
        config.cpuModel.features.insert(.vmx)
        var out: [UInt8] = []
        var options = PCBoardOptions()
        options.serialOutput = { out.append($0) }
        let vm = try VirtualMachine(config, board: options)
        try vm.boot(kernel: HypervisorGuest.image(), commandLine: "matryoshka-l1")
        let profile = vm.startProfiling(intervalNanoseconds: 10_000)
        let outcome = vm.run(instructionLimit: 4_000_000_000)
        let output = String(decoding: out, as: UTF8.self)
        XCTAssertEqual(outcome, .poweredOff, output)
        XCTAssertTrue(output.contains("[sieve64] done\n") && output.contains("[collatz16] done\n"), output)
        let t = vm.exitTrace, tl = t.timeline
        XCTAssertEqual(tl.instructionsRetired(.l1) + tl.instructionsRetired(.l2), vm.clock.instructionsRetired)
        XCTAssertGreaterThan(tl.instructionsRetired(.l2), tl.instructionsRetired(.l1))
        XCTAssertEqual(tl.virtualTime(.l0) + tl.virtualTime(.l1) + tl.virtualTime(.l2) + vm.clock.idleNanoseconds, vm.clock.nanoseconds)
        let entries = t.count(.vmlaunch, level: .l1) + t.count(.vmresume, level: .l1)
        var reflected: UInt64 = 0, alone: UInt64 = 0
        for r in ExitReason.allCases {
            reflected += t.count(r, level: .l2, disposition: .reflectedToL1)
            alone += t.count(r, level: .l2, disposition: .handledByL0)
        }
        XCTAssertGreaterThan(t.virtualEntries, 0)
        XCTAssertEqual(t.virtualEntries, entries, "every VMLAUNCH/VMRESUME entered L2")
        XCTAssertEqual(reflected, t.virtualEntries, "each entry ended in an exit to L1 (none left running at power-off)")
        XCTAssertGreaterThan(alone, 0, "EPT02 misses L0 fills alone")
        XCTAssertEqual(t.count(.eptViolation, level: .l2, disposition: .reflectedToL1), 490, "sieve64's on-demand pages")
        let spans = tl.spans
        XCTAssertEqual(UInt64(spans.count), tl.recorded)
        XCTAssertEqual(Set(spans.filter { $0.track == .l2 }.map(\.guestVPID)), [1, 2])
        for (a, b) in zip(spans, spans.dropFirst()) {
            XCTAssertLessThanOrEqual(a.end, b.start, "spans overlap: \(a) \(b)")
            XCTAssertFalse(a.track == b.track && a.track != .l0 && a.guestVPID == b.guestVPID && a.end == b.start, "not merged: \(a) \(b)")
        }
        XCTAssertEqual(spans.filter { $0.track == .l0 }.count, Int(t.recorded), "an L0 span per exit")

        XCTAssertEqual(profile.samples(.l1) + profile.samples(.l2) + profile.idle, profile.total)
        let l2Sampled = Double(profile.samples(.l2) * 10_000)
        XCTAssertGreaterThan(l2Sampled, Double(tl.virtualTime(.l2)) * 0.97)
        XCTAssertLessThan(l2Sampled, Double(tl.virtualTime(.l2) + tl.virtualTime(.l0)) * 1.03)
        XCTAssertGreaterThan(profile.samples(.l1), 0)
        let (load, _, bssEnd, _) = try Self.addressFields(HypervisorGuest.image())
        let image = UInt64(load)..<UInt64(bssEnd)
        XCTAssertEqual(profile.l1ByAddress.keys.filter { !image.contains($0) }, [], "L1 samples outside L1's image")
        XCTAssertEqual(profile.l2ByAddress.keys.filter { image.contains($0) }, [], "L2 samples at L1's addresses")
        let report = profile.report(symbols: nil)
        XCTAssertTrue(report.contains("\nL1:\n") && report.contains("\nL2 (every L2 guest's RIPs together):\n"), report)
    }
}
