/// Where each vCPU's time goes, level by level: a bounded ring of spans — L1 running, L2
/// running, L0 handling the exit that ended them — in virtual time, and counters over the
/// whole run (instructions retired and virtual time per level). The VM records one slice per
/// `Processor.run` call; consecutive slices of one vCPU at one level with nothing between them
/// (a slice ended by its budget) extend the same span, so the ring holds switches, not slices.
public final class LevelTimeline {
    /// Which software a span shows running.
    public enum Track: UInt8, Sendable, CaseIterable {
        /// Matryoshka itself, handling a VM exit.
        case l0 = 0
        /// The guest L0 runs under VMCS01 (the guest hypervisor, in a nested run).
        case l1 = 1
        /// L1's guest, run by L0 under VMCS02 on L1's behalf.
        case l2 = 2
    }

    public struct Span: Equatable, Sendable {
        public var cpu: UInt16
        public var track: Track
        /// Virtual nanoseconds since reset, [start, end).
        public var start: UInt64
        public var end: UInt64
        /// L2 spans: the VPID L1 gave the guest in its vmcs12 (0: none), which tells L1's guests
        /// apart. Unused otherwise.
        public var guestVPID: UInt16
        /// L0 spans: the exit L0 handled (the last one recorded, when handling one exit
        /// recorded two).
        public var exit: ExitEvent?
        /// L0 spans: the handling ended in a virtual VM entry (L1's VMLAUNCH/VMRESUME into L2).
        public var virtualEntry: Bool

        public init(cpu: UInt16, track: Track, start: UInt64, end: UInt64, guestVPID: UInt16 = 0,
                    exit: ExitEvent? = nil, virtualEntry: Bool = false) {
            self.cpu = cpu
            self.track = track
            self.start = start
            self.end = end
            self.guestVPID = guestVPID
            self.exit = exit
            self.virtualEntry = virtualEntry
        }

        public var duration: UInt64 { end &- start }
    }

    public let capacity: Int
    private var ring: FlatRing<Span>
    /// Instructions retired per level (L0 retires none of its own: the instructions it
    /// emulates for a guest count at that guest's level), and virtual nanoseconds per track.
    private var l1Instructions: UInt64 = 0, l2Instructions: UInt64 = 0
    private var l0Time: UInt64 = 0, l1Time: UInt64 = 0, l2Time: UInt64 = 0
    /// Spans ever recorded (not counting extensions).
    public private(set) var recorded: UInt64 = 0

    public init(capacity: Int = 65_536) {
        self.capacity = max(1, capacity)
        ring = FlatRing(capacity: self.capacity)
    }

    deinit { ring.deallocate() }

    /// One slice of vCPU `cpu`: the guest at `level` ran from `start` to `guestEnd`, retiring
    /// `instructions` (with any L0 emulated for it), then L0 handled what ended the slice until
    /// `end`. `exit` is the exit L0 handled (nil when the slice ended by its budget).
    @inline(__always)
    public func recordSlice(cpu: UInt16, level: ExitEvent.Level, guestVPID: UInt16, start: UInt64, guestEnd: UInt64,
                            end: UInt64, instructions n: UInt64, exit: UnsafePointer<ExitEvent>?,
                            virtualEntry: Bool) {
        let track: Track = level == .l1 ? .l1 : .l2
        if track == .l1 { l1Instructions &+= n } else { l2Instructions &+= n }
        if guestEnd > start {
            if track == .l1 { l1Time &+= guestEnd - start } else { l2Time &+= guestEnd - start }
            append(Span(cpu: cpu, track: track, start: start, end: guestEnd, guestVPID: guestVPID))
        }
        if end > guestEnd {
            l0Time &+= end - guestEnd
            // L0 spans never merge: no look at the newest.
            ring.append(Span(cpu: cpu, track: .l0, start: guestEnd, end: end, exit: exit?.pointee, virtualEntry: virtualEntry))
            recorded &+= 1
        }
    }

    /// Extends the newest span when `s` continues it (same vCPU and guest, no gap; L0 spans
    /// never merge), else adds `s`.
    @inline(__always)
    private func append(_ s: Span) {
        if ring.count > 0 && s.track != .l0 {
            let last = ring.newest
            if last.pointee.end == s.start && last.pointee.cpu == s.cpu && last.pointee.track == s.track
                && last.pointee.guestVPID == s.guestVPID {
                last.pointee.end = s.end
                return
            }
        }
        ring.append(s)
        recorded &+= 1
    }

    /// The retained spans, oldest first.
    public var spans: [Span] { ring.elements }

    /// Instructions retired at `level` over the whole run.
    public func instructionsRetired(_ level: ExitEvent.Level) -> UInt64 {
        level == .l1 ? l1Instructions : l2Instructions
    }

    /// Virtual nanoseconds spent on `track` over the whole run (L0: handling exits).
    public func virtualTime(_ track: Track) -> UInt64 {
        switch track {
        case .l0: return l0Time
        case .l1: return l1Time
        case .l2: return l2Time
        }
    }
}
