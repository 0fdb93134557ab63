import CPU

/// A device bus for test guests: records port I/O, serves reads from a table, and maps
/// optional MMIO callbacks.
final class TestBus: DeviceBus {
    var portWrites: [(port: UInt16, size: Int, value: UInt32)] = []
    var portReads: [UInt16: UInt32] = [:]
    var mmioReads: [(UInt64, Int)] = []
    var mmioWrites: [(UInt64, Int, UInt64)] = []
    var mmioHandler: ((UInt64, Int) -> UInt64?)?

    func ioRead(port: UInt16, size: Int) -> UInt32 {
        portReads[port] ?? (size == 4 ? 0xFFFF_FFFF : (size == 2 ? 0xFFFF : 0xFF))
    }
    /// Called on each port write (to act as a device during a run).
    var onIOWrite: ((UInt16, UInt32) -> Void)?
    func ioWrite(port: UInt16, size: Int, value: UInt32) {
        portWrites.append((port, size, value))
        onIOWrite?(port, value)
    }
    func mmioRead(address: UInt64, size: Int) -> UInt64? {
        mmioReads.append((address, size))
        return mmioHandler?(address, size)
    }
    func mmioWrite(address: UInt64, size: Int, value: UInt64) -> Bool {
        mmioWrites.append((address, size, value))
        return mmioHandler != nil
    }
}
