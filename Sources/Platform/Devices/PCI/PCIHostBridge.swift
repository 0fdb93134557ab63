/// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2, "Configuration
/// Mechanism #1"): CONFIG_ADDRESS at 0xCF8 (32-bit only) and CONFIG_DATA at 0xCFC–0xCFF, with
/// the host bridge itself as bus 0 device 0 (an Intel 440FX-compatible PMC, as QEMU's `pc`
/// machine has). Functions without a device read as all ones (a master abort).
public final class PCIHostBridge: PortIODevice {
    public static let addressPort: UInt16 = 0xCF8
    public static let dataPorts: ClosedRange<UInt16> = 0xCFC...0xCFF

    /// CONFIG_ADDRESS: bit 31 enable, bus 23:16, device 15:11, function 10:8, register 7:2.
    public private(set) var configAddress: UInt32 = 0
    private var functions: [UInt32: PCIFunction] = [:]

    public init() {
        // 00:00.0 — host bridge: vendor 8086, device 1237, class 06 00 00 (host bridge).
        attach(PCIFunction(vendorID: 0x8086, deviceID: 0x1237, classCode: 0x06_0000, revision: 0x02),
               bus: 0, device: 0, function: 0)
    }

    /// Places a function in configuration space.
    public func attach(_ f: PCIFunction, bus: UInt8, device: UInt8, function: UInt8) {
        functions[Self.key(bus: bus, device: device, function: function)] = f
    }

    static func key(bus: UInt8, device: UInt8, function: UInt8) -> UInt32 {
        UInt32(bus) << 16 | UInt32(device & 0x1F) << 11 | UInt32(function & 7) << 8
    }

    private var selected: PCIFunction? {
        guard configAddress & (1 << 31) != 0 else { return nil }
        return functions[configAddress & 0x00FF_FF00]
    }

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        if port == Self.addressPort {
            return size == 4 ? configAddress : 0xFFFF_FFFF >> UInt32(32 - 8 * size)
        }
        let mask: UInt32 = size == 4 ? 0xFFFF_FFFF : (1 << UInt32(8 * size)) - 1
        guard let f = selected else { return mask }
        let offset = Int(configAddress & 0xFC) + Int(port - 0xCFC)
        return f.read(offset: offset, size: size) & mask
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        if port == Self.addressPort {
            // Only a 32-bit access reaches CONFIG_ADDRESS; narrower ones are ordinary I/O.
            if size == 4 { configAddress = value & 0x80FF_FFFC }
            return
        }
        guard let f = selected else { return }
        let offset = Int(configAddress & 0xFC) + Int(port - 0xCFC)
        f.write(offset: offset, size: size, value: value)
    }
}

/// One PCI function's 256-byte type-0 configuration header (PCI 3.0 §6.1).
public final class PCIFunction {
    private var space = [UInt8](repeating: 0, count: 256)
    /// Per-byte write masks: only the command/status-style registers a guest may change.
    private var writable = [UInt8](repeating: 0, count: 256)

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

    func read(offset: Int, size: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<size where offset + k < 256 { v |= UInt32(space[offset + k]) << (8 * k) }
        return v
    }

    func write(offset: Int, size: Int, value: UInt32) {
        for k in 0..<size where offset + k < 256 {
            let i = offset + k
            let b = UInt8(truncatingIfNeeded: value >> (8 * k))
            space[i] = (space[i] & ~writable[i]) | (b & writable[i])
        }
    }
}
