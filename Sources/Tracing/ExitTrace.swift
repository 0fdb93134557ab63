import CPU

/// Records VM exits: a bounded ring of the most recent events (for a trace dump) and counters
/// of every exit ever recorded (for statistics), per level and reason. Recording is a store
/// into preallocated storage, cheap enough to leave on.
public final class ExitTrace {
    public let capacity: Int
    private var ring: [ExitEvent]
    private var next = 0
    public private(set) var recorded: UInt64 = 0
    /// counts[level - 1][reason] over the whole run.
    private var counts: [[UInt64]]

    public init(capacity: Int = 65_536) {
        self.capacity = max(1, capacity)
        ring = []
        ring.reserveCapacity(self.capacity)
        counts = Array(repeating: Array(repeating: 0, count: 128), count: 2)
    }

    public func record(_ e: ExitEvent) {
        if ring.count < capacity { ring.append(e) } else { ring[next] = e }
        next = (next + 1) % capacity
        recorded &+= 1
        counts[Int(e.level.rawValue) - 1][Int(e.reason.rawValue) & 127] &+= 1
    }

    /// The retained events, oldest first.
    public var events: [ExitEvent] {
        ring.count < capacity ? ring : Array(ring[next...] + ring[..<next])
    }

    /// Exits recorded for `reason` at `level`.
    public func count(_ reason: ExitReason, level: ExitEvent.Level) -> UInt64 {
        counts[Int(level.rawValue) - 1][Int(reason.rawValue) & 127]
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
