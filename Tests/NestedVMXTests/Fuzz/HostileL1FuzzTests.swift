import Foundation
import XCTest

/// Issue 17, requirement 3: a hostile L1 — random sequences of VMX instructions with random
/// operands, random vmcs12 contents, bitmaps, MSR lists and EPT12 — against L0's guarantees
/// (`HostileL1Fuzz`). CI runs `ciCases`; a local run sets MATRYOSHKA_FUZZ_CASES (e.g.
/// 1000000), MATRYOSHKA_FUZZ_SEED to reproduce a reported failure, MATRYOSHKA_FUZZ_TRACE to a
/// case number to print that case's steps, results and nested VMX's log,
/// MATRYOSHKA_FUZZ_REPORT to a file for the report, MATRYOSHKA_FUZZ_RULES to tally nested VMX's
/// log lines (each VMfail and entry failure with its rule).
final class HostileL1FuzzTests: XCTestCase {
    /// About 25 s in release on a loaded 2-core machine.
    static let ciCases = 50_000

    func testHostileL1NeverBreaksL0Guarantees() throws {
        let env = ProcessInfo.processInfo.environment
        let cases = env["MATRYOSHKA_FUZZ_CASES"].flatMap { Int($0) } ?? Self.ciCases
        let seed = env["MATRYOSHKA_FUZZ_SEED"].flatMap { UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: $0.hasPrefix("0x") ? 16 : 10) }
            ?? 0x17_F022
        let fuzz = try HostileL1Fuzz(seed: seed)
        fuzz.traceCase = env["MATRYOSHKA_FUZZ_TRACE"].flatMap { Int($0) }
        fuzz.tallyRules = env["MATRYOSHKA_FUZZ_RULES"] != nil
        let start = Date()
        fuzz.run(cases: cases)
        let report = fuzz.outcomes.report(seed: seed, seconds: Date().timeIntervalSince(start))
        print(report)
        if let path = env["MATRYOSHKA_FUZZ_REPORT"] { try? report.write(toFile: path, atomically: true, encoding: .utf8) }
        XCTAssertEqual(fuzz.outcomes.cases, cases)
        XCTAssertGreaterThan(fuzz.outcomes.l2Runs, cases / 20, "too few cases reach L2 to say anything about VMCS02 and EPT02")
        XCTAssertTrue(fuzz.outcomes.violations.isEmpty, fuzz.outcomes.violations.prefix(20).joined(separator: "\n"))
    }
}
