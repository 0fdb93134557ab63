import Foundation
import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// The entry-check cache (`VMEntryCheckCache`) against the full check: one VMCS is edited a
/// few fields at a time — fuzzed values, resets to a valid guest, other capabilities, memory
/// the memory rows read — and after every edit the cached answer (only rows whose fields
/// changed run again) must name exactly the row the full check in SDM order names.
/// MATRYOSHKA_ENTRY_CHECK_FUZZ sets the case count (default 50,000; a local run uses
/// 1,000,000). Every other VMX and nested-VMX test compares both at each entry too
/// (`VMEntryCheckCache.verify`, set by `VMXTestGuest` and `NestedMachine`).
final class EntryCheckCacheTests: XCTestCase {
    func testCachedChecksNameTheRowTheFullCheckNames() throws {
        let n = Int(ProcessInfo.processInfo.environment["MATRYOSHKA_ENTRY_CHECK_FUZZ"] ?? "") ?? 50_000
        let base = VMXTestGuest()
        let cpu = base.cpu
        let template = try base.vmcs { a in a.cpuid(); a.hlt() }
        let supported = VMCSFieldTable.entries.filter(\.supported).map(\.field)
        let table = VMEntryCheckTable.shared
        var rng = FuzzRng(s: 0x5EED_CAC4_E000_0021)
        // A second set of capabilities (another owner): narrower widths, no unrestricted guest.
        var narrow = cpu.vmxCapabilities
        narrow.physicalAddressBits = 36
        narrow.secondary.remove(.unrestrictedGuest)
        let owners = (NSObject(), NSObject())
        let v = VMCS()
        func reset() { for f in supported { v[f] = template[f] } }
        reset()
        var agreed = 0, failures: [String: Int] = [:]
        for k in 0..<n {
            switch rng.below(16) {
            case 0: reset()
            case 1:
                // Memory the memory rows read: the revision at the link pointer, PDPTEs, VTPR.
                let a = UInt64(rng.below(4)) << 12 | 0x8000
                try base.memory.store(UInt32(truncatingIfNeeded: rng.boundary()), at: a)
                if rng.below(2) == 0 { v[.vmcsLinkPointer] = a }
            default:
                for _ in 0..<(1 + rng.below(3)) {
                    let f = rng.pick(supported)
                    switch rng.below(4) {
                    case 0: v[f] = rng.boundary()
                    case 1: v[f] = v[f] ^ (1 << UInt64(rng.below(64)))
                    case 2: v[f] = template[f]
                    default: v[f] = rng.next()
                    }
                }
            }
            let useNarrow = rng.below(8) == 0
            let caps = useNarrow ? narrow : cpu.vmxCapabilities
            let key = CapabilitiesKey(owner: useNarrow ? owners.1 : owners.0)
            let readers = cpu.physicalReaders
            let cached = VMEntryCheckCache.firstFailingRow(v, caps, key: key, readers: readers)
            var input = VMEntryCheckInput(vmcs: v, capabilities: caps, readPhysical32: readers.0, readPhysical64: readers.1)
            let full = table.firstFailingRow(&input)
            let name = { (r: Int?) in r.map { table.rows[$0].id } ?? "pass" }
            if cached != full {
                XCTFail("case \(k): cached \(name(cached)), full check \(name(full))")
                return
            }
            XCTAssertEqual(v.checkCache?.guestState, GuestStateArea(v), "case \(k): the cache's guest-state area")
            // The guest-state phase alone, as a virtual entry asks after VMLAUNCH's checks.
            let guestOnly = VMEntryCheckCache.firstFailure(v, .guestState, capabilities: caps, key: key, readers: readers)
            XCTAssertEqual(guestOnly?.id, GuestStateChecks.firstViolation(input)?.id, "case \(k): guest-state rows")
            agreed += 1
            failures[name(full), default: 0] += 1
        }
        XCTAssertEqual(agreed, n)
        XCTAssertGreaterThan(failures.count, 40, "the fuzz reaches many different first failures")
        print("ENTRY-CHECK CACHE: \(n) cases, cached = full in all; \(failures.count) distinct outcomes, pass = \(failures["pass"] ?? 0)")
    }

    /// The cache off: entries give the same outcomes as with it (one short fuzz pass each way).
    func testEntriesWithAndWithoutTheCacheAgree() throws {
        func outcomes(cache: Bool) throws -> [String] {
            VMEntryCheckCache.enabled = cache
            defer { VMEntryCheckCache.enabled = true }
            let base = VMXTestGuest()
            let template = try base.vmcs { a in a.cpuid(); a.hlt() }
            let supported = VMCSFieldTable.entries.filter(\.supported).map(\.field)
            var rng = FuzzRng(s: 0x0F0F_1234_5678)
            var result: [String] = []
            let v = VMCS()
            for f in supported { v[f] = template[f] }
            for _ in 0..<2_000 {
                if rng.below(4) == 0 { for f in supported { v[f] = template[f] } }
                let f = rng.pick(supported)
                v[f] = rng.below(2) == 0 ? rng.boundary() : v[f] ^ (1 << UInt64(rng.below(64)))
                v.launched = false
                let outcome = base.cpu.run(vmcs: v, budget: 20)
                result.append("\(outcome) \(base.cpu.lastEntryCheckFailure?.id ?? "-")")
            }
            return result
        }
        let with = try outcomes(cache: true), without = try outcomes(cache: false)
        XCTAssertEqual(with.count, without.count)
        for (k, (a, b)) in zip(with, without).enumerated() where a != b {
            XCTFail("entry \(k): with the cache \(a), without \(b)")
            return
        }
    }

    /// A write of the value a field holds marks nothing; a change marks it for every consumer.
    func testOnlyRealChangesMarkFields() {
        let v = VMCS()
        _ = v.takeDirty(.entryChecks)
        v[.guestRIP] = v[.guestRIP]
        XCTAssertTrue(v.takeDirty(.entryChecks).isEmpty)
        v[.guestRIP] = 0x1234
        let d = v.takeDirty(.entryChecks)
        XCTAssertTrue(d.contains(VMCSFieldTable.index(of: .guestRIP)!))
        XCTAssertTrue(v.takeDirty(.entryChecks).isEmpty, "taken once")
    }
}
