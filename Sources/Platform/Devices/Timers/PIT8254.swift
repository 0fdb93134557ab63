/// The 8254 programmable interval timer (Intel 8254 datasheet: control word, counter modes
/// 0–5, counter latch and read-back commands) at ports 0x40–0x43, with the port 0x61 gate of
/// channel 2 (bit 0) and its output (bit 5). Counters are computed from virtual time, never
/// ticked; channel 0 raises IRQ 0 through the event scheduler.
public final class PIT8254: PortIODevice {
    public static let frequency: UInt64 = 1_193_182

    struct Channel {
        var mode: UInt8 = 0
        var access: UInt8 = 3          // 1 LSB, 2 MSB, 3 LSB then MSB
        var bcd = false
        var reload: UInt32 = 0x10000
        var start: UInt64 = 0          // virtual ns when counting began
        var counting = false
        var latched: UInt16?
        var latchedStatus: UInt8?
        var readHigh = false
        var writeHigh = false
        var pendingLow: UInt8 = 0
        var gate = true
    }

    private var channels = [Channel(), Channel(), Channel()]
    private let scheduler: EventScheduler
    public weak var interruptLines: InterruptLineSink?
    private var irqEvent: EventScheduler.TimerID?
    private var irqPeriodIndex: UInt64 = 0

    public init(scheduler: EventScheduler) {
        self.scheduler = scheduler
        channels[2].gate = false
    }

    private var now: UInt64 { scheduler.time.nanoseconds }

    /// a × b / c without intermediate overflow (saturating at UInt64.max).
    public static func scaled(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        let p = a.multipliedFullWidth(by: b)
        if p.high >= c { return .max }
        return c.dividingFullWidth((high: p.high, low: p.low)).quotient
    }

    /// Input-clock ticks since the counter started.
    private func ticks(_ c: Channel) -> UInt64 {
        Self.scaled(now &- c.start, Self.frequency, 1_000_000_000)
    }

    private static func ns(ticks: UInt64) -> UInt64 { scaled(ticks, 1_000_000_000, frequency) }

    /// The counting element's value now (datasheet "Mode 0" … "Mode 5" descriptions).
    private func count(_ k: Int) -> UInt16 {
        let c = channels[k]
        guard c.counting else { return UInt16(truncatingIfNeeded: c.reload) }
        let n = UInt64(c.reload), t = ticks(c)
        switch c.mode {
        case 2: return UInt16(truncatingIfNeeded: n - t % n)
        case 3:
            let half = max(n / 2, 1)
            return UInt16(truncatingIfNeeded: n - (2 * (t % half)))
        default: return UInt16(truncatingIfNeeded: (n &- t) & 0xFFFF)
        }
    }

    /// OUT of a channel now.
    private func output(_ k: Int) -> Bool {
        let c = channels[k]
        guard c.counting else { return c.mode != 0 }
        let n = UInt64(c.reload), t = ticks(c)
        switch c.mode {
        case 0, 4: return t >= n
        case 2: return t % n != n - 1
        case 3: return t % n < (n + 1) / 2
        default: return true
        }
    }

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        if port == 0x61 {
            return (channels[2].gate ? 1 : 0) | (output(2) ? 0x20 : 0)
        }
        guard port >= 0x40 && port <= 0x42 else { return 0xFF }
        let k = Int(port - 0x40)
        if let s = channels[k].latchedStatus {
            channels[k].latchedStatus = nil
            return UInt32(s)
        }
        let value = channels[k].latched ?? count(k)
        var out: UInt8
        switch channels[k].access {
        case 1: out = UInt8(value & 0xFF); channels[k].latched = nil
        case 2: out = UInt8(value >> 8); channels[k].latched = nil
        default:
            if channels[k].readHigh {
                out = UInt8(value >> 8)
                channels[k].latched = nil
            } else {
                out = UInt8(value & 0xFF)
                if channels[k].latched == nil { channels[k].latched = value }   // keep LSB/MSB consistent
            }
            channels[k].readHigh.toggle()
        }
        return UInt32(out)
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        switch port {
        case 0x43: control(v)
        case 0x40...0x42:
            let k = Int(port - 0x40)
            switch channels[k].access {
            case 1: load(k, UInt32(v))
            case 2: load(k, UInt32(v) << 8)
            default:
                if channels[k].writeHigh { load(k, UInt32(channels[k].pendingLow) | UInt32(v) << 8) }
                else { channels[k].pendingLow = v }
                channels[k].writeHigh.toggle()
            }
        case 0x61:
            let gate = v & 1 != 0
            if gate && !channels[2].gate && channels[2].mode != 0 { channels[2].start = now }   // gate edge restarts
            channels[2].gate = gate
        default: break
        }
    }

    private func control(_ v: UInt8) {
        let sc = Int(v >> 6)
        if sc == 3 {
            // Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status, for counters in bits 3:1.
            for k in 0..<3 where v & (2 << k) != 0 {
                if v & 0x20 == 0 && channels[k].latched == nil { channels[k].latched = count(k) }
                if v & 0x10 == 0 {
                    let c = channels[k]
                    channels[k].latchedStatus = (output(k) ? 0x80 : 0) | (c.access << 4) | (c.mode << 1) | (c.bcd ? 1 : 0)
                }
            }
            return
        }
        let access = (v >> 4) & 3
        if access == 0 {
            if channels[sc].latched == nil { channels[sc].latched = count(sc) }   // counter latch
            return
        }
        var mode = (v >> 1) & 7
        if mode > 5 { mode -= 4 }                 // 6 and 7 alias modes 2 and 3
        channels[sc].mode = mode
        channels[sc].access = access
        channels[sc].bcd = v & 1 != 0
        channels[sc].counting = false
        channels[sc].latched = nil
        channels[sc].readHigh = false
        channels[sc].writeHigh = false
        if sc == 0 { cancelIRQ() }
    }

    private func load(_ k: Int, _ raw: UInt32) {
        channels[k].reload = raw == 0 ? 0x10000 : raw
        channels[k].start = now
        channels[k].counting = true
        if k == 0 { scheduleIRQ(first: true) }
    }

    private func cancelIRQ() {
        if let e = irqEvent { scheduler.cancel(e) }
        irqEvent = nil
    }

    /// Channel 0's OUT edges → IRQ 0: once at terminal count (modes 0, 4), every period
    /// (modes 2, 3).
    private func scheduleIRQ(first: Bool) {
        cancelIRQ()
        let c = channels[0]
        guard c.counting else { return }
        if first { irqPeriodIndex = 0 }
        irqPeriodIndex += 1
        let periodic = c.mode == 2 || c.mode == 3
        if !periodic && irqPeriodIndex > 1 { return }
        let deadline = c.start &+ Self.ns(ticks: UInt64(c.reload) &* irqPeriodIndex)
        irqEvent = scheduler.schedule(at: deadline, raising: .isaIRQ(0)) { [unowned self] in
            self.irqEvent = nil
            self.interruptLines?.pulseIRQ(0)
            if periodic { self.scheduleIRQ(first: false) }
        }
    }
}
