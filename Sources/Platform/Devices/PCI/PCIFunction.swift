/// One PCI function's 256-byte type-0 configuration header (PCI Local Bus Specification 3.0
/// §6.1), with the pieces devices need: 32-bit memory BARs that size themselves (§6.2.5.1),
/// a capability list (§6.7) holding an MSI capability (§6.8.1), the interrupt pin/line and
/// status bits (§6.2.4, §6.2.3).
public final class PCIFunction {
    /// Configuration-space offsets of the type-0 header (PCI 3.0 Figure 6-1).
    public enum Header {
        public static let command = 0x04
        public static let status = 0x06
        public static let bar0 = 0x10
        public static let capabilitiesPointer = 0x34
        public static let interruptLine = 0x3C
        public static let interruptPin = 0x3D
    }

    /// Command register bits (PCI 3.0 §6.2.2).
    public enum Command {
        public static let memorySpace: UInt16 = 1 << 1
        public static let busMaster: UInt16 = 1 << 2
        public static let interruptDisable: UInt16 = 1 << 10
    }

    /// MSI capability layout for a 64-bit-address function without per-vector masking
    /// (PCI 3.0 §6.8.1, Figure 6-9): ID, next, message control, address low/high, data.
    public enum MSI {
        public static let capabilityID: UInt8 = 0x05
        public static let control = 2, addressLow = 4, addressHigh = 8, data = 12, length = 14
        public static let enable: UInt16 = 1 << 0
        public static let address64: UInt16 = 1 << 7
    }

    private var space = [UInt8](repeating: 0, count: 256)
    /// Per-byte write masks: only the registers a guest may change.
    private var writable = [UInt8](repeating: 0, count: 256)
    /// Offset of the MSI capability, when the function has one.
    public private(set) var msiOffset: Int?
    /// Sizes of the memory BARs by index.
    private var barSizes: [Int: UInt32] = [:]

    /// Called after every guest write with (offset, size), so the device can react
    /// (a BAR moved, MSI enabled, INTx disabled).
    public var configurationWritten: ((_ offset: Int, _ size: Int) -> Void)?

    public init(vendorID: UInt16, deviceID: UInt16, classCode: UInt32, revision: UInt8) {
        put(0x00, UInt32(vendorID), 2); put(0x02, UInt32(deviceID), 2)
        put(0x08, UInt32(revision) | classCode << 8, 4)
        writable[0x04] = 0xFF; writable[0x05] = 0x07          // command
        writable[0x0C] = 0xFF; writable[0x0D] = 0xFF          // cache line size, latency timer
        writable[0x3C] = 0xFF                                 // interrupt line
    }

    private func put(_ offset: Int, _ v: UInt32, _ size: Int) {
        for k in 0..<size { space[offset + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
    }

    public func read(offset: Int, size: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<size where offset + k < 256 { v |= UInt32(space[offset + k]) << (8 * k) }
        return v
    }

    /// A guest configuration write: only writable bits change.
    public func write(offset: Int, size: Int, value: UInt32) {
        for k in 0..<size where offset + k < 256 {
            let i = offset + k
            let b = UInt8(truncatingIfNeeded: value >> (8 * k))
            space[i] = (space[i] & ~writable[i]) | (b & writable[i])
        }
        configurationWritten?(offset, size)
    }

    /// What firmware leaves in a register (BAR bases, interrupt line, command), ignoring the
    /// write masks and without notifying the device.
    public func firmwareSet(offset: Int, size: Int, value: UInt32) { put(offset, value, size) }

    // MARK: Registers devices consult

    public var command: UInt16 { UInt16(read(offset: Header.command, size: 2)) }

    /// Declares BAR `index` a 32-bit, non-prefetchable memory BAR of `size` bytes (a power of
    /// two, at least 16): the bits below the size read as zero, so writing all ones reads
    /// back the size mask (§6.2.5.1).
    public func defineMemoryBAR(_ index: Int, size: UInt32) {
        precondition(size.nonzeroBitCount == 1 && size >= 16 && (0..<6).contains(index))
        barSizes[index] = size
        let mask = ~(size - 1)
        for k in 0..<4 { writable[Header.bar0 + 4 * index + k] = UInt8(truncatingIfNeeded: mask >> (8 * k)) }
    }

    /// The base address BAR `index` decodes now, nil while memory decoding is off.
    public func memoryBARBase(_ index: Int) -> UInt64? {
        guard barSizes[index] != nil, command & Command.memorySpace != 0 else { return nil }
        return UInt64(read(offset: Header.bar0 + 4 * index, size: 4) & ~0xF)
    }

    /// INTx pin (1 = INTA#) the function uses.
    public func setInterruptPin(_ pin: UInt8) { space[Header.interruptPin] = pin }

    /// Status bit 3, Interrupt Status: the function's INTx# is asserted (§6.2.3).
    public func setInterruptStatus(_ asserted: Bool) {
        if asserted { space[Header.status] |= 1 << 3 } else { space[Header.status] &= ~(1 << 3) }
    }

    /// Adds a 64-bit-address, single-vector MSI capability at `offset` and links it as the
    /// first capability (status bit 4 "Capabilities List", pointer at 34H).
    public func addMSICapability(at offset: Int) {
        precondition(offset >= 0x40 && offset + MSI.length <= 256)
        space[offset] = MSI.capabilityID
        space[offset + 1] = space[Header.capabilitiesPointer]
        space[Header.capabilitiesPointer] = UInt8(offset)
        space[Header.status] |= 1 << 4
        put(offset + MSI.control, UInt32(MSI.address64), 2)
        writable[offset + MSI.control] = 0x71                   // enable, multiple message enable
        writable[offset + MSI.addressLow] = 0xFC                // DWORD-aligned address
        for k in 1..<8 { writable[offset + MSI.addressLow + k] = 0xFF }
        writable[offset + MSI.data] = 0xFF; writable[offset + MSI.data + 1] = 0xFF
        msiOffset = offset
    }

    /// The MSI message the function sends, when MSI is enabled.
    public var msiMessage: MSIMessage? {
        guard let o = msiOffset, UInt16(read(offset: o + MSI.control, size: 2)) & MSI.enable != 0 else { return nil }
        let address = UInt64(read(offset: o + MSI.addressLow, size: 4)) | UInt64(read(offset: o + MSI.addressHigh, size: 4)) << 32
        return MSIMessage(address: address, data: read(offset: o + MSI.data, size: 2))
    }
}
