import CPU
import Platform

/// The PC a `VirtualMachine` presents: which devices exist and where (the port and MMIO map of
/// QEMU's `pc` and `q35` machines for the devices kvm-unit-tests touches).
public struct PCBoardOptions {
    /// QEMU's machine types: `pc` (i440FX host bridge) or `q35` (Q35 MCH, the only one that
    /// takes an `intel-iommu`).
    public enum Machine: Sendable { case pc, q35 }
    public var machine: Machine = .pc
    /// `-device intel-iommu`: a VT-d remapping unit at FED90000H (q35 only).
    public var intelIOMMU: VTdCapabilities?
    /// `-device edu`: QEMU's educational PCI device at 00:01.0.
    public var edu = false

    /// Bytes the guest writes to COM1.
    public var serialOutput: (UInt8) -> Void = { _ in }
    /// isa-debug-exit port window (QEMU default 0x501/2; kvm-unit-tests uses 0xF4/4).
    public var debugExit: (base: UInt16, size: UInt16)? = (0xF4, 4)
    /// QEMU's pc-testdev (ports 0xE0–0xE7, 0x2000–0x2017).
    public var pcTestdev = true
    /// The 8254 PIT (`-machine pit=off` removes it).
    public var pit = true

    public init() {}
}

/// The devices of the PC board, once attached to a VM.
public final class PCBoard {
    public let uart: UART16550
    public let pic: PIC8259Pair
    public let router: ISAInterruptRouter
    public let pit: PIT8254?
    public let firmwareConfig: FirmwareConfig
    public let pciHost: PCIHostBridge
    public let testDevice: PCTestDevice?
    public let debugExit: DebugExit?
    public let acpiPM: ACPIPowerManagement
    public let rtc: CMOSRealTimeClock
    /// Where PCI devices' MSIs go (through the remapping unit when there is one).
    public let msi: MSIDelivery
    public let iommu: VTdRemappingUnit?
    public let edu: EduDevice?

    public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
        case iommuNeedsQ35
        public var description: String {
            switch self {
            case .iommuNeedsQ35: return "intel-iommu is only supported on the q35 machine (-M q35)"
            }
        }
    }

    /// Where firmware places the edu device: slot 1 of bus 0 (the first after the host
    /// bridge), BAR 0 at FEA00000H in the 32-bit PCI memory window, INTA# routed to IRQ 11.
    public static let eduSlot: UInt8 = 1
    public static let eduBAR0: UInt32 = 0xFEA0_0000
    public static let eduIRQ = 11

    /// Builds the board's devices and maps them on `vm`'s buses.
    init(vm: VirtualMachine, options: PCBoardOptions) throws {
        pic = PIC8259Pair()
        router = ISAInterruptRouter(pic: pic, ioapic: vm.ioapic)
        uart = UART16550(output: options.serialOutput)
        uart.interruptLines = router
        firmwareConfig = FirmwareConfig(ramSize: vm.configuration.memoryBytes, cpuCount: vm.configuration.cpuCount)
        guard options.intelIOMMU == nil || options.machine == .q35 else { throw ConfigurationError.iommuNeedsQ35 }
        pciHost = PCIHostBridge(chipset: options.machine == .q35 ? .q35 : .i440fx)
        let bus = vm.bus
        msi = MSIDelivery(bus: vm.apicBus)
        let ram = GuestRAM(memory: vm.memory, top: vm.configuration.ramTop)
        var dma: DMAAddressSpace = ram
        if let caps = options.intelIOMMU {
            let unit = VTdRemappingUnit(capabilities: caps, ram: ram, bus: vm.apicBus)
            try bus.map(mmio: VTdRemappingUnit.defaultBase..<(VTdRemappingUnit.defaultBase + VTdRemappingUnit.windowSize), to: unit)
            vm.ioapic.remapper = unit
            msi.remapper = unit
            dma = unit
            iommu = unit
        } else {
            iommu = nil
        }
        if options.edu {
            let router = self.router, irq = Self.eduIRQ
            let e = EduDevice(requesterID: UInt16(Self.eduSlot) << 3, dma: dma, msi: msi) { router.setIRQ(irq, level: $0) }
            // What firmware leaves: BAR 0 assigned, memory decoding on, the interrupt line.
            e.function.firmwareSet(offset: PCIFunction.Header.bar0, size: 4, value: Self.eduBAR0)
            e.function.firmwareSet(offset: PCIFunction.Header.command, size: 2, value: UInt32(PCIFunction.Command.memorySpace))
            e.function.firmwareSet(offset: PCIFunction.Header.interruptLine, size: 1, value: UInt32(irq))
            pciHost.attach(e.function, bus: 0, device: Self.eduSlot, function: 0)
            bus.map(movableWindowOfSize: UInt64(EduDevice.barSize), base: { [unowned e] in e.function.memoryBARBase(0) }, to: e)
            edu = e
        } else {
            edu = nil
        }
        try bus.map(ports: uart.ports, to: uart)
        try bus.map(ports: 0x20...0x21, to: pic)
        try bus.map(ports: 0xA0...0xA1, to: pic)
        try bus.map(ports: 0x4D0...0x4D1, to: pic)
        try bus.map(ports: firmwareConfig.ports, to: firmwareConfig)
        try bus.map(ports: PCIHostBridge.addressPort...PCIHostBridge.addressPort + 3, to: pciHost)
        try bus.map(ports: PCIHostBridge.dataPorts, to: pciHost)
        rtc = CMOSRealTimeClock(time: vm.clock, scheduler: vm.scheduler)
        rtc.interruptLines = router
        rtc.setMemorySize(bytes: vm.configuration.memoryBytes)
        try bus.map(ports: 0x70...0x71, to: rtc)
        acpiPM = ACPIPowerManagement(time: vm.clock)
        rtc.onAlarm = { [unowned acpiPM] in acpiPM.rtcAlarm() }
        acpiPM.onSleep = { [unowned vm] in vm.enterS3() }
        acpiPM.onWake = { [unowned vm] in vm.resumeFromS3() }
        acpiPM.onPowerOff = { [unowned vm] in vm.enterS5() }
        try bus.map(ports: acpiPM.ports, to: acpiPM)
        if options.pit {
            let t = PIT8254(scheduler: vm.scheduler)
            t.interruptLines = router
            try bus.map(ports: 0x40...0x43, to: t)
            try bus.map(ports: 0x61...0x61, to: t)
            pit = t
        } else {
            pit = nil
        }
        if options.pcTestdev {
            let t = PCTestDevice()
            t.interruptLines = router
            t.flushPage = { [unowned vm] la in for v in vm.vcpus { v.processor.invalidatePage(la) } }
            try bus.map(ports: PCTestDevice.ioPorts, to: t)
            try bus.map(ports: PCTestDevice.irqPorts, to: t)
            try bus.map(mmio: PCTestDevice.ioMemoryBase..<(PCTestDevice.ioMemoryBase + PCTestDevice.ioMemorySize), to: t)
            testDevice = t
        } else {
            testDevice = nil
        }
        if let (base, size) = options.debugExit {
            let d = DebugExit(base: base, size: size) { [unowned vm] status in vm.requestExit(status: status) }
            try bus.map(ports: d.ports, to: d)
            debugExit = d
        } else {
            debugExit = nil
        }
        vm.externalInterrupts = PICInterruptSource(pic)
    }
}

/// The 8259 pair as the vCPU loop's INTR source.
final class PICInterruptSource: ExternalInterruptSource {
    let pic: PIC8259Pair
    init(_ pic: PIC8259Pair) { self.pic = pic }
    var interruptRequested: Bool { pic.interruptRequested }
    func acknowledgeInterrupt() -> UInt8? { pic.acknowledgeInterrupt() }
}
