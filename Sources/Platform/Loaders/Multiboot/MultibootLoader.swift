import CPU

/// Loads a Multiboot 1 kernel (Multiboot Specification 0.6.96: §3.1 header, §3.2 machine
/// state, §3.3 boot information) from an ELF32/ELF64 image or with the a.out-kludge address
/// fields (flags bit 16), with a command line, modules and a memory map.
public enum MultibootLoader {
    public static let headerMagic: UInt32 = 0x1BAD_B002
    public static let bootloaderMagic: UInt32 = 0x2BAD_B002
    /// Boot information, command lines, the module list and the memory map go in a
    /// page-aligned area after the kernel's highest byte (as QEMU's loader places them),
    /// sized for what it holds: the 0x100-byte structure, then each item 16-byte aligned.
    static func infoAreaSize(commandLine: String, modules: [Module], mapEntries: Int) -> UInt64 {
        func item(_ n: Int) -> UInt64 { (UInt64(n) + 15) & ~15 }
        var size: UInt64 = 0x100 + item(commandLine.utf8.count + 1) + item(bootLoaderName.count)
        size += modules.reduce(0) { $0 + item($1.commandLine.utf8.count + 1) } + item(16 * modules.count)
        size += item(24 * mapEntries)
        return (size + 0xFFF) & ~0xFFF
    }

    static let bootLoaderName = Array("Matryoshka".utf8) + [0]
    /// Modules are placed page-aligned from 16 MiB upward unless the kernel is there.
    static let moduleFloor: UInt64 = 0x100_0000

    public struct Module: Sendable {
        public var bytes: [UInt8]
        public var commandLine: String
        public init(bytes: [UInt8], commandLine: String) {
            self.bytes = bytes
            self.commandLine = commandLine
        }
    }

    struct Header {
        var offset: Int
        var flags: UInt32
        var headerAddr: UInt32, loadAddr: UInt32, loadEndAddr: UInt32, bssEndAddr: UInt32, entryAddr: UInt32
    }

    static func u32(_ d: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(d[o + $1]) << (8 * UInt32($1)) } }

    /// Finds the header: 4-byte aligned in the first 8192 bytes (§3.1.1).
    static func findHeader(_ d: [UInt8]) throws -> Header {
        var o = 0
        while o + 12 <= min(d.count, 8192) {
            if u32(d, o) == headerMagic {
                let flags = u32(d, o + 4)
                guard headerMagic &+ flags &+ u32(d, o + 8) == 0 else { throw LoaderError.badMultibootChecksum }
                // Bits 0 (align modules), 1 (memory info), 16 (address fields) are supported;
                // bit 2 (video mode) and other required bits are not.
                guard flags & 0xFFFF & ~0x3 == 0 else { throw LoaderError.unsupportedMultibootFlags(flags) }
                var h = Header(offset: o, flags: flags, headerAddr: 0, loadAddr: 0, loadEndAddr: 0, bssEndAddr: 0, entryAddr: 0)
                if flags & (1 << 16) != 0 {
                    guard o + 32 <= d.count else { throw LoaderError.truncated(what: "Multiboot address fields", size: d.count) }
                    h.headerAddr = u32(d, o + 12); h.loadAddr = u32(d, o + 16); h.loadEndAddr = u32(d, o + 20)
                    h.bssEndAddr = u32(d, o + 24); h.entryAddr = u32(d, o + 28)
                }
                return h
            }
            o += 4
        }
        throw LoaderError.noMultibootHeader
    }

    /// True when `d` carries a Multiboot header.
    public static func isMultiboot(_ d: [UInt8]) -> Bool { (try? findHeader(d)) != nil }

    /// Loads the kernel and modules into `memory`, writes the boot information and returns the
    /// machine state the Multiboot spec prescribes (§3.2).
    public static func load(image d: [UInt8], commandLine: String, modules: [Module],
                            into memory: PhysicalMemory, memoryMap: [MemoryRegion]) throws -> BootState {
        let header = try findHeader(d)
        // The top of RAM the memory map reports (memory above it may belong to the hypervisor).
        let ram = memoryMap.filter { $0.type == 1 }.map { $0.base &+ $0.length }.max() ?? memory.size
        var kernelEnd: UInt64 = 0
        var entry: UInt64
        func place(_ what: String, _ addr: UInt64, _ bytes: ArraySlice<UInt8>, memSize: UInt64) throws {
            let (end, ov) = addr.addingReportingOverflow(memSize)
            guard !ov, end <= ram, memory.isRAM(addr) else {
                throw LoaderError.doesNotFit(what: what, address: addr, size: memSize, ramSize: ram)
            }
            try memory.write(Array(bytes), at: addr)
            if memSize > UInt64(bytes.count) {
                try memory.write([UInt8](repeating: 0, count: Int(memSize - UInt64(bytes.count))), at: addr + UInt64(bytes.count))
            }
            kernelEnd = max(kernelEnd, end)
        }
        if header.flags & (1 << 16) != 0 {
            // a.out kludge (§3.1.3): file offset of header_addr is header.offset.
            let h = header
            guard h.loadAddr <= h.headerAddr, h.headerAddr - h.loadAddr <= UInt32(h.offset) else {
                throw LoaderError.unsupportedELF("Multiboot load_addr/header_addr are inconsistent")
            }
            let fileStart = h.offset - Int(h.headerAddr - h.loadAddr)
            let loadLength = h.loadEndAddr == 0 ? d.count - fileStart
                : Int(h.loadEndAddr >= h.loadAddr ? h.loadEndAddr - h.loadAddr : 0)
            guard fileStart + loadLength <= d.count else { throw LoaderError.truncated(what: "Multiboot load range", size: d.count) }
            let bssEnd = UInt64(h.bssEndAddr)
            let memSize = max(UInt64(loadLength), bssEnd > UInt64(h.loadAddr) ? bssEnd - UInt64(h.loadAddr) : 0)
            try place("kernel", UInt64(h.loadAddr), d[fileStart..<fileStart + loadLength], memSize: memSize)
            entry = UInt64(h.entryAddr)
        } else {
            let elf = try ELFImage(d)
            for (k, s) in elf.segments.enumerated() {
                try place("ELF segment \(k)", s.physicalAddress,
                          d[Int(s.fileOffset)..<Int(s.fileOffset + s.fileSize)], memSize: s.memorySize)
            }
            entry = elf.entry
        }

        // Boot information structure (§3.3) and its strings and tables, after the kernel.
        let infoAddress = (kernelEnd + 0xFFF) & ~0xFFF
        let infoSize = infoAreaSize(commandLine: commandLine, modules: modules, mapEntries: memoryMap.count)
        let infoAreaEnd = infoAddress + infoSize
        guard infoAreaEnd <= ram else {
            throw LoaderError.doesNotFit(what: "boot information (command line, module list, memory map)",
                                         address: infoAddress, size: infoSize, ramSize: ram)
        }
        kernelEnd = infoAreaEnd
        var info = [UInt8](repeating: 0, count: 88)
        var cursor = infoAddress + 0x100
        func put32(_ o: Int, _ v: UInt32) { for k in 0..<4 { info[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }
        func store(_ bytes: [UInt8]) throws -> UInt32 {
            let at = cursor
            precondition(at + UInt64(bytes.count) <= infoAreaEnd, "infoAreaSize counts every item stored")
            try memory.write(bytes, at: at)
            cursor = (cursor + UInt64(bytes.count) + 15) & ~15
            return UInt32(at)
        }
        var flags: UInt32 = 1 | (1 << 2)                    // mem_*, cmdline
        let lower = memoryMap.first { $0.type == 1 && $0.base == 0 }.map { min($0.length, 0xA0000) } ?? 0x9FC00
        let upper = memoryMap.first { $0.type == 1 && $0.base == 0x10_0000 }?.length ?? (ram - 0x10_0000)
        put32(4, UInt32(lower / 1024))
        put32(8, UInt32(min(upper / 1024, UInt64(UInt32.max))))
        put32(16, try store(Array(commandLine.utf8) + [0]))
        // Modules, page-aligned above the kernel (and above 16 MiB).
        if !modules.isEmpty {
            var next = (max(kernelEnd, moduleFloor) + 0xFFF) & ~0xFFF
            var list: [UInt8] = []
            for (k, m) in modules.enumerated() {
                let size = UInt64(m.bytes.count)
                guard next + size <= ram else {
                    throw LoaderError.doesNotFit(what: "module \(k)", address: next, size: size, ramSize: ram)
                }
                try memory.write(m.bytes, at: next)
                let cmd = try store(Array(m.commandLine.utf8) + [0])
                for v in [UInt32(next), UInt32(next + size), cmd, 0] {
                    list += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) }
                }
                next = (next + size + 0xFFF) & ~0xFFF
            }
            flags |= 1 << 3
            put32(20, UInt32(modules.count))
            put32(24, try store(list))
        }
        // Memory map (§3.3: size, base_addr, length, type), flag bit 6.
        var mmap: [UInt8] = []
        for r in memoryMap {
            var e = [UInt8](repeating: 0, count: 24)
            let fields: [(Int, UInt64, Int)] = [(0, 20, 4), (4, r.base, 8), (12, r.length, 8), (20, UInt64(r.type), 4)]
            for (o, v, n) in fields { for k in 0..<n { e[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }
            mmap += e
        }
        flags |= 1 << 6
        put32(44, UInt32(mmap.count))
        put32(48, try store(mmap))
        put32(64, try store(bootLoaderName))                   // boot_loader_name, bit 9
        flags |= 1 << 9
        put32(0, flags)
        try memory.write(info, at: infoAddress)
        return BootState.multiboot(entry: entry, infoAddress: infoAddress)
    }
}
