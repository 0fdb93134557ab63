import CPU

/// Loads a Linux bzImage for the 64-bit boot protocol (Linux Documentation/arch/x86/boot.rst,
/// "The Linux/x86 Boot Protocol" §"64-bit Boot Protocol"): the protected-mode kernel at its
/// preferred address, a zero page (`struct boot_params`) with the setup header, an E820 map,
/// command line and initrd, identity-mapped page tables and a GDT with __BOOT_CS/__BOOT_DS.
/// Every field read from the file is bounds-checked; a bad image is a `LinuxImageError`.
public enum LinuxBootProtocol {
    /// Where the loader puts its own structures (low memory, below the 640 KiB hole).
    public static let gdtAddress: UInt64 = 0x500
    public static let bootParamsAddress: UInt64 = 0x7000
    public static let pageTablesAddress: UInt64 = 0x9000     // PML4, PDPT, 4 PDs: 0x9000–0xEFFF
    public static let commandLineAddress: UInt64 = 0x2_0000
    /// The first 4 GiB are identity-mapped with 2 MiB pages.
    static let identityMappedBytes: UInt64 = 4 << 30

    /// Setup-header offsets within the image (= within boot_params).
    enum Header {
        static let setupSects = 0x1F1, sysSize = 0x1F4, bootFlag = 0x1FE, jump = 0x200, magic = 0x202, version = 0x206
        static let typeOfLoader = 0x210, loadFlags = 0x211, ramdiskImage = 0x218, ramdiskSize = 0x21C
        static let heapEndPtr = 0x224, cmdLinePtr = 0x228, initrdAddrMax = 0x22C, kernelAlignment = 0x230
        static let relocatable = 0x234, xloadflags = 0x236, cmdlineSize = 0x238, prefAddress = 0x258
        static let initSize = 0x260
    }
    /// boot_params offsets outside the setup header.
    enum ZeroPage {
        static let extRamdiskImage = 0x0C0, extRamdiskSize = 0x0C4, extCmdLinePtr = 0x0C8
        static let e820Entries = 0x1E8, e820Table = 0x2D0, e820Max = 128
    }

    /// "HdrS", and the protocol version that introduced xloadflags (64-bit entry).
    public static let headerMagic: UInt32 = 0x5372_6448
    static let minimumVersion: UInt16 = 0x020C

    /// What the vCPU needs to start the kernel in 64-bit mode.
    public struct BootPlan: Equatable, Sendable {
        public var entry: UInt64
        public var bootParams: UInt64
        public var pageTableRoot: UInt64
        public var gdtBase: UInt64
        public var gdtLimit: UInt16
        public var kernelAddress: UInt64
        public var initrd: Range<UInt64>?
        /// __BOOT_CS and __BOOT_DS.
        public static let codeSelector: UInt16 = 0x10
        public static let dataSelector: UInt16 = 0x18
    }

    static func u8(_ d: [UInt8], _ o: Int) -> UInt8 { d[o] }
    public static func readU32(_ d: [UInt8], _ o: Int) -> UInt32 { u32(d, o) }
    static func u16(_ d: [UInt8], _ o: Int) -> UInt16 { UInt16(d[o]) | UInt16(d[o + 1]) << 8 }
    static func u32(_ d: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(d[o + $1]) << (8 * $1) } }
    static func u64(_ d: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(d[o + $1]) << (8 * $1) } }

    /// Loads `image` into `memory` and returns the boot plan.
    public static func load(image: [UInt8], commandLine: String, initrd: [UInt8]?, into memory: PhysicalMemory,
                            memoryMap: [MemoryRegion]) throws -> BootPlan {
        guard image.count >= Header.initSize + 4 else { throw LinuxImageError.truncated(size: image.count) }
        guard u16(image, Header.bootFlag) == 0xAA55 else { throw LinuxImageError.badBootFlag }
        guard u32(image, Header.magic) == headerMagic else { throw LinuxImageError.notABzImage }
        let version = u16(image, Header.version)
        guard version >= minimumVersion else { throw LinuxImageError.protocolTooOld(version) }
        guard u16(image, Header.xloadflags) & 1 != 0 else { throw LinuxImageError.no64BitEntry }
        var setupSects = Int(u8(image, Header.setupSects))
        if setupSects == 0 { setupSects = 4 }
        let kernelOffset = (setupSects + 1) * 512
        guard kernelOffset < image.count else { throw LinuxImageError.setupBeyondFile(sectors: setupSects) }
        // syssize: the protected-mode code's size in 16-byte units (32 bits since protocol
        // 2.04); the file must hold all of it, or the kernel decompresses garbage.
        let declared = UInt64(u32(image, Header.sysSize)) * 16
        guard declared <= UInt64(image.count - kernelOffset) else {
            throw LinuxImageError.kernelTruncated(declared: declared, present: UInt64(image.count - kernelOffset))
        }
        let kernel = Array(image[kernelOffset...])
        let initSize = UInt64(u32(image, Header.initSize))
        var loadAddress = u64(image, Header.prefAddress)
        if loadAddress == 0 { loadAddress = 0x10_0000 }
        let alignment = UInt64(max(u32(image, Header.kernelAlignment), 4096))
        // The kernel decompresses in place and needs init_size bytes from its load address.
        let footprint = max(initSize, UInt64(kernel.count))
        let ramTop = memoryMap.filter { $0.type == 1 }.map { $0.base &+ $0.length }.max() ?? memory.size
        guard loadAddress & (alignment - 1) == 0 || u8(image, Header.relocatable) != 0 else {
            throw LinuxImageError.misalignedLoadAddress(loadAddress)
        }
        guard loadAddress < ramTop, footprint <= ramTop - loadAddress, loadAddress + footprint <= identityMappedBytes else {
            throw LinuxImageError.kernelDoesNotFit(address: loadAddress, size: footprint, ram: ramTop)
        }
        try memory.write(kernel, at: loadAddress)

        // Zero page: the setup header copied from the image, then the loader's fields.
        var zp = [UInt8](repeating: 0, count: 4096)
        let headerEnd = min(0x202 + Int(image[Header.jump + 1]), image.count, 4096)
        for k in Header.setupSects..<headerEnd { zp[k] = image[k] }
        func put32(_ o: Int, _ v: UInt32) { for k in 0..<4 { zp[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        func put64(_ o: Int, _ v: UInt64) { for k in 0..<8 { zp[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        zp[Header.typeOfLoader] = 0xFF                       // undefined boot loader
        zp[Header.loadFlags] |= 0x01 | 0x80                  // LOADED_HIGH, CAN_USE_HEAP
        zp[Header.heapEndPtr] = 0x00; zp[Header.heapEndPtr + 1] = 0xFE   // 0xFE00 - 0x200

        let cmdlineMax = Int(u32(image, Header.cmdlineSize))
        let cmd = Array(commandLine.utf8)
        guard cmd.count <= (cmdlineMax == 0 ? 255 : cmdlineMax) else {
            throw LinuxImageError.commandLineTooLong(length: cmd.count, maximum: cmdlineMax)
        }
        try memory.write(cmd + [0], at: commandLineAddress)
        put32(Header.cmdLinePtr, UInt32(commandLineAddress))

        var initrdRange: Range<UInt64>?
        if let rd = initrd, !rd.isEmpty {
            let maxAddr = UInt64(u32(image, Header.initrdAddrMax))
            let limit = min(maxAddr == 0 ? 0x37FF_FFFF : maxAddr, ramTop - 1, identityMappedBytes - 1)
            let size = UInt64(rd.count)
            guard size <= limit else { throw LinuxImageError.initrdDoesNotFit(size: size) }
            let start = (limit + 1 - size) & ~0xFFF
            guard start >= loadAddress + footprint else { throw LinuxImageError.initrdDoesNotFit(size: size) }
            try memory.write(rd, at: start)
            put32(Header.ramdiskImage, UInt32(truncatingIfNeeded: start))
            put32(Header.ramdiskSize, UInt32(truncatingIfNeeded: size))
            put32(ZeroPage.extRamdiskImage, UInt32(truncatingIfNeeded: start >> 32))
            put32(ZeroPage.extRamdiskSize, UInt32(truncatingIfNeeded: size >> 32))
            initrdRange = start..<(start + size)
        }

        let map = memoryMap.prefix(ZeroPage.e820Max)
        zp[ZeroPage.e820Entries] = UInt8(map.count)
        for (k, r) in map.enumerated() {
            let o = ZeroPage.e820Table + k * 20
            put64(o, r.base); put64(o + 8, r.length); put32(o + 16, r.type)
        }
        try memory.write(zp, at: bootParamsAddress)

        try writeGDT(memory)
        try writeIdentityMap(memory)
        return BootPlan(entry: loadAddress + 0x200, bootParams: bootParamsAddress, pageTableRoot: pageTablesAddress,
                        gdtBase: gdtAddress, gdtLimit: 4 * 8 - 1, kernelAddress: loadAddress, initrd: initrdRange)
    }

    /// GDT: null, null, __BOOT_CS (64-bit code), __BOOT_DS (flat data).
    static func writeGDT(_ memory: PhysicalMemory) throws {
        let entries: [UInt64] = [0, 0, 0x00AF_9B00_0000_FFFF, 0x00CF_9300_0000_FFFF]
        for (k, e) in entries.enumerated() { try memory.store(e, at: gdtAddress + UInt64(k) * 8) }
    }

    /// PML4 → PDPT → 4 page directories of 2 MiB pages covering the first 4 GiB.
    static func writeIdentityMap(_ memory: PhysicalMemory) throws {
        let pml4 = pageTablesAddress, pdpt = pml4 + 0x1000, pd = pml4 + 0x2000
        try memory.write([UInt8](repeating: 0, count: 6 * 4096), at: pml4)
        try memory.store(pdpt | 3, at: pml4)
        for g in 0..<4 {
            try memory.store((pd + UInt64(g) * 0x1000) | 3, at: pdpt + UInt64(g) * 8)
            for k in 0..<512 {
                let frame = (UInt64(g) << 30) | (UInt64(k) << 21)
                try memory.store(frame | 0x83, at: pd + UInt64(g) * 0x1000 + UInt64(k) * 8)
            }
        }
    }
}

/// Why a bzImage cannot be booted.
public enum LinuxImageError: Error, CustomStringConvertible, Equatable {
    case truncated(size: Int)
    case badBootFlag
    case notABzImage
    case protocolTooOld(UInt16)
    case no64BitEntry
    case setupBeyondFile(sectors: Int)
    case kernelTruncated(declared: UInt64, present: UInt64)
    case misalignedLoadAddress(UInt64)
    case kernelDoesNotFit(address: UInt64, size: UInt64, ram: UInt64)
    case commandLineTooLong(length: Int, maximum: Int)
    case initrdDoesNotFit(size: UInt64)

    public var description: String {
        switch self {
        case .truncated(let s): return "Linux image is truncated (\(s) bytes, shorter than the setup header)"
        case .badBootFlag: return "Linux image has no 0xAA55 boot flag at offset 0x1FE"
        case .notABzImage: return "not a bzImage: no \"HdrS\" setup-header magic at offset 0x202"
        case .protocolTooOld(let v):
            let minor = v & 0xFF
            return "Linux boot protocol \(v >> 8).\(minor < 10 ? "0" : "")\(minor) is too old (2.12 or later is needed for 64-bit entry)"
        case .no64BitEntry: return "Linux image does not support the 64-bit entry point (XLF_KERNEL_64 clear)"
        case .setupBeyondFile(let n): return "Linux setup code (\(n) sectors) extends beyond the end of the image"
        case .kernelTruncated(let d, let p):
            return "Linux image is truncated: its setup header (syssize) declares \(d) bytes of protected-mode kernel after the setup code, the file holds \(p)"
        case .misalignedLoadAddress(let a): return "non-relocatable kernel's preferred address 0x\(String(a, radix: 16)) is misaligned"
        case .kernelDoesNotFit(let a, let s, let r):
            return "kernel needs 0x\(String(s, radix: 16)) bytes at 0x\(String(a, radix: 16)) but RAM ends at 0x\(String(r, radix: 16))"
        case .commandLineTooLong(let l, let m): return "kernel command line is \(l) bytes; the kernel accepts at most \(m)"
        case .initrdDoesNotFit(let s): return "initrd of \(s) bytes does not fit in RAM below the kernel's initrd limit"
        }
    }
}
