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

    func testExports() throws {
        let t = ExitTrace()
        t.record(ExitEvent(time: 1500, cpu: 1, level: .l2, reason: .eptViolation, qualification: 0x181,
                           guestRIP: 0x40_1000, disposition: .reflectedToL1))
        t.recordSlice(cpu: 1, level: .l2, guestVPID: 2, start: 500, guestEnd: 1500, end: 2500, instructions: 1000)
        let table = TraceExport.statisticsTable(t)
        XCTAssertTrue(table.contains("L2"), table)
        XCTAssertTrue(table.contains("(48)"), table)
        XCTAssertTrue(table.contains("100.0%"), table)
        let json = TraceExport.chromeTrace(t)
        XCTAssertTrue(json.contains("{\"name\":\"L2 VPID 2\",\"cat\":\"L2\",\"ph\":\"X\",\"ts\":0.500,\"dur\":1.000,\"pid\":2,\"tid\":13,"), json)
        XCTAssertTrue(json.contains("{\"name\":\"EPT_VIOLATION\",\"cat\":\"L0\",\"ph\":\"X\",\"ts\":1.500,\"dur\":1.000,\"pid\":2,\"tid\":11,"), json)
        XCTAssertTrue(json.contains("\"qualification\":\"0x181\""), json)
        XCTAssertTrue(json.contains("L2 exit, reflected to L1"), json)
        XCTAssertTrue(json.contains("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":2,\"tid\":12,\"args\":{\"name\":\"L1 guest (hypervisor)\"}}"), json)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "valid JSON")
        XCTAssertEqual((parsed["traceEvents"] as? [Any])?.count, 2 + 3 * 2 + 2, "process name and order, thread name and order per level, two spans")
    }

    /// Slices become spans per vCPU and level: a slice ended by its budget extends the span
    /// before it, an exit's handling is an L0 span named by that exit, and the counters keep
    /// instructions and virtual time per level however small the ring.
    func testTimelineSpansAndPerLevelCounters() {
        let t = ExitTrace(capacity: 3)
        t.recordSlice(cpu: 0, level: .l1, guestVPID: 0, start: 0, guestEnd: 100, end: 100, instructions: 100)
        t.record(ExitEvent(time: 200, cpu: 0, level: .l1, reason: .vmlaunch))
        t.recordVirtualEntry()
        t.recordSlice(cpu: 0, level: .l1, guestVPID: 0, start: 100, guestEnd: 200, end: 1200, instructions: 101)
        t.record(ExitEvent(time: 1500, cpu: 0, level: .l2, reason: .ioInstruction, disposition: .reflectedToL1))
        t.recordSlice(cpu: 0, level: .l2, guestVPID: 1, start: 1200, guestEnd: 1500, end: 2500, instructions: 300)
        let spans = t.timeline.spans
        XCTAssertEqual(spans.map(\.track), [.l0, .l2, .l0], "the ring keeps the newest three: L1 0–200 was the first")
        XCTAssertEqual(spans.map(\.start), [200, 1200, 1500])
        XCTAssertEqual(spans.map(\.end), [1200, 1500, 2500])
        XCTAssertEqual(spans[0].exit?.reason, .vmlaunch)
        XCTAssertEqual(spans[0].exit?.handlingTime, 1000)
        XCTAssertTrue(spans[0].virtualEntry)
        XCTAssertEqual(spans[1].guestVPID, 1)
        XCTAssertEqual(spans[2].exit?.disposition, .reflectedToL1)
        XCTAssertFalse(spans[2].virtualEntry)
        XCTAssertEqual(t.timeline.recorded, 4, "L1 (extended once), L0, L2, L0")
        XCTAssertEqual(t.timeline.instructionsRetired(.l1), 201)
        XCTAssertEqual(t.timeline.instructionsRetired(.l2), 300)
        XCTAssertEqual([LevelTimeline.Track.l0, .l1, .l2].map(t.timeline.virtualTime), [2000, 200, 300])
        XCTAssertTrue(t.sawL2)
        // A slice on another vCPU at the same level and time is a span of its own.
        t.recordSlice(cpu: 1, level: .l2, guestVPID: 1, start: 2500, guestEnd: 2600, end: 2600, instructions: 100)
        XCTAssertEqual(t.timeline.spans.last?.cpu, 1)
        XCTAssertEqual(t.timeline.spans.count, 3)
    }

    func testLevelTable() {
        let t = ExitTrace()
        XCTAssertFalse(t.sawL2)
        for _ in 0..<3 { t.record(ExitEvent(time: 0, cpu: 0, level: .l2, reason: .eptViolation, disposition: .handledByL0)) }
        for _ in 0..<2 { t.record(ExitEvent(time: 0, cpu: 0, level: .l2, reason: .ioInstruction, disposition: .reflectedToL1)) }
        for _ in 0..<1234 { t.record(ExitEvent(time: 0, cpu: 0, level: .l1, reason: .vmresume)) }
        t.recordVirtualEntry()
        t.recordSlice(cpu: 0, level: .l2, guestVPID: 1, start: 0, guestEnd: 2_000_000, end: 2_001_000, instructions: 1_999_000)
        t.recordSlice(cpu: 0, level: .l1, guestVPID: 0, start: 2_001_000, guestEnd: 2_001_500, end: 2_001_500, instructions: 500)
        let table = TraceExport.levelTable(t, totals: .init(instructions: 1_999_500, nanoseconds: 2_501_500, idleNanoseconds: 500_000, wallSeconds: 0.5))
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[2], "L2            1,999,000       2.000 ms  5: 3 handled by L0 alone, 2 reflected to L1", table)
        XCTAssertEqual(lines[3], "L1                  500       0.001 ms  1,234 to L0", table)
        XCTAssertEqual(lines[4], "L0                    —       0.001 ms  1,239 handled; 1 virtual VM entries (L1 → L2)", table)
        XCTAssertEqual(lines[5], "idle                          0.500 ms  (every vCPU waiting)", table)
        XCTAssertEqual(lines[6], "all           1,999,500       2.502 ms  wall time 0.50 s (4.0 MIPS)", table)
        XCTAssertTrue(lines.contains("  IO_INSTRUCTION (30)                                0             2             0"), table)
        XCTAssertTrue(lines.contains("  EPT_VIOLATION (48)                                 3             0             0"), table)
        XCTAssertTrue(lines.contains("  VMRESUME (24)                                      0             0         1,234"), table)
        XCTAssertEqual(lines.last, "  total                                              3             2         1,234")
        XCTAssertTrue(t.sawL2)
    }
}
