/// L1's physical memory manager: 4-KiB pages handed out upwards from the end of the image, never
/// freed (the demo's needs are fixed), zeroed, under a lock since processors allocate
/// concurrently (EPT violations).
enum PageAllocator {
    static let pageSize: UInt64 = 4096
    nonisolated(unsafe) static var next: UInt64 = 0
    nonisolated(unsafe) static var limit: UInt64 = 0
    nonisolated(unsafe) static var lock = SpinLock()

    /// Pages from the end of the image up to `memoryTop` (exclusive).
    static func initialize(memoryTop: UInt64) {
        next = (imageEndAddress() + pageSize - 1) & ~(pageSize - 1)
        limit = memoryTop & ~(pageSize - 1)
    }

    /// `count` contiguous zeroed pages; powers off when memory is exhausted.
    static func allocate(pages count: UInt64 = 1) -> UInt64 {
        let address: UInt64 = lock.withLock {
            guard next + count * pageSize <= limit else { return 0 }
            let a = next
            next += count * pageSize
            return a
        }
        if address == 0 {
            Console.say("L1: out of memory for page tables and guest memory")
            PowerOff.failure()
        }
        UnsafeMutableRawPointer(bitPattern: UInt(address))!.initializeMemory(as: UInt8.self, repeating: 0, count: Int(count * pageSize))
        return address
    }

    static var bytesInUse: UInt64 { next - ((imageEndAddress() + pageSize - 1) & ~(pageSize - 1)) }
}
