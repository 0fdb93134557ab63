/// The devices side of the machine as the processor sees it: port I/O and memory-mapped
/// I/O by callback (the platform implements it; the processor never knows which device).
public protocol DeviceBus: AnyObject {
    /// IN from `port` of `size` bytes (1, 2 or 4).
    func ioRead(port: UInt16, size: Int) -> UInt32
    /// OUT to `port` of `size` bytes (1, 2 or 4).
    func ioWrite(port: UInt16, size: Int, value: UInt32)
    /// A read of `size` bytes (1, 2, 4 or 8) from a physical address that is not RAM;
    /// nil means no device answers (open bus: all ones).
    func mmioRead(address: UInt64, size: Int) -> UInt64?
    /// A write to a physical address that is not RAM; false means no device took it.
    @discardableResult
    func mmioWrite(address: UInt64, size: Int, value: UInt64) -> Bool
}

/// A bus with no devices: ports read as all ones, memory outside RAM is open bus.
public final class EmptyBus: DeviceBus {
    public init() {}
    public func ioRead(port: UInt16, size: Int) -> UInt32 { size == 4 ? 0xFFFF_FFFF : (size == 2 ? 0xFFFF : 0xFF) }
    public func ioWrite(port: UInt16, size: Int, value: UInt32) {}
    public func mmioRead(address: UInt64, size: Int) -> UInt64? { nil }
    public func mmioWrite(address: UInt64, size: Int, value: UInt64) -> Bool { false }
}

/// The machine's physical memory: one page-aligned host allocation holding RAM at
/// physical addresses [0, size), minus the windows (`holes`) where devices decode
/// addresses instead (e.g. the local APIC and IOAPIC pages below 4 GiB).
///
/// It also tracks which physical pages hold decoded guest code, so that stores to them
/// invalidate the decode cache (self-modifying and cross-modifying code).
public final class PhysicalMemory: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let size: UInt64
    public private(set) var holes: [Range<UInt64>] = []
    /// One byte per 4 KiB page: non-zero when decoded blocks exist for the page.
    let codePages: UnsafeMutablePointer<UInt8>
    let pageCount: Int
    /// Processors whose caches must hear about code-page writes.
    var observers: [CodePageObserver] = []

    public enum Error: Swift.Error, CustomStringConvertible {
        case sizeOutOfRange(UInt64)
        case allocationFailed(UInt64)
        public var description: String {
            switch self {
            case .sizeOutOfRange(let s): return "memory size \(s) bytes is out of range (1 MiB ... 128 GiB, multiple of 4 KiB)"
            case .allocationFailed(let s): return "could not allocate \(s) bytes of guest memory"
            }
        }
    }

    public init(size: UInt64) throws {
        // 128 GiB: a 64-GiB guest's RAM with the PCI hole below 4 GiB and L0's region above it.
        guard size >= 1 << 20, size <= 128 << 30, size & 0xFFF == 0 else { throw Error.sizeOutOfRange(size) }
        self.size = size
        // mmap gives lazily committed, zeroed pages; large guests cost only what they touch.
        guard let p = hostAllocateZeroed(Int(size)) else { throw Error.allocationFailed(size) }
        base = p
        pageCount = Int(size >> 12)
        codePages = .allocate(capacity: pageCount)
        codePages.initialize(repeating: 0, count: pageCount)
    }

    deinit {
        hostFree(base, Int(size))
        codePages.deallocate()
    }

    /// Declares a device window: physical addresses in `range` are not RAM.
    public func addHole(_ range: Range<UInt64>) {
        holes.append(range)
    }

    /// True when `address` is backed by RAM.
    public func isRAM(_ address: UInt64) -> Bool {
        guard address < size else { return false }
        for h in holes where h.contains(address) { return false }
        return true
    }

    /// Host pointer for a RAM physical address (nil for holes and beyond RAM).
    public func pointer(to address: UInt64) -> UnsafeMutableRawPointer? {
        isRAM(address) ? base + Int(address) : nil
    }

    // MARK: Loader / device access (not the guest's view: no paging, no EPT)

    /// Copies bytes into RAM; throws when any byte falls outside RAM.
    public func write(_ bytes: [UInt8], at address: UInt64) throws {
        guard address <= size, UInt64(bytes.count) <= size - address else {
            throw AccessError.outOfRange(address: address, length: UInt64(bytes.count))
        }
        bytes.withUnsafeBytes { src in
            if let s = src.baseAddress { (base + Int(address)).copyMemory(from: s, byteCount: bytes.count) }
        }
        noteWrite(address, length: UInt64(bytes.count))
    }

    /// Copies `length` bytes out of RAM.
    public func read(at address: UInt64, length: Int) throws -> [UInt8] {
        guard address <= size, UInt64(length) <= size - address else {
            throw AccessError.outOfRange(address: address, length: UInt64(length))
        }
        return Array(UnsafeRawBufferPointer(start: base + Int(address), count: length))
    }

    public func load<T: FixedWidthInteger>(_ type: T.Type, at address: UInt64) throws -> T {
        guard address <= size, UInt64(MemoryLayout<T>.size) <= size - address else {
            throw AccessError.outOfRange(address: address, length: UInt64(MemoryLayout<T>.size))
        }
        return T(littleEndian: (base + Int(address)).loadUnaligned(as: T.self))
    }

    public func store<T: FixedWidthInteger>(_ value: T, at address: UInt64) throws {
        guard address <= size, UInt64(MemoryLayout<T>.size) <= size - address else {
            throw AccessError.outOfRange(address: address, length: UInt64(MemoryLayout<T>.size))
        }
        (base + Int(address)).storeBytes(of: value.littleEndian, as: T.self)
        noteWrite(address, length: UInt64(MemoryLayout<T>.size))
    }

    public enum AccessError: Swift.Error, CustomStringConvertible {
        case outOfRange(address: UInt64, length: UInt64)
        public var description: String {
            switch self {
            case .outOfRange(let a, let l):
                return "physical range 0x\(String(a, radix: 16))+0x\(String(l, radix: 16)) is outside guest RAM"
            }
        }
    }

    // MARK: Code-page tracking

    func isCodePage(_ page: Int) -> Bool { codePages[page] != 0 }

    /// A non-processor write (DMA, loader, L0) to RAM: drop decoded code it overwrites.
    public func noteWrite(_ address: UInt64, length: UInt64) {
        guard length > 0 else { return }
        var page = Int(address >> 12)
        let last = Int((address + length - 1) >> 12)
        while page <= last && page < pageCount {
            if codePages[page] != 0 { invalidateCode(page: page) }
            page += 1
        }
    }

    func invalidateCode(page: Int) {
        codePages[page] = 0
        decodeCache.invalidate(page: page)
    }

    /// The decoded-block cache shared by every processor using this memory.
    lazy var decodeCache = DecodeCache(memory: self)

    func markCode(page: Int) {
        if codePages[page] == 0 {
            codePages[page] = 1
            for o in observers { o.object.codePageCreated(page) }
        }
    }
}

/// Hears that a page now holds decoded code (a processor's TLB must stop caching writes to it).
protocol CodePageListener: AnyObject {
    func codePageCreated(_ page: Int)
}

/// A processor listening for code-page events. Not a weak reference: a weakly referenced
/// object gets a side table, and every retain and release of it (the VM's run loop handles
/// its processors on each exit) then takes the slow path. The processor detaches itself in
/// its deinit instead (`DecodeCache.detach`).
struct CodePageObserver {
    unowned(unsafe) let object: any CodePageListener
    let id: ObjectIdentifier
}
