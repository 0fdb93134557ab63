import CPU

/// Boots an uncompressed ELF kernel at its PVH entry point, as QEMU's `-kernel vmlinux` does:
/// Xen's x86 HVM direct boot ABI (Xen docs/misc/pvh.pandoc; public/elfnote.h,
/// public/arch-x86/hvm/start_info.h). The image announces the entry with a "Xen" ELF note of
/// type XEN_ELFNOTE_PHYS32_ENTRY (18) holding a 32-bit physical address; the loader places the
/// PT_LOAD segments at their physical addresses, an `hvm_start_info` (version 1) with the
/// command line, the initrd as the first module, the memory map and the RSDP address, and enters
/// in 32-bit protected mode with paging off, EBX = the start info's physical address.
/// A Linux vmlinux built with CONFIG_PVH (Debian's is) boots this way without its decompressor.
public enum PVHBoot {
    public static let entryNoteName = "Xen"
    public static let entryNoteType: UInt32 = 18
    /// hvm_start_info.magic: "xEn3" with the top bit of 'E' set.
    public static let startInfoMagic: UInt32 = 0x336E_C578

    /// Low memory, below the EBDA and away from the IVT/BDA and Linux's real-mode trampoline:
    /// start info (56 bytes), the module list (one 32-byte entry), the memory map (24 bytes an
    /// entry), then the command line in the 64 KiB at 20000H.
    public static let startInfoAddress: UInt64 = 0x6000
    static let moduleListAddress: UInt64 = 0x6040
    static let memoryMapAddress: UInt64 = 0x6080
    static let memoryMapLimit = 128
    static let commandLineAddress: UInt64 = 0x2_0000
    static let commandLineRoom = 0x1_0000

    /// The PVH entry point `file` announces, nil without the note (a malformed note or ELF
    /// header is an error).
    public static func entryPoint(_ file: [UInt8]) throws -> UInt64? {
        let elf = try ELFImage(file)
        return try entryPoint(elf, file)
    }

    static func entryPoint(_ elf: ELFImage, _ file: [UInt8]) throws -> UInt64? {
        guard let note = try ELFNote.notes(of: elf, in: file).first(where: { $0.name == entryNoteName && $0.type == entryNoteType }) else {
            return nil
        }
        let d = note.descriptor
        let value: UInt64
        switch d.count {
        case 4: value = ELFImage.u32(d, 0)
        case 8: value = ELFImage.u64(d, 0)
        default: throw LoaderError.badPVHEntryNote(descriptorSize: d.count)
        }
        guard value <= UInt64(UInt32.max) else { throw LoaderError.badPVHEntryNote(descriptorSize: d.count) }
        return value
    }

    /// hvm_start_info v1: magic, version, flags, nr_modules, modlist_paddr, cmdline_paddr,
    /// rsdp_paddr, memmap_paddr, memmap_entries, reserved — 56 bytes.
    static func startInfo(modules: Int, commandLine: UInt64, rsdp: UInt64, memoryMapEntries: Int) -> [UInt8] {
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        return le(UInt64(startInfoMagic), 4) + le(1, 4) + le(0, 4) + le(UInt64(modules), 4)
            + le(modules > 0 ? moduleListAddress : 0, 8) + le(commandLine, 8) + le(rsdp, 8)
            + le(memoryMapAddress, 8) + le(UInt64(memoryMapEntries), 4) + le(0, 4)
    }

    /// Loads `file` and returns the PVH entry state. Every segment must lie inside one usable
    /// RAM region of `memoryMap`; the initrd goes page-aligned at the top of the highest RAM
    /// region below 4 GiB (where QEMU puts it), above the kernel.
    public static func load(image file: [UInt8], commandLine: String, initrd: [UInt8]?, into memory: PhysicalMemory,
                            memoryMap: [MemoryRegion], rsdpAddress: UInt64) throws -> BootState {
        let elf = try ELFImage(file)
        guard let entry = try entryPoint(elf, file) else {
            throw LoaderError.unsupportedELF("no XEN_ELFNOTE_PHYS32_ENTRY note (a PVH entry point)")
        }
        let ram = memoryMap.filter { $0.type == 1 }
        let ramTop = ram.map { $0.base &+ $0.length }.max() ?? 0
        func inRAM(_ start: UInt64, _ size: UInt64) -> Bool {
            let (end, ov) = start.addingReportingOverflow(size)
            return !ov && ram.contains { start >= $0.base && end <= $0.base + $0.length }
        }
        var kernelEnd: UInt64 = 0
        var entryLoaded = false
        for (k, s) in elf.segments.enumerated() {
            guard inRAM(s.physicalAddress, s.memorySize) else {
                throw LoaderError.doesNotFit(what: "ELF segment \(k)", address: s.physicalAddress, size: s.memorySize, ramSize: ramTop)
            }
            try memory.write(Array(file[Int(s.fileOffset)..<Int(s.fileOffset + s.fileSize)]), at: s.physicalAddress)
            if s.memorySize > s.fileSize {
                try memory.write([UInt8](repeating: 0, count: Int(s.memorySize - s.fileSize)), at: s.physicalAddress + s.fileSize)
            }
            kernelEnd = max(kernelEnd, s.physicalAddress + s.memorySize)
            if entry >= s.physicalAddress && entry < s.physicalAddress + s.memorySize { entryLoaded = true }
        }
        guard entryLoaded else { throw LoaderError.pvhEntryOutsideImage(entry) }

        let cmd = Array(commandLine.utf8) + [0]
        guard cmd.count <= commandLineRoom else {
            throw LoaderError.doesNotFit(what: "kernel command line", address: commandLineAddress, size: UInt64(cmd.count), ramSize: ramTop)
        }
        try memory.write(cmd, at: commandLineAddress)

        var modules = 0
        if let rd = initrd, !rd.isEmpty {
            let size = UInt64(rd.count)
            let below4G = ram.filter { $0.base < 1 << 32 }.max { $0.base < $1.base }
            let top = below4G.map { min($0.base + $0.length, 1 << 32) } ?? 0
            guard let region = below4G, size <= top - max(region.base, kernelEnd),
                  (top - size) & ~0xFFF >= max(region.base, kernelEnd) else {
                throw LoaderError.doesNotFit(what: "initrd", address: kernelEnd, size: size, ramSize: ramTop)
            }
            let start = (top - size) & ~0xFFF
            try memory.write(rd, at: start)
            // hvm_modlist_entry: paddr, size, cmdline_paddr (none), reserved.
            var entry = [UInt8](repeating: 0, count: 32)
            for k in 0..<8 { entry[k] = UInt8(truncatingIfNeeded: start >> (8 * UInt64(k))) }
            for k in 0..<8 { entry[8 + k] = UInt8(truncatingIfNeeded: size >> (8 * UInt64(k))) }
            try memory.write(entry, at: moduleListAddress)
            modules = 1
        }

        // hvm_memmap_table_entry: addr, size, type (E820 numbering), reserved.
        let map = memoryMap.prefix(memoryMapLimit)
        var table: [UInt8] = []
        for r in map {
            for (v, n) in [(r.base, 8), (r.length, 8), (UInt64(r.type), 4), (0, 4)] {
                table += (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
            }
        }
        try memory.write(table, at: memoryMapAddress)
        try memory.write(startInfo(modules: modules, commandLine: commandLineAddress, rsdp: rsdpAddress, memoryMapEntries: map.count),
                         at: startInfoAddress)
        return BootState(mode: .protected32, entry: entry, rbx: startInfoAddress)
    }
}
