/// The ACPI fixed-hardware PM1 event/control registers and the power-management timer
/// (ACPI 6.4 §4.8.3: PM1 status/enable, PM1 control with SCI_EN, PM_TMR a 24-bit counter at
/// 3.579545 MHz), computed from virtual time.
///
/// Sleeping (§4.8.3.2.1, §16.1): writing PM1_CNT with SLP_EN and SLP_TYP = `s3SleepType` (the
/// value the DSDT's `\_S3` package gives, QEMU's) enters S3 through `onSleep`; the machine
/// stops with memory kept. The RTC alarm sets RTC_STS, and with RTC_EN set wakes a sleeping
/// machine: WAK_STS is set and `onWake` resumes it (§4.8.3.1.1, §16.3). SLP_TYP =
/// `s5SleepType` (the DSDT's `\_S5`) is soft off (§16.1.5, G2/S5): `onPowerOff` ends the
/// machine. Other SLP_TYP values (S1, S2, S4 are not declared) are ignored, and no SCI is
/// raised (no general-purpose events or fixed-event interrupts).
public final class ACPIPowerManagement: PortIODevice {
    public static let defaultBase: UInt16 = 0x600
    public static let timerHz: UInt64 = 3_579_545
    /// SLP_TYP for S3 (the DSDT's `\_S3` package, as in QEMU's `pc` and `q35` DSDTs).
    public static let s3SleepType: UInt16 = 1
    /// SLP_TYP for S5, soft off (the DSDT's `\_S5` package; QEMU's PIIX4 PM uses 0 too).
    public static let s5SleepType: UInt16 = 0
    /// PM1 status / enable bits (ACPI 6.4 Tables 4.16, 4.17).
    public enum PM1 {
        public static let rtc: UInt16 = 1 << 10
        public static let wake: UInt16 = 1 << 15
    }
    /// PM1 control bits (Table 4.18).
    public enum Control {
        public static let sciEnable: UInt16 = 1 << 0
        public static let sleepTypeShift: UInt16 = 10
        public static let sleepEnable: UInt16 = 1 << 13
    }
    public let base: UInt16
    private let time: TimeSource
    private var status: UInt16 = 0
    private var enable: UInt16 = 0
    /// SCI_EN set: the machine starts in ACPI mode (no SMI command port).
    private var control: UInt16 = 1
    /// In S3, waiting for a wake event.
    public private(set) var sleeping = false
    /// The guest asked for S3: stop every processor, keep memory.
    public var onSleep: (() -> Void)?
    /// A wake event ended S3: resume at the waking vector.
    public var onWake: (() -> Void)?
    /// The guest entered S5 (soft off): the machine powers off.
    public var onPowerOff: (() -> Void)?
    /// S5 was entered; nothing wakes the machine from it here (no power button).
    public private(set) var poweredOff = false

    public init(base: UInt16 = defaultBase, time: TimeSource) {
        self.base = base
        self.time = time
    }

    public var ports: ClosedRange<UInt16> { base...(base + 11) }

    /// PM_TMR: 24 bits of 3.579545 MHz ticks.
    public var timerValue: UInt32 {
        UInt32(truncatingIfNeeded: PIT8254.scaled(time.nanoseconds, Self.timerHz, 1_000_000_000) & 0xFF_FFFF)
    }

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        let off = Int(port - base)
        let regs: [UInt8] = Self.bytes(status) + Self.bytes(enable) + Self.bytes(control) + [0, 0]
            + (0..<4).map { UInt8(truncatingIfNeeded: timerValue >> (8 * UInt32($0))) }
        var v: UInt32 = 0
        for k in 0..<size where off + k < regs.count { v |= UInt32(regs[off + k]) << (8 * UInt32(k)) }
        return v
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        switch port - base {
        case 0: status &= ~UInt16(truncatingIfNeeded: value)        // write 1 to clear
        case 2: enable = UInt16(truncatingIfNeeded: value)
        case 4:
            let v = UInt16(truncatingIfNeeded: value)
            control = (v & ~Control.sleepEnable) | Control.sciEnable      // SLP_EN is write-only; SCI_EN stays
            guard v & Control.sleepEnable != 0 && !sleeping && !poweredOff else { break }
            switch (v >> Control.sleepTypeShift) & 7 {
            case Self.s3SleepType:
                sleeping = true
                onSleep?()
            case Self.s5SleepType:
                poweredOff = true
                onPowerOff?()
            default: break
            }
        default: break
        }
    }

    /// PM1_EN.RTC_EN: the RTC alarm is a wake event.
    public var rtcWakeEnabled: Bool { enable & PM1.rtc != 0 }

    /// The RTC alarm (the RTC's interrupt output): RTC_STS, and the wake event from S3 when
    /// RTC_EN is set (§4.8.3.1.1).
    public func rtcAlarm() {
        status |= PM1.rtc
        guard sleeping && enable & PM1.rtc != 0 else { return }
        sleeping = false
        status |= PM1.wake
        onWake?()
    }

    static func bytes(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
}
