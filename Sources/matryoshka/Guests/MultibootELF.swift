/// Writes a Multiboot 1 kernel as an ELF32 executable with one loadable segment.
///
/// The Multiboot header (Multiboot Specification 0.6.96 §3.1.1) must sit in the first 8192
/// bytes of the file, 4-byte aligned; the segment's first bytes hold it. Both QEMU's `-kernel`
/// and GRUB's `multiboot` command load such an image by its program header (ELF32, §3.1.3
/// "The address fields of Multiboot header" are then not needed).
struct MultibootELF {
    /// Multiboot header magic and the flags we request: bit 0 (page-align modules) and
    /// bit 1 (memory information in the boot information structure).
    static let headerMagic: UInt32 = 0x1BAD_B002
    static let headerFlags: UInt32 = 0x0000_0003

    /// The 12-byte Multiboot header: magic, flags, checksum (the three sum to zero mod 2³²).
    static var header: [UInt8] {
        let checksum = 0 &- (headerMagic &+ headerFlags)
        return [headerMagic, headerFlags, checksum].flatMap { le32($0) }
    }

    /// An ELF32 (EM_386) executable whose single PT_LOAD segment places `segment` at physical
    /// and virtual address `loadAddress`, with `bssSize` zero bytes after it.
    static func image(segment: [UInt8], loadAddress: UInt32, entry: UInt32, bssSize: UInt32 = 0) -> [UInt8] {
        let fileOffset: UInt32 = 0x1000
        var out: [UInt8] = []
        // ELF header (System V ABI, "ELF Header").
        out += [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += le16(2) + le16(3) + le32(1)            // ET_EXEC, EM_386, EV_CURRENT
        out += le32(entry) + le32(52) + le32(0)       // e_entry, e_phoff, e_shoff
        out += le32(0) + le16(52) + le16(32) + le16(1) // e_flags, e_ehsize, e_phentsize, e_phnum
        out += le16(40) + le16(0) + le16(0)            // e_shentsize, e_shnum, e_shstrndx
        // Program header: PT_LOAD, RWX.
        out += le32(1) + le32(fileOffset) + le32(loadAddress) + le32(loadAddress)
        out += le32(UInt32(segment.count)) + le32(UInt32(segment.count) &+ bssSize) + le32(7) + le32(0x1000)
        out += [UInt8](repeating: 0, count: Int(fileOffset) - out.count)
        out += segment
        return out
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
