import CPU
import Platform

/// The machine state PC firmware (SeaBIOS, which QEMU runs before a -kernel image) leaves for
/// the operating system, reproduced without running firmware: the 8259 pair initialised with
/// the BIOS vector bases (0x08 and 0x70) and only the timer and cascade unmasked, the PIT
/// ticking at 18.2 Hz on IRQ 0, a real-mode interrupt vector table whose entries point at an
/// IRET in the BIOS segment (so a timer tick in real mode returns harmlessly), the ACPI
/// tables (RSDP, RSDT, FADT with the PM timer, FACS, DSDT, MADT, DMAR with a VT-d unit) and
/// the MP table SeaBIOS also provides.
extension VirtualMachine {
    static let biosIRETAddress: UInt64 = 0xF_FF53

    func applyFirmwareHandoff() throws {
        guard let board else { return }
        let pic = board.pic
        // ICW1 (edge, cascade, ICW4), ICW2 (base), ICW3 (cascade on IR2 / identity 2), ICW4 (8086).
        for (port, value) in [(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01),
                              (0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01),
                              (0x21, 0xFA), (0xA1, 0xFF)] {
            pic.ioWrite(port: UInt16(port), size: 1, value: UInt32(value))
        }
        if let pit = board.pit {
            // Channel 0, LSB then MSB, mode 3, count 0 (65536): 18.2 Hz.
            pit.ioWrite(port: 0x43, size: 1, value: 0x36)
            pit.ioWrite(port: 0x40, size: 1, value: 0)
            pit.ioWrite(port: 0x40, size: 1, value: 0)
        }
        // Local APICs in virtual-wire mode: software-enabled, LINT0 = ExtINT, LINT1 = NMI
        // (as the BIOS leaves them, Intel MultiProcessor Specification §3.6.2.2).
        for v in vcpus {
            v.lapic.mmioWrite(offset: 0xF0, size: 4, value: 0x1FF)
            v.lapic.mmioWrite(offset: 0x350, size: 4, value: 0x700)
            v.lapic.mmioWrite(offset: 0x360, size: 4, value: 0x400)
        }
        try ACPITables.install(in: memory, cpuCount: configuration.cpuCount,
                               remappingUnit: board.iommu.map { ($0.capabilities, VTdRemappingUnit.defaultBase) })
        let id = bootProcessor.cpuidLeaf(1, 0)
        let pci = board.edu.map { e in
            [MultiProcessorTable.PCIInterrupt(device: PCBoard.eduSlot,
                                              pin: UInt8(e.function.read(offset: PCIFunction.Header.interruptPin, size: 1)),
                                              irq: UInt8(PCBoard.eduIRQ))]
        } ?? []
        try MultiProcessorTable.install(in: memory, cpuCount: configuration.cpuCount, signature: id.eax, features: id.edx,
                                        pciInterrupts: pci)
        try memory.write([0xCF], at: Self.biosIRETAddress)
        var ivt = [UInt8](repeating: 0, count: 1024)
        for v in 0..<256 {
            ivt[v * 4] = UInt8(Self.biosIRETAddress & 0xFF)
            ivt[v * 4 + 1] = UInt8((Self.biosIRETAddress >> 8) & 0xFF)
            ivt[v * 4 + 2] = 0x00
            ivt[v * 4 + 3] = 0xF0
        }
        try memory.write(ivt, at: 0)
    }
}
