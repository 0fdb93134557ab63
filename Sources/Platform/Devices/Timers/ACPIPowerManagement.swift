/// The ACPI fixed-hardware PM1 event/control registers and the power-management timer
/// (ACPI 6.4 §4.8.3: PM1 status/enable, PM1 control with SCI_EN, PM_TMR a 24-bit counter at
/// 3.579545 MHz), computed from virtual time. Sleep requests (SLP_EN) are ignored: no S-states.
public final class ACPIPowerManagement: PortIODevice {
    public static let defaultBase: UInt16 = 0x600
    public static let timerHz: UInt64 = 3_579_545
    public let base: UInt16
    private let time: TimeSource
    private var status: UInt16 = 0
    private var enable: UInt16 = 0
    /// SCI_EN set: the machine starts in ACPI mode (no SMI command port).
    private var control: UInt16 = 1

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
        case 4: control = (UInt16(truncatingIfNeeded: value) & ~(1 << 13)) | 1   // SLP_EN is write-only; SCI_EN stays
        default: break
        }
    }

    static func bytes(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
}
