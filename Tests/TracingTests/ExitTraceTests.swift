import XCTest
import CPU
@testable import Tracing

final class ExitTraceTests: XCTestCase {
    func testRingKeepsTheNewestEventsAndCountersKeepEverything() {
        let t = ExitTrace(capacity: 3)
        for k in 0..<5 {
            t.record(ExitEvent(time: UInt64(k) * 1000, cpu: 0, level: .l1, reason: k % 2 == 0 ? .cpuid : .hlt, guestRIP: UInt64(k)))
        }
        XCTAssertEqual(t.events.map(\.guestRIP), [2, 3, 4])
        XCTAssertEqual(t.recorded, 5)
        XCTAssertEqual(t.count(.cpuid, level: .l1), 3)
        XCTAssertEqual(t.count(.hlt, level: .l1), 2)
        XCTAssertEqual(t.count(.cpuid, level: .l2), 0)
        XCTAssertEqual(t.statistics.first?.reason, .cpuid)
    }

    func testExports() {
        let t = ExitTrace()
        t.record(ExitEvent(time: 1500, cpu: 1, level: .l2, reason: .eptViolation, qualification: 0x181,
                           guestRIP: 0x40_1000, disposition: .reflectedToL1, handlingTime: 300))
        let table = TraceExport.statisticsTable(t)
        XCTAssertTrue(table.contains("L2"), table)
        XCTAssertTrue(table.contains("(48)"), table)
        XCTAssertTrue(table.contains("100.0%"), table)
        let json = TraceExport.chromeTrace(t)
        XCTAssertTrue(json.contains("\"ts\":1.5"), json)
        XCTAssertTrue(json.contains("\"qualification\":\"0x181\""), json)
        XCTAssertTrue(json.contains("reflected to L1"), json)
        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(json.utf8)), "valid JSON")
    }
}
