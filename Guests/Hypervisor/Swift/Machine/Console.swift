/// L1's own output: COM1 (16550 UART at 3F8H), polled, 8N1. A line is written under a lock so
/// processors do not interleave within a line.
enum Console {
    static let base: UInt16 = 0x3F8
    nonisolated(unsafe) static var lock = SpinLock()

    /// 16550 set-up: no interrupts, DLAB for divisor 1 (115200 baud), 8 data bits, FIFOs on.
    static func initialize() {
        portOut8(base + 1, 0x00)
        portOut8(base + 3, 0x80)
        portOut8(base + 0, 0x01)
        portOut8(base + 1, 0x00)
        portOut8(base + 3, 0x03)
        portOut8(base + 2, 0xC7)
        portOut8(base + 4, 0x03)
    }

    /// Writes one byte once the transmitter holding register is empty (LSR bit 5).
    static func put(_ byte: UInt8) {
        var spins = 0
        while portIn8(base + 5) & 0x20 == 0 && spins < 100_000 { spins += 1 }
        portOut8(base, byte)
    }

    /// Waits until the transmitter is empty (LSR bit 6), so nothing is lost at power-off.
    static func drain() {
        var spins = 0
        while portIn8(base + 5) & 0x40 == 0 && spins < 1_000_000 { spins += 1 }
    }

    static func put(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { put(b) } }
    }

    static func put(bytes: UnsafePointer<UInt8>, count: Int) {
        for i in 0..<count { put(bytes[i]) }
    }

    static func decimal(_ value: UInt64) {
        if value >= 10 { decimal(value / 10) }
        put(48 + UInt8(truncatingIfNeeded: value % 10))
    }

    /// `value` in hexadecimal, upper case, no leading zeros, with an "h" suffix (the SDM's style).
    static func hex(_ value: UInt64) {
        var started = false
        var shift = 60
        while shift >= 0 {
            let d = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0xF)
            if d != 0 || started || shift == 0 {
                started = true
                put(d < 10 ? 48 + d : 55 + d)
            }
            shift -= 4
        }
        put(UInt8(ascii: "h"))
    }

    /// Runs `body` (which writes one or more whole lines) while holding the console.
    static func line(_ body: () -> Void) {
        lock.withLock(body)
    }

    /// One line made of a single message.
    static func say(_ s: StaticString) {
        line { put(s); put(10) }
    }
}
