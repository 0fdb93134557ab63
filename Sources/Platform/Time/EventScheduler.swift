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

    /// What an event may raise when it fires, so the VM can tell whether a wait (HLT) can
    /// still end once every processor waits. An event that does not say is `.unknown` and
    /// counts as able to wake any processor.
    public enum Raises: Equatable, Sendable {
        /// An edge on ISA IRQ `n` (8259 input n, and the I/O APIC pin `ISAInterruptRouter` maps it to).
        case isaIRQ(Int)
        /// The local APIC timer of vCPU `cpu` (its LVT timer entry decides the vector).
        case localAPICTimer(cpu: Int)
        /// Nothing a processor can see (bookkeeping such as profile samples).
        case nothing
        case unknown
    }

    private struct Entry {
        var deadline: UInt64
        var sequence: UInt64
        var id: TimerID
        var raises: Raises
        var action: () -> Void
    }

    public let time: TimeSource
    private var entries: [Entry] = [] { didSet { earliestDeadline = earliest(dueBy: .max).map { entries[$0].deadline } } }
    private var nextSequence: UInt64 = 0
    /// The earliest pending deadline, kept as entries come and go: the VM asks after every
    /// exit, and with nothing due the answer costs a compare.
    @usableFromInline var earliestDeadline: UInt64?

    public init(time: TimeSource) {
        self.time = time
    }

    /// Runs `action` once virtual time reaches `deadline` (ns). Events with equal deadlines
    /// fire in the order they were scheduled.
    @discardableResult
    public func schedule(at deadline: UInt64, raising raises: Raises = .unknown, _ action: @escaping () -> Void) -> TimerID {
        nextSequence += 1
        let id = TimerID(raw: nextSequence)
        entries.append(Entry(deadline: deadline, sequence: nextSequence, id: id, raises: raises, action: action))
        return id
    }

    /// What the pending events may raise, one element per event.
    public var pendingRaises: [Raises] { entries.map(\.raises) }

    public func cancel(_ id: TimerID) {
        entries.removeAll { $0.id == id }
    }

    /// The earliest pending deadline, if any.
    public var nextDeadline: UInt64? { earliestDeadline }

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
        guard let first = earliestDeadline, first <= time.nanoseconds else { return }
        fireDue()
    }

    /// `runDue` for a caller that has just read the time (`now` = `time.nanoseconds`).
    @inlinable
    public func runDue(now: UInt64) {
        guard let first = earliestDeadline, first <= now else { return }
        fireDue()
    }

    @usableFromInline func fireDue() {
        while true {
            guard let idx = earliest(dueBy: time.nanoseconds) else { return }
            let e = entries.remove(at: idx)
            e.action()
        }
    }
}
