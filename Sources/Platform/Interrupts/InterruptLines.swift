/// Where devices drive their interrupt request lines: ISA IRQ 0–15 (to the 8259 pair and,
/// through the MADT's interrupt-source overrides, to IOAPIC inputs) and PCI lines.
public protocol InterruptLineSink: AnyObject {
    /// Sets the level of ISA IRQ `irq`. Edge-triggered devices pulse: high then low.
    func setIRQ(_ irq: Int, level: Bool)
}

extension InterruptLineSink {
    /// A rising then falling edge on `irq`.
    public func pulseIRQ(_ irq: Int) {
        setIRQ(irq, level: true)
        setIRQ(irq, level: false)
    }
}
