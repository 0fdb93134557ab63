/// QEMU's educational PCI device `edu` (QEMU docs/specs/edu.txt): vendor 1234H, device
/// 11E8H, class "other" (00FF00H), one 1-MiB memory BAR with identification, liveness and
/// factorial registers, an interrupt raised and acknowledged by software, and a DMA engine
/// between guest memory and a 4-KiB buffer. Its DMA is a bus master's (through the remapping
/// unit when there is one) and its interrupt is INTA# or, once enabled, an MSI. The factorial
/// and the DMA complete during the register write that starts them (QEMU runs them on a
/// thread and a 100-ms timer; the guest polls the busy bits either way).
public final class EduDevice: MMIODevice {
    public static let vendorID: UInt16 = 0x1234
    public static let deviceID: UInt16 = 0x11E8
    public static let barSize: UInt32 = 1 << 20
    /// Configuration-space offset of the MSI capability (as QEMU places it).
    public static let msiCapabilityOffset = 0x40

    /// BAR 0 registers (edu.txt "MMIO area spec").
    public enum Register: UInt64, Sendable {
        case identification = 0x00, liveness = 0x04, factorial = 0x08, status = 0x20, interruptStatus = 0x24
        case raiseInterrupt = 0x60, acknowledgeInterrupt = 0x64
        case dmaSource = 0x80, dmaDestination = 0x88, dmaCount = 0x90, dmaCommand = 0x98
    }

    /// Identification: 0xRRrr00ed, version 1.0.
    public static let identification: UInt32 = 0x0100_00ED
    /// Status bits: factorial busy (0), raise interrupt 0x001 after a factorial (7).
    public static let statusComputing: UInt32 = 0x01, statusInterruptOnFactorial: UInt32 = 0x80
    /// DMA command bits: start (0), direction EDU → RAM (1), raise interrupt 0x100 when done (2).
    public static let dmaStart: UInt64 = 1, dmaToRAM: UInt64 = 2, dmaInterrupt: UInt64 = 4
    /// The DMA buffer's device-side addresses, and the device's 28-bit DMA mask.
    public static let dmaBuffer: Range<UInt64> = 0x40000..<0x41000
    public static let dmaMask: UInt64 = (1 << 28) - 1

    public let function: PCIFunction
    /// The PCI source-id (bus 15:8, device 7:3, function 2:0) its requests carry.
    public let requesterID: UInt16
    let dma: DMAAddressSpace
    let msi: MSIDelivery
    /// Drives the INTx line (asserted = true).
    let setINTx: (Bool) -> Void

    public private(set) var interruptStatus: UInt32 = 0
    private var liveness: UInt32 = 0
    private var factorial: UInt32 = 0
    private var status: UInt32 = 0
    private var dmaSource: UInt64 = 0, dmaDestination: UInt64 = 0, dmaCount: UInt64 = 0, dmaCommand: UInt64 = 0
    private var buffer = [UInt8](repeating: 0, count: 4096)
    private var lineAsserted = false
    /// DMA commands dropped: a range outside the buffer, bus mastering off, or an aborted
    /// transfer (QEMU's edu stops the emulator for the first; here the command just ends).
    public private(set) var droppedTransfers = 0

    public init(requesterID: UInt16, dma: DMAAddressSpace, msi: MSIDelivery, setINTx: @escaping (Bool) -> Void) {
        self.requesterID = requesterID
        self.dma = dma
        self.msi = msi
        self.setINTx = setINTx
        function = PCIFunction(vendorID: Self.vendorID, deviceID: Self.deviceID, classCode: 0x00_FF00, revision: 0x10)
        function.defineMemoryBAR(0, size: Self.barSize)
        function.setInterruptPin(1)
        function.addMSICapability(at: Self.msiCapabilityOffset)
        function.configurationWritten = { [unowned self] _, _ in self.updateINTx() }
    }

    // MARK: MMIO (edu.txt: 32-bit accesses below 80H, 32- or 64-bit from 80H; others read all ones)

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        guard size == 4 || (offset >= 0x80 && size == 8) else { return ~0 >> UInt64(64 - 8 * min(size, 8)) }
        switch Register(rawValue: offset) {
        case .identification: return UInt64(Self.identification)
        case .liveness: return UInt64(~liveness)
        case .factorial: return UInt64(factorial)
        case .status: return UInt64(status)
        case .interruptStatus: return UInt64(interruptStatus)
        case .dmaSource: return truncate(dmaSource, size)
        case .dmaDestination: return truncate(dmaDestination, size)
        case .dmaCount: return truncate(dmaCount, size)
        case .dmaCommand: return truncate(dmaCommand, size)
        default: return size == 8 ? ~0 : 0xFFFF_FFFF
        }
    }

    private func truncate(_ v: UInt64, _ size: Int) -> UInt64 { size == 8 ? v : v & 0xFFFF_FFFF }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        guard size == 4 || (offset >= 0x80 && size == 8) else { return }
        let v = truncate(value, size), v32 = UInt32(truncatingIfNeeded: value)
        switch Register(rawValue: offset) {
        case .liveness: liveness = v32
        case .factorial:
            guard status & Self.statusComputing == 0 else { return }
            factorial = Self.factorial(of: v32)
            if status & Self.statusInterruptOnFactorial != 0 { raise(0x001) }
        case .status:
            status = (status & ~Self.statusInterruptOnFactorial) | (v32 & Self.statusInterruptOnFactorial)
        case .raiseInterrupt: raise(v32)
        case .acknowledgeInterrupt: lower(v32)
        case .dmaSource: dmaSource = v
        case .dmaDestination: dmaDestination = v
        case .dmaCount: dmaCount = v
        case .dmaCommand:
            guard dmaCommand & Self.dmaStart == 0 else { return }   // a transfer is running
            dmaCommand = v
            if v & Self.dmaStart != 0 { runDMA() }
        default: break
        }
    }

    /// n! in 32-bit arithmetic (wrapping, as QEMU's edu computes it); 0! = 1.
    public static func factorial(of n: UInt32) -> UInt32 {
        var r: UInt32 = 1
        var k = n
        while k > 1 { r = r &* k; k -= 1 }
        return r
    }

    // MARK: DMA

    private func runDMA() {
        defer { dmaCommand &= ~Self.dmaStart }
        let toRAM = dmaCommand & Self.dmaToRAM != 0
        let device = toRAM ? dmaSource : dmaDestination
        let memory = (toRAM ? dmaDestination : dmaSource) & Self.dmaMask
        guard dmaCount <= UInt64(buffer.count), Self.dmaBuffer.contains(device),
              device - Self.dmaBuffer.lowerBound <= UInt64(buffer.count) - dmaCount,
              function.command & PCIFunction.Command.busMaster != 0 else {
            droppedTransfers += 1
            return
        }
        let at = Int(device - Self.dmaBuffer.lowerBound), n = Int(dmaCount)
        if n > 0 {
            if toRAM {
                if !dma.dmaWrite(Array(buffer[at..<(at + n)]), at: memory, requester: requesterID) { droppedTransfers += 1 }
            } else if let bytes = dma.dmaRead(memory, count: n, requester: requesterID) {
                buffer.replaceSubrange(at..<(at + n), with: bytes)
            } else {
                droppedTransfers += 1
            }
        }
        if dmaCommand & Self.dmaInterrupt != 0 { raise(0x100) }
    }

    // MARK: Interrupts

    private var msiEnabled: Bool { function.msiMessage != nil }

    /// Sets interrupt-status bits; with MSI enabled every raise sends the message, otherwise
    /// INTA# is asserted while any bit is set.
    private func raise(_ bits: UInt32) {
        interruptStatus |= bits
        guard interruptStatus != 0 else { return }
        if let m = function.msiMessage {
            msi.signal(m, requester: requesterID)
        } else {
            lineAsserted = true
            updateINTx()
        }
    }

    private func lower(_ bits: UInt32) {
        interruptStatus &= ~bits
        if interruptStatus == 0 && !msiEnabled {
            lineAsserted = false
            updateINTx()
        }
    }

    /// INTA# follows the pending state unless the command register's Interrupt Disable is
    /// set (PCI 3.0 §6.2.2); status bit 3 reports it regardless.
    private var driven = false
    private func updateINTx() {
        function.setInterruptStatus(lineAsserted)
        let level = lineAsserted && function.command & PCIFunction.Command.interruptDisable == 0
        guard level != driven else { return }
        driven = level
        setINTx(level)
    }
}
