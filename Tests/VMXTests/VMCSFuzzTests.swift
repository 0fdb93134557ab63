import Foundation
import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Randomized VMCS contents: every case ends in an entry failure, a VM exit or an L0 return —
/// never a crash or hang — and an accepted entry only loads state the SDM's checks allow.
/// MATRYOSHKA_VMCS_FUZZ sets the case count (default 100,000).
final class VMCSFuzzTests: XCTestCase {
    func testRandomVMCSFieldsNeverBreakTheProcessor() throws {
        let n = Int(ProcessInfo.processInfo.environment["MATRYOSHKA_VMCS_FUZZ"] ?? "") ?? 100_000
        let base = VMXTestGuest()
        let template = try base.vmcs { a in a.cpuid(); a.hlt() }
        var rng = FuzzRng(s: 0x0F0F_1234_5678)
        var outcomes: [String: Int] = [:]
        let supported = VMCSFieldTable.entries.filter(\.supported).map(\.field)
        for _ in 0..<n {
            let v = VMCS()
            for e in VMCSFieldTable.entries where e.supported { v[e.field] = template[e.field] }
            for _ in 0..<(1 + rng.below(4)) {
                let f = rng.pick(supported)
                switch rng.below(3) {
                case 0: v[f] = rng.boundary()
                case 1: v[f] = v[f] ^ (1 << UInt64(rng.below(64)))
                default: v[f] = rng.next()
                }
            }
            let budget = UInt64(rng.below(3) == 0 ? 0 : 50)
            let outcome = base.cpu.run(vmcs: v, budget: budget)
            outcomes["\(outcome)", default: 0] += 1
            switch outcome {
            case .entryFailed, .vmExit(.entryFailureGuestState):
                continue
            default:
                break
            }
            if budget == 0 && outcome == .budgetExhausted {
                // The state just loaded (and saved back untouched) satisfies the entry invariants.
                let ia32e = v.entryControls.contains(.ia32eModeGuest)
                XCTAssertEqual(v[.guestRFLAGS] & 2, 2)
                XCTAssertEqual(v[.guestRFLAGS] & ~0x3F_FFFF, 0)
                XCTAssertEqual(v[.guestCR4] & 0x2000, 0x2000, "CR4.VMXE")
                if ia32e {
                    XCTAssertEqual(v[.guestCR4] & 0x20, 0x20, "IA-32e needs PAE")
                    if v[.guestCSAccessRights] & (1 << 13) != 0 { XCTAssertEqual(v[.guestCSAccessRights] & (1 << 14), 0) }
                }
                XCTAssertEqual(v[.guestTRAccessRights] & (1 << 16), 0, "TR usable")
                if !v.secondary.contains(.unrestrictedGuest) { XCTAssertEqual(v[.guestCR0] & 0x8000_0001, 0x8000_0001) }
            }
        }
        print("VMCS FUZZ: \(n) cases: \(outcomes.sorted { $0.value > $1.value }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
    }
}

/// xorshift64* with boundary values, reproducible from the seed.
struct FuzzRng {
    var s: UInt64
    mutating func next() -> UInt64 { s ^= s >> 12; s ^= s << 25; s ^= s >> 27; return s &* 0x2545_F491_4F6C_DD1D }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    mutating func boundary() -> UInt64 {
        pick([0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x8000_0000_0000_0000, ~0, next()])
    }
}
