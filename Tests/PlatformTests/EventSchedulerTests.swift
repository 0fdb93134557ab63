import XCTest
@testable import Platform

/// A clock the test sets by hand.
private final class SetClock: TimeSource {
    var nanoseconds: UInt64 = 0
    func tsc(cpu: Int) -> UInt64 { nanoseconds }
    var tscHz: UInt64 { 1_000_000_000 }
}

/// The scheduler keeps its earliest deadline as events come and go (the VM asks after every
/// exit): scheduling, cancelling and firing must each leave it right.
final class EventSchedulerTests: XCTestCase {
    func testEarliestDeadlineFollowsScheduleCancelAndFire() {
        let clock = SetClock()
        let s = EventScheduler(time: clock)
        var fired: [String] = []
        XCTAssertNil(s.nextDeadline)
        let late = s.schedule(at: 300) { fired.append("late") }
        XCTAssertEqual(s.nextDeadline, 300)
        let early = s.schedule(at: 100) { fired.append("early") }
        s.schedule(at: 200) { fired.append("middle") }
        XCTAssertEqual(s.nextDeadline, 100)
        s.cancel(early)
        XCTAssertEqual(s.nextDeadline, 200, "cancelling the earliest exposes the next")
        s.runDue(now: 199)
        XCTAssertEqual(fired, [], "nothing is due before the earliest deadline")
        clock.nanoseconds = 250
        s.runDue(now: 250)
        XCTAssertEqual(fired, ["middle"])
        XCTAssertEqual(s.nextDeadline, 300)
        // An action that schedules an event already due: it fires in the same call.
        s.schedule(at: 260) { fired.append("chained"); s.schedule(at: 250) { fired.append("due now") } }
        clock.nanoseconds = 270
        s.runDue()
        XCTAssertEqual(fired, ["middle", "chained", "due now"])
        XCTAssertEqual(s.nextDeadline, 300)
        s.cancel(late)
        XCTAssertNil(s.nextDeadline)
        XCTAssertEqual(s.pendingCount, 0)
    }
}
