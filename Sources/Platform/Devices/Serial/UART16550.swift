/// A 16550A UART (National Semiconductor PC16550D datasheet, "Registers", Table II): COM1 at
/// 0x3F8 with IRQ 4. Transmission is instantaneous (THRE and TEMT always read 1 after a write),
/// received bytes queue in the 16-byte-style FIFO (unbounded here), interrupts follow IER and
/// the IIR priority order, and MCR loopback routes output back to input.
public final class UART16550: PortIODevice {
    public static let com1Base: UInt16 = 0x3F8
    public let base: UInt16
    public let irq: Int
    /// Where transmitted bytes go (console, file, test buffer).
    public var output: (UInt8) -> Void
    public weak var interruptLines: InterruptLineSink?

    private var rx: [UInt8] = []
    private var rxHead = 0
    private var ier: UInt8 = 0
    private var lcr: UInt8 = 0x03
    private var mcr: UInt8 = 0
    private var scr: UInt8 = 0
    private var fcr: UInt8 = 0
    private var divisor: UInt16 = 12          // 9600 baud
    /// THR-empty interrupt pending (cleared by reading IIR when it is the source, or writing THR).
    private var thrEmptyPending = false
    private var irqLevel = false

    public init(base: UInt16 = com1Base, irq: Int = 4, output: @escaping (UInt8) -> Void) {
        self.base = base
        self.irq = irq
        self.output = output
    }

    public var ports: ClosedRange<UInt16> { base...(base + 7) }

    /// Queues bytes as if received on the line.
    public func receive(_ bytes: [UInt8]) {
        rx += bytes
        updateInterrupt()
    }

    private var rxAvailable: Bool { rxHead < rx.count }
    private var dlab: Bool { lcr & 0x80 != 0 }

    /// IIR: the highest-priority pending interrupt (line status > RX data > THR empty > modem).
    private var interruptIdentification: UInt8 {
        let fifo: UInt8 = fcr & 1 != 0 ? 0xC0 : 0
        if ier & 0x01 != 0 && rxAvailable { return fifo | 0x04 }
        if ier & 0x02 != 0 && thrEmptyPending { return fifo | 0x02 }
        return fifo | 0x01
    }

    private func updateInterrupt() {
        let level = interruptIdentification & 1 == 0 && mcr & 0x08 != 0   // OUT2 gates the IRQ on PCs
        if level != irqLevel {
            irqLevel = level
            interruptLines?.setIRQ(irq, level: level)
        }
    }

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        let v: UInt8
        switch port - base {
        case 0:
            if dlab { v = UInt8(divisor & 0xFF) }
            else if rxAvailable {
                v = rx[rxHead]
                rxHead += 1
                if rxHead == rx.count { rx.removeAll(keepingCapacity: true); rxHead = 0 }
            } else { v = 0 }
        case 1: v = dlab ? UInt8(divisor >> 8) : ier
        case 2:
            v = interruptIdentification
            if v & 0x0F == 0x02 { thrEmptyPending = false }
        case 3: v = lcr
        case 4: v = mcr
        case 5: v = 0x60 | (rxAvailable ? 0x01 : 0)                // THRE | TEMT | DR
        case 6:
            // Loopback: CTS/DSR/RI/DCD mirror RTS/DTR/OUT1/OUT2; otherwise DCD, DSR, CTS asserted.
            v = mcr & 0x10 != 0 ? (mcr & 0x0F) << 4 : 0xB0
        default: v = scr
        }
        updateInterrupt()
        return UInt32(v)
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        let b = UInt8(truncatingIfNeeded: value)
        switch port - base {
        case 0:
            if dlab { divisor = (divisor & 0xFF00) | UInt16(b) }
            else {
                if mcr & 0x10 != 0 { rx.append(b) } else { output(b) }
                thrEmptyPending = true
            }
        case 1:
            if dlab { divisor = (divisor & 0x00FF) | UInt16(b) << 8 }
            else {
                // Enabling the THRE interrupt with an empty THR raises it at once.
                if b & 0x02 != 0 && ier & 0x02 == 0 { thrEmptyPending = true }
                ier = b & 0x0F
            }
        case 2:
            fcr = b
            if b & 0x02 != 0 { rx.removeAll(); rxHead = 0 }            // clear RX FIFO
        case 3: lcr = b
        case 4: mcr = b & 0x1F
        case 7: scr = b
        default: break
        }
        updateInterrupt()
    }
}
