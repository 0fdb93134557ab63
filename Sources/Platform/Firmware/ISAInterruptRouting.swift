/// The interrupt-input flags firmware tables give an interrupt source: polarity in bits 1:0
/// and trigger mode in bits 3:2, each 00 "conforms to the bus" (ISA: edge, active high;
/// PCI: level, active low), 01 edge / active high, 11 level / active low (ACPI 6.4 §5.2.12.5,
/// Table 5.50 "MPS INTI Flags"; MultiProcessor Specification 1.4 Table 4-10, "I/O INT flag").
public struct InterruptInputFlags: Equatable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let conforming = InterruptInputFlags(rawValue: 0)
    /// Polarity 01 (active high), trigger mode 11 (level).
    public static let levelActiveHigh = InterruptInputFlags(rawValue: 0b11_01)
}

/// How the board's ISA IRQs reach the I/O APIC, as firmware declares it to the OS in the MADT
/// and in the MP table. `ISAInterruptRouter` wires IRQ n to I/O APIC pin n except IRQ 0 (the
/// PIT), which drives pin 2; the devices behind IRQs 5, 9, 10 and 11 — the lines PCI
/// functions and the ACPI SCI (FADT SCI_INT = 9) use — raise them as level signals, active
/// high. Without the overrides an OS would program pin 9 as the SCI's default (level, active
/// low, ACPI 6.4 §5.2.12.5) and see a line at rest as permanently asserted. QEMU's `pc` and
/// `q35` declare the same five overrides.
public enum ISAInterruptRouting {
    public struct Override: Equatable, Sendable {
        public let irq: UInt8
        public let globalSystemInterrupt: UInt32
        public let flags: InterruptInputFlags
    }

    /// The IRQ the ACPI SCI uses (the FADT's SCI_INT).
    public static let sciIRQ: UInt8 = 9

    /// IRQs left to PCI functions' INTx# routing (and the SCI).
    public static let pciIRQs: Set<UInt8> = [5, 9, 10, 11]

    /// ACPI 6.4 §5.2.12.5 "Interrupt Source Override Structure", one per entry.
    public static let overrides: [Override] = [
        Override(irq: 0, globalSystemInterrupt: 2, flags: .conforming),
    ] + pciIRQs.sorted().map { Override(irq: $0, globalSystemInterrupt: UInt32($0), flags: .levelActiveHigh) }

    /// The I/O APIC input and flags of ISA IRQ `irq` (an override, else pin `irq`, conforming).
    public static func route(irq: UInt8) -> (pin: UInt8, flags: InterruptInputFlags) {
        if let o = overrides.first(where: { $0.irq == irq }) { return (UInt8(o.globalSystemInterrupt), o.flags) }
        return (irq, .conforming)
    }
}
