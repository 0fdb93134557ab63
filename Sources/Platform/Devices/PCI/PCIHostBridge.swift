/// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2, "Configuration
/// Mechanism #1"): CONFIG_ADDRESS at 0xCF8 (32-bit only) and CONFIG_DATA at 0xCFC–0xCFF, with
/// the host bridge itself as bus 0 device 0 (an Intel 440FX-compatible PMC, as QEMU's `pc`
/// machine has, or a Q35 MCH for `q35`). Functions without a device read as all ones (a master
/// abort).
public final class PCIHostBridge: PortIODevice {
    public static let addressPort: UInt16 = 0xCF8
    public static let dataPorts: ClosedRange<UInt16> = 0xCFC...0xCFF

    /// CONFIG_ADDRESS: bit 31 enable, bus 23:16, device 15:11, function 10:8, register 7:2.
    /// Bits 1:0 are kept and ORed into the register offset, as QEMU's host bridges do:
    /// kvm-unit-tests selects a 16-bit register at offset 2 by writing 0x...02 and reading
    /// 0xCFC.
    public private(set) var configAddress: UInt32 = 0
    private var functions: [UInt32: PCIFunction] = [:]

    /// The chipset whose host bridge answers at 00:00.0 (class 06 00 00, host bridge).
    public enum Chipset: Sendable {
        /// QEMU's `pc`: Intel 440FX PMC, 8086:1237.
        case i440fx
        /// QEMU's `q35`: Intel Q35 (82G33) memory controller hub, 8086:29C0.
        case q35

        var deviceID: UInt16 { self == .i440fx ? 0x1237 : 0x29C0 }
    }

    public let chipset: Chipset

    public init(chipset: Chipset = .i440fx) {
        self.chipset = chipset
        attach(PCIFunction(vendorID: 0x8086, deviceID: chipset.deviceID, classCode: 0x06_0000, revision: 0x02),
               bus: 0, device: 0, function: 0)
    }

    /// The function at bus/device/function, if one is attached.
    public func function(bus: UInt8, device: UInt8, function: UInt8) -> PCIFunction? {
        functions[Self.key(bus: bus, device: device, function: function)]
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
        let offset = Int(configAddress & 0xFF) | Int(port - 0xCFC)
        return f.read(offset: offset, size: size) & mask
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        if port == Self.addressPort {
            // Only a 32-bit access reaches CONFIG_ADDRESS; narrower ones are ordinary I/O.
            if size == 4 { configAddress = value & 0x80FF_FFFF }
            return
        }
        guard let f = selected else { return }
        let offset = Int(configAddress & 0xFF) | Int(port - 0xCFC)
        f.write(offset: offset, size: size, value: value)
    }
}
