import XCTest
@testable import Tracing

/// `GuestProfile`: samples grouped by function through a symbolizer, idle samples, and the
/// report's order and shares.
final class GuestProfileTests: XCTestCase {
    func symbolize(_ a: UInt64) -> (name: String, offset: UInt64)? {
        switch a {
        case 0x1000..<0x1100: ("spin", a - 0x1000)
        case 0x2000..<0x2100: ("copy", a - 0x2000)
        default: nil
        }
    }

    func testRowsGroupByFunctionAndReportShares() {
        let p = GuestProfile(intervalNanoseconds: 50_000)
        p.record(rip: 0x1004, weight: 5)
        p.record(rip: 0x1008, weight: 1)
        p.record(rip: 0x2010, weight: 3)
        p.record(rip: 0x9000)
        p.record(rip: nil, weight: 10)
        XCTAssertEqual(p.total, 20)
        XCTAssertEqual(p.idle, 10)
        XCTAssertEqual(p.rows(symbols: symbolize), [
            GuestProfile.Row(label: "spin", samples: 6, hottest: 0x1004),
            GuestProfile.Row(label: "copy", samples: 3, hottest: 0x2010),
            GuestProfile.Row(label: "0x9000", samples: 1, hottest: 0x9000),
        ])
        XCTAssertEqual(p.rows(symbols: nil).map(\.label), ["0x1004", "0x2010", "0x1008", "0x9000"], "no symbols: one row per address")

        let report = p.report(symbols: symbolize, top: 2)
        let lines = report.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "guest profile: 20 samples, one per vCPU every 50.0 µs of virtual time")
        XCTAssertTrue(lines[2].hasPrefix("   30.0%          6  spin"), lines[2])
        XCTAssertTrue(lines[2].hasSuffix("0x1004 (spin+0x4)"), lines[2])
        XCTAssertTrue(lines[3].hasPrefix("   15.0%          3  copy"), lines[3])
        XCTAssertEqual(lines[4], "    5.0%          1  (1 more)")
        XCTAssertEqual(lines[5], "   50.0%         10  (idle: halted, waiting for SIPI or asleep)")
    }

    /// Samples of L2 are kept apart from L1's: the first line gives each level's share of all
    /// samples, then one section per level, L2's named by its own symbolizer.
    func testL2SamplesAreReportedApart() {
        let p = GuestProfile(intervalNanoseconds: 100_000)
        p.record(rip: 0x1004, weight: 2)
        p.record(rip: 0x1004, level: .l2, weight: 5)
        p.record(rip: 0x2000, level: .l2, weight: 2)
        p.record(rip: nil)
        XCTAssertEqual([p.samples(.l1), p.samples(.l2), p.idle, p.total], [2, 7, 1, 10])
        XCTAssertEqual(p.rows(.l2, symbols: nil).map(\.label), ["0x1004", "0x2000"])
        let l2Names: GuestProfile.Symbolizer = { $0 == 0x1004 ? ("l2_loop", 4) : nil }
        let lines = p.report(symbols: symbolize, l2Symbols: l2Names).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "guest profile: 10 samples, one per vCPU every 100.0 µs of virtual time: L1 20.0%, L2 70.0%, idle 10.0%")
        XCTAssertEqual(lines[1], "L1:")
        XCTAssertTrue(lines[3].hasPrefix("   20.0%          2  spin"), lines[3])
        XCTAssertEqual(lines[4], "L2 (every L2 guest's RIPs together):")
        XCTAssertTrue(lines[6].hasPrefix("   50.0%          5  l2_loop"), lines[6])
        XCTAssertTrue(lines[6].hasSuffix("0x1004 (l2_loop+0x4)"), lines[6])
        XCTAssertTrue(lines[7].hasPrefix("   20.0%          2  0x2000"), lines[7])
        XCTAssertEqual(lines[8], "   10.0%          1  (idle: halted, waiting for SIPI or asleep)")
        XCTAssertEqual(lines.count, 9)
    }

    func testAnEmptyProfileReportsNoRows() {
        let p = GuestProfile(intervalNanoseconds: 1000)
        XCTAssertEqual(p.report(symbols: nil), "guest profile: 0 samples, one per vCPU every 1.0 µs of virtual time\n")
    }
}
