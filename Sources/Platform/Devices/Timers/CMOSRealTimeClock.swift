/// The PC's CMOS RAM and real-time clock (Motorola MC146818A datasheet: registers 0–9 time and
/// alarms, A–D status; BCD or binary by register B bit 2, 12/24-hour by bit 1) at ports
/// 0x70 (index, bit 7 = NMI disable) and 0x71 (data). The time is a fixed epoch plus virtual
/// time, so runs are reproducible.
///
/// The once-a-second update cycle is modelled as the datasheet times it: register A's UIP
/// reads 1 during the 244 µs before each second boundary, and at the boundary the update
/// sets the update-ended flag (register C UF) and, when the alarm registers match the new
/// time (a value with bits 7:6 = 11 matches any), the alarm flag (AF). The periodic flag (PF)
/// is set at each period of the rate register A's RS bits select. IRQF is set while a flag
/// and its register B enable (PIE, AIE, UIE) are both set, and IRQ 8 is asserted while IRQF
/// is, until register C is read; an alarm interrupt also tells the ACPI PM block (`onAlarm`:
/// RTC_STS, the S3 wake event). Register B's SET bit inhibits updates, and a divider not in
/// its 32.768 kHz operating state (register A DV ≠ 010) stops updates and the periodic flag.
public final class CMOSRealTimeClock: PortIODevice {
    private var cmos = [UInt8](repeating: 0, count: 128)
    private var index: UInt8 = 0
    private let time: TimeSource
    private let scheduler: EventScheduler?
    /// The pending update-cycle event (scheduled while UIE or AIE is set).
    private var updateEvent: EventScheduler.TimerID?
    /// The pending periodic event (scheduled while PIE is set and a rate is selected).
    private var periodicEvent: EventScheduler.TimerID?
    /// The last period boundary (in periods of the current rate since virtual time zero)
    /// register C's PF reflects.
    private var periodIndex: UInt64 = 0
    /// The level of IRQ 8 (IRQF).
    private var irqAsserted = false
    /// The last second whose update register C reflects (updates since then set UF and AF
    /// when register C is read, so a guest polling it without UIE/AIE sees them too).
    private var updatedSecond: UInt64 = 0
    /// Seconds since 1970-01-01 at virtual time zero.
    public let epoch: UInt64
    /// IRQ 8.
    public weak var interruptLines: InterruptLineSink?
    /// An alarm interrupt occurred (AF with AIE): the ACPI PM block's RTC event.
    public var onAlarm: (() -> Void)?

    /// UIP is set this long before each update (MC146818A: t_BUC = 244 µs).
    public static let updateInProgressNanoseconds: UInt64 = 244_000

    public init(time: TimeSource, scheduler: EventScheduler? = nil, epoch: UInt64 = 1_767_225_600) {   // 2026-01-01 00:00:00 UTC
        self.time = time
        self.scheduler = scheduler
        self.epoch = epoch
        cmos[0x0A] = 0x26          // 32.768 kHz time base, 1024 Hz rate
        cmos[0x0B] = 0x02          // 24-hour, BCD
        cmos[0x0D] = 0x80          // valid RAM and time
    }

    /// Memory-size bytes firmware and older kernels read (base, extended, above 16 MiB and 4 GiB).
    public func setMemorySize(bytes: UInt64) {
        cmos[0x15] = 0x80; cmos[0x16] = 0x02                              // 640 KiB base memory
        let extKB = min(bytes > 0x10_0000 ? (bytes - 0x10_0000) >> 10 : 0, 0xFFFF)
        cmos[0x17] = UInt8(extKB & 0xFF); cmos[0x18] = UInt8(extKB >> 8)
        cmos[0x30] = cmos[0x17]; cmos[0x31] = cmos[0x18]
        let above16M = min(bytes > 0x100_0000 ? (min(bytes, 0xC000_0000) - 0x100_0000) >> 16 : 0, 0xFFFF)
        cmos[0x34] = UInt8(above16M & 0xFF); cmos[0x35] = UInt8(above16M >> 8)
        let above4G = bytes > 0xC000_0000 ? (bytes - 0xC000_0000) >> 16 : 0
        cmos[0x5B] = UInt8(above4G & 0xFF); cmos[0x5C] = UInt8((above4G >> 8) & 0xFF); cmos[0x5D] = UInt8((above4G >> 16) & 0xFF)
    }

    private var binary: Bool { cmos[0x0B] & 0x04 != 0 }
    private var hour24: Bool { cmos[0x0B] & 0x02 != 0 }

    private func encode(_ v: Int) -> UInt8 { binary ? UInt8(v) : UInt8((v / 10) << 4 | (v % 10)) }

    /// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
    static func civil(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private func timeRegister(_ r: Int) -> UInt8 {
        timeRegister(r, atSecond: time.nanoseconds / 1_000_000_000)
    }

    /// Time register `r` as it reads during second `second` of virtual time.
    private func timeRegister(_ r: Int, atSecond second: UInt64) -> UInt8 {
        let now = epoch + second
        let secs = Int(now % 86_400), days = Int(now / 86_400)
        let (y, m, d) = Self.civil(days)
        switch r {
        case 0x00: return encode(secs % 60)
        case 0x02: return encode((secs / 60) % 60)
        case 0x04:
            let h = secs / 3600
            if hour24 { return encode(h) }
            let h12 = h % 12 == 0 ? 12 : h % 12
            return encode(h12) | (h >= 12 ? 0x80 : 0)
        case 0x06: return encode((days + 4) % 7 + 1)          // 1970-01-01 was a Thursday; Sunday = 1
        case 0x07: return encode(d)
        case 0x08: return encode(m)
        case 0x09: return encode(y % 100)
        case 0x32: return encode(y / 100)
        default: return cmos[r]
        }
    }

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        guard port == 0x71 else { return 0xFF }
        let r = Int(index & 0x7F)
        switch r {
        case 0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32: return UInt32(timeRegister(r))
        case 0x0A: return UInt32(cmos[0x0A] & 0x7F | (updateInProgress ? 0x80 : 0))
        case 0x0C:
            catchUp()
            let v = cmos[0x0C]; cmos[0x0C] = 0                                 // read clears the flags
            refreshInterrupt()
            return UInt32(v)
        default: return UInt32(cmos[r])
        }
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        if port == 0x70 { index = v; return }
        guard port == 0x71 else { return }
        let r = Int(index & 0x7F)
        switch r {
        case 0x0C, 0x0D: break                                                 // read-only
        case 0x0A:
            catchUp()
            cmos[0x0A] = v & 0x7F
            periodIndex = periodTicks.map { ticks(time.nanoseconds) / $0 } ?? 0
            scheduleUpdate(); schedulePeriodic()
        case 0x0B:
            catchUp()
            cmos[0x0B] = v
            refreshInterrupt()
            scheduleUpdate(); schedulePeriodic()
        default: cmos[r] = v
        }
    }

    // MARK: Update cycle

    /// Register B AIE: an alarm raises IRQ 8 (and is the ACPI RTC event).
    public var alarmInterruptEnabled: Bool { cmos[0x0B] & 0x20 != 0 }

    /// Register B SET clear and the divider in its normal operating state (A bits 6:4 = 010).
    private var updating: Bool { cmos[0x0B] & 0x80 == 0 && cmos[0x0A] & 0x70 == 0x20 }

    /// UIP: an update is due within 244 µs.
    private var updateInProgress: Bool {
        updating && time.nanoseconds % 1_000_000_000 >= 1_000_000_000 - Self.updateInProgressNanoseconds
    }

    /// Keeps one event at the next second boundary while an update interrupt can occur
    /// (after `previous`, the boundary just updated, so a late run still sees every second).
    private func scheduleUpdate(after previous: UInt64? = nil) {
        guard let scheduler else { return }
        let wanted = updating && cmos[0x0B] & 0x30 != 0                       // UIE or AIE
        if !wanted {
            if let e = updateEvent { scheduler.cancel(e); updateEvent = nil }
            return
        }
        guard updateEvent == nil else { return }
        let boundary = previous.map { $0 + 1_000_000_000 } ?? (time.nanoseconds / 1_000_000_000 + 1) * 1_000_000_000
        updateEvent = scheduler.schedule(at: boundary, raising: .isaIRQ(8)) { [unowned self] in
            self.updateEvent = nil
            self.update(through: boundary / 1_000_000_000)
            self.scheduleUpdate(after: boundary)
        }
    }

    /// The updates at the start of each second after `updatedSecond` up to `second`: UF, AF
    /// if one of those seconds matches the alarm, IRQF and IRQ 8 for the enabled ones
    /// (MC146818A register C; register B UIE = bit 4, AIE = bit 5).
    private func update(through second: UInt64) {
        guard second > updatedSecond else { return }
        let first = max(updatedSecond + 1, second >= 86_400 ? second - 86_399 : 0)   // a day covers every alarm
        updatedSecond = second
        guard updating else { return }
        var flags: UInt8 = 0x10
        if (first...second).contains(where: { alarmMatches(atSecond: $0) }) { flags |= 0x20 }
        cmos[0x0C] |= flags
        refreshInterrupt()
        if flags & cmos[0x0B] & 0x20 != 0 { onAlarm?() }
    }

    /// Brings UF, AF and PF up to the current virtual time.
    private func catchUp() {
        let now = time.nanoseconds
        update(through: now / 1_000_000_000)
        if let p = periodTicks {
            let k = ticks(now) / p
            if k > periodIndex { periodIndex = k; cmos[0x0C] |= 0x40; refreshInterrupt() }
        }
    }

    /// MC146818A register C: IRQF = PF·PIE + AF·AIE + UF·UIE, and IRQ 8 is driven while IRQF
    /// is 1 (the edge the 8259 and I/O APIC see is the 0 → 1 change).
    private func refreshInterrupt() {
        let irqf = cmos[0x0C] & cmos[0x0B] & 0x70 != 0
        cmos[0x0C] = cmos[0x0C] & 0x70 | (irqf ? 0x80 : 0)
        guard irqf != irqAsserted else { return }
        irqAsserted = irqf
        interruptLines?.setIRQ(8, level: irqf)
    }

    // MARK: Periodic interrupt

    /// Register A RS3–RS0 as the periodic interrupt's period in ticks of the 32.768 kHz time
    /// base (MC146818A periodic interrupt rate table): none for 0; 3.90625 ms and 7.8125 ms
    /// for 1 and 2; otherwise 2^(RS − 1) ticks (122.070 µs for 3 … 500 ms for 15). Nil while
    /// the divider is not running at 32.768 kHz (DV ≠ 010).
    var periodTicks: UInt64? {
        guard cmos[0x0A] & 0x70 == 0x20 else { return nil }
        let rs = UInt64(cmos[0x0A] & 0x0F)
        switch rs {
        case 0: return nil
        case 1, 2: return 1 << (rs + 6)
        default: return 1 << (rs - 1)
        }
    }

    /// Whole 32.768 kHz ticks in `ns` nanoseconds of virtual time.
    private func ticks(_ ns: UInt64) -> UInt64 {
        ns / 1_000_000_000 * 32_768 + ns % 1_000_000_000 * 32_768 / 1_000_000_000
    }

    /// The first nanosecond at which `tick` ticks have passed.
    private func nanoseconds(atTick tick: UInt64) -> UInt64 {
        tick / 32_768 * 1_000_000_000 + (tick % 32_768 * 1_000_000_000 + 32_767) / 32_768
    }

    /// Keeps one event at the next period boundary while PIE is set; without PIE, PF is
    /// brought up to date when register C is read.
    private func schedulePeriodic() {
        guard let scheduler else { return }
        if let e = periodicEvent { scheduler.cancel(e); periodicEvent = nil }
        guard cmos[0x0B] & 0x40 != 0, let p = periodTicks else { return }
        let at = nanoseconds(atTick: (periodIndex + 1) * p)
        periodicEvent = scheduler.schedule(at: at, raising: .isaIRQ(8)) { [unowned self] in
            self.periodicEvent = nil
            self.catchUp()
            self.schedulePeriodic()
        }
    }

    /// Each alarm register (1, 3, 5) equals its time register or is a don't-care (bits 7:6 = 11).
    private func alarmMatches(atSecond second: UInt64) -> Bool {
        for (alarm, current) in [(0x01, 0x00), (0x03, 0x02), (0x05, 0x04)] {
            let a = cmos[alarm]
            if a & 0xC0 == 0xC0 { continue }
            if a != timeRegister(current, atSecond: second) { return false }
        }
        return true
    }
}
