import CPU

/// L1's guest-physical memory as L0 reaches it on L1's behalf: vmcs12 regions, the bitmaps and
/// MSR lists vmcs12 names, EPT12. Only RAM EPT01 maps is reachable — below L1's RAM top and
/// outside device windows — so a hostile L1 pointing a structure at L0's own region (EPT01's
/// tables, EPT02, bitmap copies) or at a device window reads nothing and writes nothing.
/// Reads of anything else return nil; callers give those the meaning the SDM gives an access
/// to non-existent memory for that structure (all ones, usually).
public struct L1Memory: @unchecked Sendable {
    public let memory: PhysicalMemory
    /// The end of L1's RAM (EPT01 maps nothing at or above it).
    public let ramTop: UInt64

    public init(memory: PhysicalMemory, ramTop: UInt64) {
        self.memory = memory
        self.ramTop = ramTop
    }

    /// `length` bytes at `address` are all L1 RAM (device windows are page aligned, so the
    /// first and last byte decide for ranges up to a page).
    public func isRAM(_ address: UInt64, length: UInt64 = 1) -> Bool {
        guard length > 0, address < ramTop, length <= ramTop - address else { return false }
        return memory.isRAM(address) && memory.isRAM(address + length - 1)
    }

    public func load<T: FixedWidthInteger>(_: T.Type, at address: UInt64) -> T? {
        guard isRAM(address, length: UInt64(MemoryLayout<T>.size)) else { return nil }
        return try? memory.load(T.self, at: address)
    }

    @discardableResult
    public func store<T: FixedWidthInteger>(_ value: T, at address: UInt64) -> Bool {
        guard isRAM(address, length: UInt64(MemoryLayout<T>.size)) else { return false }
        return (try? memory.store(value, at: address)) != nil
    }

    /// A byte of a bitmap (I/O, MSR, VMREAD/VMWRITE): nil when not L1 RAM.
    public func byte(at address: UInt64) -> UInt8? { load(UInt8.self, at: address) }

    /// A 4-KByte page copied out of L1 RAM (nil when any of it is not RAM).
    public func page(at address: UInt64) -> [UInt8]? {
        guard address & 0xFFF == 0, isRAM(address, length: 4096) else { return nil }
        return try? memory.read(at: address, length: 4096)
    }
}
