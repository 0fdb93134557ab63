import CPU

/// A PCI bus master's view of memory: what its DMA reads and writes reach. `requester` is
/// the device's source-id (bus 15:8, device 7:3, function 2:0), which a remapping unit uses
/// to find the device's translation (VT-d spec §3.4.1 "Source Identifier"). A nil read or a
/// false write means the request was aborted (no memory there, or the translation faulted).
public protocol DMAAddressSpace: AnyObject {
    func dmaRead(_ address: UInt64, count: Int, requester: UInt16) -> [UInt8]?
    func dmaWrite(_ bytes: [UInt8], at address: UInt64, requester: UInt16) -> Bool
}

/// Guest RAM as a device reaches it without remapping: only RAM below `top` (the end of the
/// guest's memory: L0's own region above it is never reachable), never a device window.
public final class GuestRAM: DMAAddressSpace {
    public let memory: PhysicalMemory
    public let top: UInt64

    public init(memory: PhysicalMemory, top: UInt64) {
        self.memory = memory
        self.top = top
    }

    /// True when every byte of [address, address + count) is guest RAM.
    public func isRAM(_ address: UInt64, count: Int) -> Bool {
        guard count > 0, address < top, UInt64(count) <= top - address else { return false }
        var page = address & ~0xFFF
        let last = address + UInt64(count) - 1
        while page <= last {
            if !memory.isRAM(max(page, address)) { return false }
            page += 0x1000
        }
        return true
    }

    public func read(_ address: UInt64, count: Int) -> [UInt8]? {
        guard isRAM(address, count: count) else { return nil }
        return try? memory.read(at: address, length: count)
    }

    public func write(_ bytes: [UInt8], at address: UInt64) -> Bool {
        guard isRAM(address, count: bytes.count) else { return false }
        return (try? memory.write(bytes, at: address)) != nil
    }

    /// A little-endian 64-bit value in RAM at `base + offset` (the remapping unit's table
    /// reads); nil when that is not RAM or the sum overflows (a table based near 2^64).
    public func load64(_ base: UInt64, _ offset: UInt64 = 0) -> UInt64? {
        let (address, overflow) = base.addingReportingOverflow(offset)
        guard !overflow, isRAM(address, count: 8) else { return nil }
        return try? memory.load(UInt64.self, at: address)
    }

    public func dmaRead(_ address: UInt64, count: Int, requester: UInt16) -> [UInt8]? { read(address, count: count) }
    public func dmaWrite(_ bytes: [UInt8], at address: UInt64, requester: UInt16) -> Bool { write(bytes, at: address) }
}
