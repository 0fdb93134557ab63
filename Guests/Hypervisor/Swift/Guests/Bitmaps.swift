/// The I/O and MSR bitmaps every L2 shares.
enum Bitmaps {
    nonisolated(unsafe) static var ioA: UInt64 = 0
    nonisolated(unsafe) static var ioB: UInt64 = 0
    nonisolated(unsafe) static var msr: UInt64 = 0
    /// The one port L2 reaches directly: 80H, the POST diagnostic port.
    static let passThroughPort: UInt16 = 0x80
    static let fsBase: UInt32 = 0xC000_0100
    static let gsBase: UInt32 = 0xC000_0101

    /// SDM Vol. 3C §25.6.4 ("I/O-Bitmap Addresses"): bitmap A covers ports 0000H–7FFFH, B
    /// 8000H–FFFFH, a set bit makes the port's IN/OUT exit. Every port exits but 80H.
    /// §25.6.9 ("MSR-Bitmap Address"): four 1-KiB bitmaps — read low (MSRs 0–1FFFH), read high
    /// (C0000000H–C0001FFFH), write low, write high. Every MSR exits but IA32_FS_BASE and
    /// IA32_GS_BASE, which VM entry and exit load and save anyway (§27.3.2.1, §28.3.2).
    static func create() {
        ioA = PageAllocator.allocate()
        ioB = PageAllocator.allocate()
        msr = PageAllocator.allocate()
        fill(ioA); fill(ioB); fill(msr)
        clear(ioA, bit: UInt64(passThroughPort))
        clear(msr, bit: UInt64(fsBase & 0x1FFF) + 1024 * 8)
        clear(msr, bit: UInt64(gsBase & 0x1FFF) + 1024 * 8)
        clear(msr, bit: UInt64(fsBase & 0x1FFF) + 3072 * 8)
        clear(msr, bit: UInt64(gsBase & 0x1FFF) + 3072 * 8)
    }

    static func fill(_ page: UInt64) {
        UnsafeMutableRawPointer(bitPattern: UInt(page))!.initializeMemory(as: UInt8.self, repeating: 0xFF, count: 4096)
    }

    static func clear(_ page: UInt64, bit: UInt64) {
        let byte = Physical.pointer(page + bit / 8, as: UInt8.self)
        byte.pointee &= ~(1 << UInt8(bit % 8))
    }
}
