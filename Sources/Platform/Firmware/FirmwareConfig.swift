/// QEMU's firmware configuration interface ("fw_cfg", QEMU docs/specs/fw_cfg.rst: the
/// traditional I/O interface): a 16-bit selector written to port 0x510 picks an item whose
/// bytes are then read one at a time from port 0x511. Items not defined read as 0.
public final class FirmwareConfig: PortIODevice {
    public static let selectorPort: UInt16 = 0x510
    public static let dataPort: UInt16 = 0x511

    /// Item keys (fw_cfg.rst "Selector Register" and QEMU's fw_cfg_keys.h).
    public enum Key: UInt16, Sendable {
        case signature = 0x00, id = 0x01, ramSize = 0x03, noGraphic = 0x04, cpuCount = 0x05
        case maxCPUs = 0x0F, maxRAM = 0x11
    }

    private var items: [UInt16: [UInt8]] = [:]
    private var selected: UInt16 = 0
    private var offset = 0

    public init(ramSize: UInt64, cpuCount: Int) {
        set(.signature, Array("QEMU".utf8))
        set(.id, Self.le(1, 4))                 // traditional interface only, no DMA
        set(.ramSize, Self.le(ramSize, 8))
        set(.noGraphic, Self.le(1, 2))
        set(.cpuCount, Self.le(UInt64(cpuCount), 2))
        set(.maxCPUs, Self.le(UInt64(cpuCount), 2))
    }

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    public func set(_ key: Key, _ bytes: [UInt8]) { items[key.rawValue] = bytes }

    public var ports: ClosedRange<UInt16> { Self.selectorPort...Self.dataPort }

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        guard port == Self.dataPort else { return 0 }
        var v: UInt32 = 0
        for k in 0..<size {
            var b: UInt8 = 0
            if let item = items[selected], offset < item.count { b = item[offset] }
            offset += 1
            v |= UInt32(b) << (8 * UInt32(k))
        }
        return v
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        guard port == Self.selectorPort else { return }   // the data port is read-only here
        selected = UInt16(truncatingIfNeeded: value)
        offset = 0
    }
}
