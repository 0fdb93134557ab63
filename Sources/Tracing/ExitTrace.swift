import CPU

/// Records VM exits: a bounded ring of the most recent events (for a trace dump) and counters
/// of every exit ever recorded (for statistics), per level and reason, with the `timeline` of
/// the slices they ended. Recording is a store into storage allocated once (`FlatRing`, a flat
/// counter table), cheap enough to leave on.
public final class ExitTrace {
    public let capacity: Int
    private var ring: FlatRing<ExitEvent>
    public private(set) var recorded: UInt64 = 0
    /// counts[row * 128 + reason] over the whole run: row 0 L1's exits, 1 L2's exits L0
    /// handled, 2 L2's exits reflected to L1.
    private let counts: UnsafeMutablePointer<UInt64>
    /// Virtual VM entries (L1's VMLAUNCH/VMRESUME that entered L2).
    public private(set) var virtualEntries: UInt64 = 0
    /// Spans per vCPU and level, and instructions and virtual time per level.
    public let timeline: LevelTimeline
    /// An event (the ring's newest) and a virtual entry since the last slice: what its L0 span
    /// handled.
    private var sliceHasExit = false
    private var sliceEnteredL2 = false

    public init(capacity: Int = 65_536) {
        self.capacity = max(1, capacity)
        timeline = LevelTimeline(capacity: self.capacity)
        ring = FlatRing(capacity: self.capacity)
        counts = .allocate(capacity: 3 * 128)
        counts.initialize(repeating: 0, count: 3 * 128)
    }

    deinit {
        ring.deallocate()
        counts.deallocate()
    }

    public func record(_ e: ExitEvent) {
        ring.append(e)
        recorded &+= 1
        counts[Self.row(e.level, e.disposition) &* 128 &+ (Int(e.reason.rawValue) & 127)] &+= 1
        sliceHasExit = true
    }

    @inline(__always)
    static func row(_ level: ExitEvent.Level, _ d: ExitEvent.Disposition) -> Int {
        level == .l1 ? 0 : (d == .handledByL0 ? 1 : 2)
    }

    /// A virtual VM entry into L2 (counted; L2's exits record the rest).
    public func recordVirtualEntry() {
        virtualEntries &+= 1
        sliceEnteredL2 = true
    }

    /// One `Processor.run` slice of vCPU `cpu` and L0's handling of its end (see
    /// `LevelTimeline.recordSlice`); the L0 span names the exit recorded since the last slice,
    /// whose handling time is filled in here (in the ring too), in place.
    public func recordSlice(cpu: UInt16, level: ExitEvent.Level, guestVPID: UInt16, start: UInt64, guestEnd: UInt64,
                            end: UInt64, instructions: UInt64) {
        var exit: UnsafeMutablePointer<ExitEvent>? = nil
        if sliceHasExit {
            exit = ring.newest
            exit!.pointee.handlingTime = end &- guestEnd
        }
        timeline.recordSlice(cpu: cpu, level: level, guestVPID: guestVPID, start: start, guestEnd: guestEnd, end: end,
                             instructions: instructions, exit: exit, virtualEntry: sliceEnteredL2)
        sliceHasExit = false
        sliceEnteredL2 = false
    }

    /// Whether any exit came from L2 or any virtual VM entry happened: a nested run.
    public var sawL2: Bool {
        virtualEntries > 0 || UnsafeBufferPointer(start: counts + 128, count: 2 * 128).contains { $0 > 0 }
    }

    /// The retained events, oldest first.
    public var events: [ExitEvent] { ring.elements }

    /// Exits recorded for `reason` at `level` (L2: handled by L0 and reflected together).
    public func count(_ reason: ExitReason, level: ExitEvent.Level) -> UInt64 {
        let r = Int(reason.rawValue) & 127
        return level == .l1 ? counts[r] : counts[128 + r] + counts[256 + r]
    }

    /// L2 exits for `reason` L0 handled (`.handledByL0`) or reflected to L1.
    public func count(_ reason: ExitReason, level: ExitEvent.Level, disposition: ExitEvent.Disposition) -> UInt64 {
        counts[Self.row(level, disposition) * 128 + (Int(reason.rawValue) & 127)]
    }

    /// One row per (level, reason) seen, most frequent first.
    public var statistics: [(level: ExitEvent.Level, reason: ExitReason, count: UInt64)] {
        var rows: [(ExitEvent.Level, ExitReason, UInt64)] = []
        for level in [ExitEvent.Level.l1, .l2] {
            for r in ExitReason.allCases {
                let n = count(r, level: level)
                if n > 0 { rows.append((level, r, n)) }
            }
        }
        return rows.sorted { $0.2 != $1.2 ? $0.2 > $1.2 : ($0.0.rawValue, $0.1.rawValue) < ($1.0.rawValue, $1.1.rawValue) }
    }
}
