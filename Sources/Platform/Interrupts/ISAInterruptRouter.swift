/// Routes ISA IRQ lines to both interrupt controllers of a PC, as the chipset wires them: the
/// 8259 pair sees IRQ n on its input n; the I/O APIC sees IRQ n on pin n except IRQ 0, which
/// arrives on pin 2 (the interrupt-source override every PC's MADT declares; ACPI 6.4 §5.2.12.5).
public final class ISAInterruptRouter: InterruptLineSink {
    public let pic: PIC8259Pair
    public let ioapic: IOAPIC

    public init(pic: PIC8259Pair, ioapic: IOAPIC) {
        self.pic = pic
        self.ioapic = ioapic
    }

    public static func ioapicPin(forISA irq: Int) -> Int { irq == 0 ? 2 : irq }

    public func setIRQ(_ irq: Int, level: Bool) {
        pic.setIRQ(irq, level: level)
        ioapic.setPin(Self.ioapicPin(forISA: irq), level: level)
    }
}
