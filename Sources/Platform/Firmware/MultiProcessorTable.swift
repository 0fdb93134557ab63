import CPU

/// The Intel MultiProcessor Specification 1.4 tables PC firmware provides (SeaBIOS builds them
/// for QEMU's machines up to 255 CPUs): an MP floating pointer structure in the BIOS area
/// (§4.1, Table 4-1), which an OS finds by scanning the first KiB of the EBDA, the last KiB
/// of base memory and F0000H–FFFFFH on 16-byte boundaries, and the MP configuration table it
/// points to (§4.2, Table 4-2) with processor, bus, I/O APIC, I/O interrupt and local interrupt
/// entries (§4.3). An OS uses it when it does not use ACPI's MADT (Linux with `acpi=off`).
public enum MultiProcessorTable {
    /// In the BIOS area, after the ACPI tables (F0000H–F0FFFH).
    public static let floatingPointerAddress: UInt64 = 0xF_1000
    static let configurationTableAddress: UInt64 = floatingPointerAddress + 16
    static let specificationRevision: UInt8 = 4             // version 1.4
    static let pciBusID: UInt8 = 0, isaBusID: UInt8 = 1
    static let ioAPICID: UInt8 = 0

    /// Entry types (§4.3, Table 4-3) and interrupt types (Table 4-10 / 4-12).
    enum EntryType: UInt8 { case processor = 0, bus, ioAPIC, ioInterrupt, localInterrupt }
    enum InterruptType: UInt8 { case int = 0, nmi, smi, extINT }

    /// A PCI function's INTx# routed to an I/O APIC input (an I/O interrupt entry on the PCI
    /// bus; source bus IRQ = device number << 2 | pin − 1, §D.3).
    public struct PCIInterrupt: Equatable, Sendable {
        public var device: UInt8
        /// 1 = INTA# … 4 = INTD#, as the Interrupt Pin register.
        public var pin: UInt8
        public var irq: UInt8
        public init(device: UInt8, pin: UInt8, irq: UInt8) {
            self.device = device
            self.pin = pin
            self.irq = irq
        }
    }

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { ACPITables.le(v, n) }

    /// The configuration table's entries for `cpuCount` processors reporting `signature`
    /// (CPUID.1:EAX) and `features` (CPUID.1:EDX), and the board's PCI interrupts.
    static func entries(cpuCount: Int, signature: UInt32, features: UInt32, pciInterrupts: [PCIInterrupt]) -> [[UInt8]] {
        var e: [[UInt8]] = []
        // §4.3.1 processor entries: local APIC ID and version, EN (bit 0), BP (bit 1).
        for k in 0..<cpuCount {
            let flags: UInt8 = 1 | (k == 0 ? 2 : 0)
            e.append([EntryType.processor.rawValue, UInt8(k), UInt8(LocalAPIC.versionValue & 0xFF), flags]
                     + le(UInt64(signature), 4) + le(UInt64(features), 4) + [UInt8](repeating: 0, count: 8))
        }
        // §4.3.2 bus entries (Table 4-8 bus type strings).
        e.append([EntryType.bus.rawValue, pciBusID] + Array("PCI   ".utf8))
        e.append([EntryType.bus.rawValue, isaBusID] + Array("ISA   ".utf8))
        // §4.3.3 the I/O APIC, usable.
        e.append([EntryType.ioAPIC.rawValue, ioAPICID, UInt8(IOAPIC.version & 0xFF), 1] + le(IOAPIC.defaultBase, 4))
        // §4.3.4 I/O interrupt entries: PCI INTx# (level, active high, as the board drives them),
        // then every ISA IRQ but the cascade (2) and the PCI-only lines, routed as the MADT says.
        func interrupt(_ type: EntryType, _ kind: InterruptType, _ flags: InterruptInputFlags,
                       bus: UInt8, source: UInt8, destination: UInt8, input: UInt8) -> [UInt8] {
            [type.rawValue, kind.rawValue] + le(UInt64(flags.rawValue), 2) + [bus, source, destination, input]
        }
        for p in pciInterrupts {
            e.append(interrupt(.ioInterrupt, .int, .levelActiveHigh, bus: pciBusID, source: p.device << 2 | (p.pin - 1),
                               destination: ioAPICID, input: p.irq))
        }
        for irq in UInt8(0)..<16 where irq != 2 && (!ISAInterruptRouting.pciIRQs.contains(irq) || irq == ISAInterruptRouting.sciIRQ) {
            let r = ISAInterruptRouting.route(irq: irq)
            e.append(interrupt(.ioInterrupt, .int, r.flags, bus: isaBusID, source: irq, destination: ioAPICID, input: r.pin))
        }
        // §4.3.5 local interrupts: the 8259's ExtINT on the BSP's LINT0, NMI on every LINT1
        // (the virtual-wire setup firmware leaves, §3.6.2.2).
        e.append(interrupt(.localInterrupt, .extINT, .conforming, bus: isaBusID, source: 0, destination: 0, input: 0))
        e.append(interrupt(.localInterrupt, .nmi, .conforming, bus: isaBusID, source: 0, destination: 0xFF, input: 1))
        return e
    }

    /// Writes the floating pointer and the configuration table.
    public static func install(in memory: PhysicalMemory, cpuCount: Int, signature: UInt32, features: UInt32,
                               pciInterrupts: [PCIInterrupt] = []) throws {
        let list = entries(cpuCount: cpuCount, signature: signature, features: features, pciInterrupts: pciInterrupts)
        let body = list.flatMap { $0 }
        // Table 4-2 header: signature, base table length, revision, checksum, OEM ID (8),
        // product ID (12), OEM table pointer and size, entry count, local APIC address,
        // extended table length and checksum, reserved.
        var table = Array("PCMP".utf8) + le(UInt64(44 + body.count), 2) + [specificationRevision, 0]
        table += Array("MTRYSK  ".utf8) + Array("MATRYOSHKA  ".utf8) + le(0, 4) + le(0, 2)
        table += le(UInt64(list.count), 2) + le(LocalAPIC.defaultBase, 4) + le(0, 2) + [0, 0]
        table += body
        table[7] = ACPITables.checksum(table)
        // Table 4-1: signature, configuration table address, length in 16-byte units, revision,
        // checksum, feature byte 1 = 0 (a configuration table is present), byte 2 bit 7 = 0
        // (IMCR absent: virtual wire mode), bytes 3–5 reserved.
        var pointer = Array("_MP_".utf8) + le(configurationTableAddress, 4) + [1, specificationRevision, 0]
        pointer += [UInt8](repeating: 0, count: 5)
        pointer[10] = ACPITables.checksum(pointer)
        try memory.write(pointer, at: floatingPointerAddress)
        try memory.write(table, at: configurationTableAddress)
    }
}
