import CPU

/// A device decoding a range of I/O ports.
public protocol PortIODevice: AnyObject {
    /// IN of `size` bytes (1, 2 or 4) from `port` (an absolute port number).
    func ioRead(port: UInt16, size: Int) -> UInt32
    /// OUT of `size` bytes (1, 2 or 4) to `port`.
    func ioWrite(port: UInt16, size: Int, value: UInt32)
}

/// A device decoding a range of physical addresses.
public protocol MMIODevice: AnyObject {
    /// A read of `size` bytes (1, 2, 4 or 8) at `offset` from the start of the device's window.
    func mmioRead(offset: UInt64, size: Int) -> UInt64
    /// A write of `size` bytes at `offset` from the start of the device's window.
    func mmioWrite(offset: UInt64, size: Int, value: UInt64)
}

/// The PC's I/O-port space and MMIO windows: routes each access to the device mapped there.
/// Unclaimed ports read as all ones and ignore writes (ISA open bus); unclaimed physical
/// addresses outside RAM are open bus too (the processor supplies all ones).
public final class PlatformBus: DeviceBus {
    public enum MapError: Error, CustomStringConvertible {
        case portsOverlap(ClosedRange<UInt16>)
        case mmioOverlap(Range<UInt64>)
        public var description: String {
            switch self {
            case .portsOverlap(let r):
                return "I/O ports 0x\(String(r.lowerBound, radix: 16))-0x\(String(r.upperBound, radix: 16)) are already claimed"
            case .mmioOverlap(let r):
                return "MMIO window 0x\(String(r.lowerBound, radix: 16))-0x\(String(r.upperBound, radix: 16)) overlaps another device"
            }
        }
    }

    /// Per-port index into `portDevices` (0 = none).
    private var portMap = [UInt16](repeating: 0, count: 0x10000)
    private var portDevices: [PortIODevice] = []
    private var mmio: [(range: Range<UInt64>, device: MMIODevice)] = []

    /// Count of accesses to unclaimed ports (for diagnostics).
    public private(set) var unclaimedPortAccesses = 0

    public init() {}

    public func map(ports: ClosedRange<UInt16>, to device: PortIODevice) throws {
        for p in ports where portMap[Int(p)] != 0 { throw MapError.portsOverlap(ports) }
        portDevices.append(device)
        let idx = UInt16(portDevices.count)
        for p in ports { portMap[Int(p)] = idx }
    }

    public func map(mmio range: Range<UInt64>, to device: MMIODevice) throws {
        for m in mmio where m.range.overlaps(range) { throw MapError.mmioOverlap(range) }
        mmio.append((range, device))
    }

    /// The device claiming `port`, if any.
    public func device(at port: UInt16) -> PortIODevice? {
        let i = portMap[Int(port)]
        return i == 0 ? nil : portDevices[Int(i) - 1]
    }

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        if let d = device(at: port) { return d.ioRead(port: port, size: size) }
        unclaimedPortAccesses += 1
        return size >= 4 ? 0xFFFF_FFFF : (size == 2 ? 0xFFFF : 0xFF)
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        if let d = device(at: port) { d.ioWrite(port: port, size: size, value: value); return }
        unclaimedPortAccesses += 1
    }

    /// A 4-KiB window whose base moves at run time, consulted before the fixed map: the
    /// local APIC of the accessing processor relocated through IA32_APIC_BASE (SDM Vol. 3A
    /// §12.4.4). `base` gives the page now decoded, or nil.
    public var relocatedWindow: (base: () -> UInt64?, device: MMIODevice)?

    private func relocated(_ address: UInt64) -> MMIODevice? {
        guard let w = relocatedWindow, let base = w.base(), address & ~0xFFF == base else { return nil }
        return w.device
    }

    /// Windows a guest places itself — PCI memory BARs (PCI 3.0 §6.2.5.1): `size` bytes
    /// (a power of two) at whatever `base` returns now, or nowhere while it returns nil (memory
    /// decoding off). Consulted after the fixed map, so a BAR cannot shadow a fixed device.
    private var movable: [(size: UInt64, base: () -> UInt64?, device: MMIODevice)] = []

    public func map(movableWindowOfSize size: UInt64, base: @escaping () -> UInt64?, to device: MMIODevice) {
        movable.append((size, base, device))
    }

    /// The movable window decoding `address`, and the offset into it.
    private func movableWindow(_ address: UInt64) -> (MMIODevice, UInt64)? {
        for w in movable {
            if let b = w.base(), address >= b, address - b < w.size { return (w.device, address - b) }
        }
        return nil
    }

    public func mmioRead(address: UInt64, size: Int) -> UInt64? {
        if let d = relocated(address) { return d.mmioRead(offset: address & 0xFFF, size: size) }
        for m in mmio where m.range.contains(address) {
            return m.device.mmioRead(offset: address - m.range.lowerBound, size: size)
        }
        if let (d, offset) = movableWindow(address) { return d.mmioRead(offset: offset, size: size) }
        return nil
    }

    @discardableResult
    public func mmioWrite(address: UInt64, size: Int, value: UInt64) -> Bool {
        if let d = relocated(address) {
            d.mmioWrite(offset: address & 0xFFF, size: size, value: value)
            return true
        }
        for m in mmio where m.range.contains(address) {
            m.device.mmioWrite(offset: address - m.range.lowerBound, size: size, value: value)
            return true
        }
        if let (d, offset) = movableWindow(address) {
            d.mmioWrite(offset: offset, size: size, value: value)
            return true
        }
        return false
    }

    /// True when a device claims `address`.
    public func claims(address: UInt64) -> Bool {
        relocated(address) != nil || mmio.contains { $0.range.contains(address) } || movableWindow(address) != nil
    }
}
