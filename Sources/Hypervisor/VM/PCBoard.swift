import CPU
import Platform

/// The PC a `VirtualMachine` presents: which devices exist and where (the port and MMIO map of
/// QEMU's `pc` machine for the devices kvm-unit-tests touches).
public struct PCBoardOptions {
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

    /// Builds the board's devices and maps them on `vm`'s buses.
    init(vm: VirtualMachine, options: PCBoardOptions) throws {
        pic = PIC8259Pair()
        router = ISAInterruptRouter(pic: pic, ioapic: vm.ioapic)
        uart = UART16550(output: options.serialOutput)
        uart.interruptLines = router
        firmwareConfig = FirmwareConfig(ramSize: vm.configuration.memoryBytes, cpuCount: vm.configuration.cpuCount)
        pciHost = PCIHostBridge()
        let bus = vm.bus
        try bus.map(ports: uart.ports, to: uart)
        try bus.map(ports: 0x20...0x21, to: pic)
        try bus.map(ports: 0xA0...0xA1, to: pic)
        try bus.map(ports: 0x4D0...0x4D1, to: pic)
        try bus.map(ports: firmwareConfig.ports, to: firmwareConfig)
        try bus.map(ports: PCIHostBridge.addressPort...PCIHostBridge.addressPort + 3, to: pciHost)
        try bus.map(ports: PCIHostBridge.dataPorts, to: pciHost)
        rtc = CMOSRealTimeClock(time: vm.clock)
        rtc.setMemorySize(bytes: vm.configuration.memoryBytes)
        try bus.map(ports: 0x70...0x71, to: rtc)
        acpiPM = ACPIPowerManagement(time: vm.clock)
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
