/// Virtual time as devices see it: nanoseconds since machine reset, and the guest's
/// time-stamp counter. The hypervisor's clock implements it (by default it advances with
/// retired guest instructions, so runs are reproducible).
public protocol TimeSource: AnyObject {
    var nanoseconds: UInt64 { get }
    /// The TSC value of the processor `cpu` now (TSC-deadline timers compare against it).
    func tsc(cpu: Int) -> UInt64
    /// TSC ticks per second.
    var tscHz: UInt64 { get }
}

/// Timed device events (timer expiries) in virtual time. The vCPU loop runs guest code
/// until `nextDeadline`, then calls `runDue()`.
public final class EventScheduler {
    public struct TimerID: Hashable, Sendable { let raw: UInt64 }

    private struct Entry {
        var deadline: UInt64
        var sequence: UInt64
        var id: TimerID
        var action: () -> Void
    }

    public let time: TimeSource
    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    public init(time: TimeSource) {
        self.time = time
    }

    /// Runs `action` once virtual time reaches `deadline` (ns). Events with equal deadlines
    /// fire in the order they were scheduled.
    @discardableResult
    public func schedule(at deadline: UInt64, _ action: @escaping () -> Void) -> TimerID {
        nextSequence += 1
        let id = TimerID(raw: nextSequence)
        entries.append(Entry(deadline: deadline, sequence: nextSequence, id: id, action: action))
        return id
    }

    public func cancel(_ id: TimerID) {
        entries.removeAll { $0.id == id }
    }

    /// The earliest pending deadline, if any.
    public var nextDeadline: UInt64? {
        earliest(dueBy: .max).map { entries[$0].deadline }
    }

    /// The index of the earliest entry (deadline, then scheduling order) due by `limit`. The
    /// VM asks after every exit, so entries are read in place: copying one would retain and
    /// release its action, and filtering would allocate.
    private func earliest(dueBy limit: UInt64) -> Int? {
        entries.withUnsafeBufferPointer { e in
            var best = -1
            for k in e.indices where e[k].deadline <= limit {
                if best >= 0 && (e[best].deadline, e[best].sequence) < (e[k].deadline, e[k].sequence) { continue }
                best = k
            }
            return best >= 0 ? best : nil
        }
    }

    public var pendingCount: Int { entries.count }

    /// Fires every event whose deadline has passed, earliest first (an action may schedule more).
    public func runDue() {
        while true {
            guard let idx = earliest(dueBy: time.nanoseconds) else { return }
            let e = entries.remove(at: idx)
            e.action()
        }
    }
}
