import CommandLineSupport
import Foundation
import XCTest

/// The parsers both front ends share, table by table.
final class CommandLineSupportTests: XCTestCase {
    func testMemorySizes() {
        let good: [(String, UInt64)] = [("128", 128 << 20), ("2G", 2 << 30), ("2g", 2 << 30), ("512M", 512 << 20),
                                        ("size=1G", 1 << 30), ("1.5G", 1536 << 20), ("65536", 64 << 30), ("64G", 64 << 30),
                                        ("1M", 1 << 20), ("1048576B", 1 << 20), ("2048K", 2 << 20), ("0.0625T", 64 << 30)]
        for (text, bytes) in good { XCTAssertEqual(try MemorySize.parse(text), bytes, text) }
        let bad: [(String, String)] = [
            ("-5", "invalid memory size '-5' (a number of MiB, or with a suffix: 512M, 2G)"),
            ("", "invalid memory size '' (a number of MiB, or with a suffix: 512M, 2G)"),
            ("G", "invalid memory size 'G' (a number of MiB, or with a suffix: 512M, 2G)"),
            ("1.G", "invalid memory size '1.G' (a number of MiB, or with a suffix: 512M, 2G)"),
            ("0", "invalid memory size '0' (at least 1 MiB)"),
            ("512K", "memory size '512K' is below 1 MiB"),
            ("1.3M", "memory size '1.3M' is not a whole number of bytes"),
            ("1025K", "memory size '1025K' is not a whole number of MiB"),
            ("65537", "memory size '65537' is out of range (1 MiB ... 64 GiB)"),
            ("99999999999999999999", "memory size '99999999999999999999' is out of range (1 MiB ... 64 GiB)"),
            ("20000000T", "memory size '20000000T' is out of range (1 MiB ... 64 GiB)"),
            ("2G,slots=4", "memory option 'slots=4' is not supported (no memory hot-plug: only a size)"),
        ]
        for (text, message) in bad {
            XCTAssertThrowsError(try MemorySize.parse(text), text) { XCTAssertEqual($0 as? CommandLineError, .usage(message)) }
        }
    }

    func testDurations() {
        let good: [(String, UInt64)] = [("10", 10_000_000_000), ("500ms", 500_000_000), ("2.5s", 2_500_000_000),
                                        ("1m", 60_000_000_000), ("1h", 3_600_000_000_000), ("250us", 250_000), ("250µs", 250_000),
                                        ("7ns", 7), ("0.5ms", 500_000)]
        for (text, ns) in good { XCTAssertEqual(try VirtualDuration.parse(text), ns, text) }
        let bad: [(String, String)] = [
            ("0", "duration '0' must be more than 0"),
            ("-1s", "invalid duration '-1s' (a number with ns, us, ms, s, m or h; seconds without)"),
            ("1d", "invalid duration '1d' (a number with ns, us, ms, s, m or h; seconds without)"),
            ("s", "invalid duration 's' (a number with ns, us, ms, s, m or h; seconds without)"),
            ("99999999999h", "duration '99999999999h' is too long"),
        ]
        for (text, message) in bad {
            XCTAssertThrowsError(try VirtualDuration.parse(text), text) { XCTAssertEqual($0 as? CommandLineError, .usage(message)) }
        }
        XCTAssertEqual(VirtualDuration.describe(50_000_000), "50 ms")
        XCTAssertEqual(VirtualDuration.describe(1_500_000_000), "1.5 s")
        XCTAssertEqual(VirtualDuration.describe(999), "999 ns")
    }

    /// Matryoshka's statuses are distinct, outside 1–63 (where guests' own values usually
    /// are) and below 128 (signals).
    func testRunExitStatusesAreDistinctAndDocumented() {
        let statuses = RunExitStatus.allCases.map(\.rawValue)
        XCTAssertEqual(Set(statuses).count, statuses.count)
        for s in RunExitStatus.allCases where s != .success { XCTAssertTrue((64..<128).contains(s.rawValue), "\(s)") }
        for s in RunExitStatus.allCases {
            XCTAssertTrue(RunExitStatus.rows.contains { $0.status == String(s.rawValue) }, "\(s) is in the documented table")
        }
        // The README's table is this one.
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")
        let text = (try? String(contentsOf: readme, encoding: .utf8)) ?? ""
        for row in RunExitStatus.rows { XCTAssertTrue(text.contains("| \(row.status) | \(row.meaning) |"), "README row \(row.status)") }
        XCTAssertEqual(RunExitStatus.signal(2), 130)
        XCTAssertEqual(RunExitStatus.signal(15), 143)
    }
}
