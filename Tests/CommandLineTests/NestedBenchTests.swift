import Foundation
import XCTest

/// `bench --workload nested-cpuid` (issues 17 and 21): every L2 CPUID of the benchmark's guest
/// hypervisor is reflected to it exactly once and resumed, with L0's VMCS shadowing on and off;
/// the image it writes runs under `matryoshka run`, where `--no-vmcs-shadowing` makes each of
/// L1's VMREADs exit.
final class NestedBenchTests: XCTestCase {
    static let iterations = 300
    /// L1's VMREADs per exit (NestedBenchmarkGuest.perExitReads): for each CPUID and the VMCALL.
    static let readsPerExit = 8

    func testNestedCPUIDReflectsEveryCPUIDWithAndWithoutShadowing() throws {
        let n = Self.iterations
        let s = try Scratch()
        let r = try Executables.run("matryoshka", [
            "bench", "--workload", "nested-cpuid", "--nested-cpuid-iterations", "\(n)", "--cpuid-iterations", "1000",
            "--no-peers", "--write-images", s.url.path,
        ], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        func counts(_ variant: String) -> String? {
            lines.first { $0.hasPrefix("  full run, VMCS shadowing \(variant): ") }
        }
        let exact = "reflected CPUID=\(n) VMCALL=1; L2 exits kept by L0: 0; virtual entries: \(n + 1); L1 exits: "
        let on = try XCTUnwrap(counts("on"), r.stdout)
        let off = try XCTUnwrap(counts("off"), r.stdout)
        XCTAssertTrue(on.contains(exact) && on.contains(" VMRESUME=\(n) "), on)
        XCTAssertFalse(on.contains("VMREAD=") || on.contains("VMWRITE="), on)
        XCTAssertTrue(off.contains(exact) && off.contains(" VMRESUME=\(n) ")
                      && off.contains(" VMREAD=\(Self.readsPerExit * (n + 1)) "), off)
        // Per reflected exit (the full run less the one-CPUID run): L2's CPUID and L1's VMRESUME,
        // plus, without shadowing, the handler's 8 VMREADs and its VMWRITE of guest RIP.
        XCTAssertTrue(r.stdout.contains("VMCS shadowing on  (2.00 L0 exits per reflected exit: L2 CPUID 1.00, L1 VMRESUME 1.00;"), r.stdout)
        XCTAssertTrue(r.stdout.contains("VMCS shadowing off (11.00 L0 exits per reflected exit: L2 CPUID 1.00, L1 VMREAD 8.00, L1 VMRESUME 1.00, L1 VMWRITE 1.00;"), r.stdout)

        let image = s.path("bench-nested-cpuid.elf")
        for shadowing in [true, false] {
            let run = try Executables.run("matryoshka", ["run", image, "--cpu", "max,+vmx", "--exit-statistics"]
                                          + (shadowing ? [] : ["--no-vmcs-shadowing"]))
            XCTAssertEqual(run.status, 0, run.stderr)
            let vmread = run.stderr.split(separator: "\n").first { $0.hasPrefix("  VMREAD (23)") }
            if shadowing {
                XCTAssertNil(vmread, run.stderr)
            } else {
                let total = Self.readsPerExit * (n + 1)
                XCTAssertTrue(vmread?.hasSuffix(" \(total / 1000),\(String(format: "%03d", total % 1000))") == true, run.stderr)
            }
        }
    }
}
