/// The PC's cascaded pair of 8259A programmable interrupt controllers (Intel 8259A datasheet:
/// "Initialization Command Words", "Operation Command Words", priority and EOI modes), with
/// the PIIX edge/level control registers (ELCR, ports 0x4D0/0x4D1). Fixed priority (IR0
/// highest), non-specific and specific EOI, auto-EOI, IRR/ISR reads and spurious IRQ 7/15.
public final class PIC8259Pair: PortIODevice, InterruptLineSink {
    /// One 8259A.
    struct Chip {
        var irr: UInt8 = 0
        var isr: UInt8 = 0
        var imr: UInt8 = 0xFF
        var vectorBase: UInt8 = 0
        var initStep = 0            // 0 = operational; 1…3 = expecting ICW2…ICW4
        var icw4Needed = false
        var single = false
        var autoEOI = false
        var readISR = false
        var lines: UInt8 = 0        // input levels
        var elcr: UInt8 = 0         // 1 = level-triggered input

        /// Highest-priority requested and unmasked input above anything in service.
        var pending: Int? {
            let req = irr & ~imr
            guard req != 0 else { return nil }
            let irq = req.trailingZeroBitCount
            if isr != 0 && isr.trailingZeroBitCount <= irq { return nil }
            return irq
        }

        mutating func set(_ line: Int, _ level: Bool) {
            let bit: UInt8 = 1 << UInt8(line)
            let was = lines & bit != 0
            if level { lines |= bit } else { lines &= ~bit }
            if elcr & bit != 0 {
                if level { irr |= bit } else { irr &= ~bit }
            } else if level && !was {
                irr |= bit                    // edge: rising edge latches the request
            }
        }

        /// A request on `line` would be passed on: initialised, unmasked, not blocked by an
        /// in-service request of equal or higher priority, and (for an `edge`) the line low.
        func admits(_ line: Int, edge: Bool) -> Bool {
            let bit: UInt8 = 1 << UInt8(line)
            guard initStep == 0, imr & bit == 0, !edge || lines & bit == 0 else { return false }
            return isr == 0 || isr.trailingZeroBitCount > line
        }

        /// INTA: the vector of the highest request, moving it to in-service.
        mutating func acknowledge() -> UInt8 {
            guard let irq = pending else { return vectorBase | 7 }   // spurious IR7
            let bit: UInt8 = 1 << UInt8(irq)
            if elcr & bit == 0 { irr &= ~bit }
            if !autoEOI { isr |= bit }
            return vectorBase | UInt8(irq)
        }

        mutating func writeCommand(_ v: UInt8) {
            if v & 0x10 != 0 {                 // ICW1
                initStep = 1
                icw4Needed = v & 1 != 0
                single = v & 2 != 0
                imr = 0; isr = 0; irr = 0
                autoEOI = false
                readISR = false
            } else if v & 0x08 == 0 {          // OCW2
                switch v >> 5 {
                case 1, 5: if isr != 0 { isr &= ~(1 << UInt8(isr.trailingZeroBitCount)) }   // non-specific EOI
                case 3, 7: isr &= ~(1 << (v & 7))                                            // specific EOI
                default: break                                                                // rotation: not modelled
                }
            } else {                           // OCW3
                if v & 2 != 0 { readISR = v & 1 != 0 }
            }
        }

        mutating func writeData(_ v: UInt8) {
            switch initStep {
            case 1:
                vectorBase = v & 0xF8
                initStep = single ? (icw4Needed ? 3 : 0) : 2
            case 2:
                initStep = icw4Needed ? 3 : 0  // ICW3: cascade wiring is fixed on the PC
            case 3:
                autoEOI = v & 2 != 0
                initStep = 0
            default:
                imr = v                        // OCW1
            }
        }
    }

    /// Every change of the master's state re-evaluates INTR (`interruptRequested`); the slave
    /// reaches it only through master IR2 (`updateCascade`).
    var master = Chip() { didSet { interruptRequested = master.pending != nil } }
    var slave = Chip()

    public init() {
        master.elcr = 0
        slave.elcr = 0
    }

    /// Master INTR output: a request is deliverable. Stored, so the VM's check after every
    /// exit is a load.
    public private(set) var interruptRequested = false

    /// Whether a rising edge on ISA IRQ `irq` now would raise INTR (8259A datasheet,
    /// "Interrupt Sequence" and "Cascading"): the chip is initialised, the line is low (so an
    /// edge can occur), the input is unmasked and nothing of equal or higher priority is in
    /// service — on the slave and, through IR2, on the master for IRQ 8–15.
    public func wouldInterrupt(onEdgeOf irq: Int) -> Bool {
        switch irq {
        case 0...7 where irq != 2: return master.admits(irq, edge: true)
        case 8...15: return slave.admits(irq - 8, edge: true) && master.admits(2, edge: false)
        default: return false
        }
    }

    /// The interrupt-acknowledge sequence (slave cascaded on master IR2).
    public func acknowledgeInterrupt() -> UInt8? {
        guard interruptRequested else { return nil }
        if master.pending == 2 {
            let sv = slave.acknowledge()
            _ = master.acknowledge()
            updateCascade()
            return sv
        }
        return master.acknowledge()
    }

    /// The slave's INT output drives master IR2 as a level (it stays requested exactly as long
    /// as the slave has a deliverable request).
    private func updateCascade() {
        if slave.pending != nil { master.irr |= 0x04 } else { master.irr &= ~0x04 }
    }

    public func setIRQ(_ irq: Int, level: Bool) {
        switch irq {
        case 0...7 where irq != 2: master.set(irq, level)
        case 8...15: slave.set(irq - 8, level); updateCascade()
        default: break
        }
    }

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        switch port {
        case 0x20: return UInt32(master.readISR ? master.isr : master.irr)
        case 0x21: return UInt32(master.imr)
        case 0xA0: return UInt32(slave.readISR ? slave.isr : slave.irr)
        case 0xA1: return UInt32(slave.imr)
        case 0x4D0: return UInt32(master.elcr)
        case 0x4D1: return UInt32(slave.elcr)
        default: return 0xFF
        }
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        switch port {
        case 0x20: master.writeCommand(v)
        case 0x21: master.writeData(v)
        case 0xA0: slave.writeCommand(v); updateCascade()
        case 0xA1: slave.writeData(v); updateCascade()
        case 0x4D0: master.elcr = v & 0xF8        // IRQ 0, 1, 2 are always edge
        case 0x4D1: slave.elcr = v & 0xDE         // IRQ 8 and 13 are always edge
        default: break
        }
    }
}
