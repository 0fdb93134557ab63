/// An ELF32 or ELF64 executable's loadable segments (System V ABI "ELF Header" and "Program
/// Header"), parsed with every offset and size checked against the file.
public struct ELFImage: Equatable, Sendable {
    public struct Segment: Equatable, Sendable {
        /// Physical load address (p_paddr).
        public var physicalAddress: UInt64
        public var fileOffset: UInt64
        public var fileSize: UInt64
        public var memorySize: UInt64
    }

    public var is64: Bool
    public var entry: UInt64
    public var segments: [Segment]
    /// File byte ranges of the PT_NOTE segments (checked to lie within the file).
    public var noteSegments: [Range<UInt64>] = []

    static func u16(_ d: [UInt8], _ o: Int) -> UInt64 { UInt64(d[o]) | UInt64(d[o + 1]) << 8 }
    static func u32(_ d: [UInt8], _ o: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(d[o + $1]) << (8 * UInt64($1)) } }
    static func u64(_ d: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(d[o + $1]) << (8 * UInt64($1)) } }

    /// True when `d` starts with the ELF magic.
    public static func isELF(_ d: [UInt8]) -> Bool {
        d.count >= 4 && d[0] == 0x7F && d[1] == 0x45 && d[2] == 0x4C && d[3] == 0x46
    }

    /// The ELF identification and header size checks every reader needs: true for ELF64,
    /// false for ELF32.
    static func checkedClass(_ d: [UInt8]) throws -> Bool {
        guard Self.isELF(d) else { throw LoaderError.notELF }
        guard d.count >= 52 else { throw LoaderError.truncated(what: "ELF header", size: d.count) }
        guard d[5] == 1 else { throw LoaderError.unsupportedELF("not little-endian") }
        let is64: Bool
        switch d[4] {
        case 1: is64 = false
        case 2: is64 = true
        default: throw LoaderError.unsupportedELF("ELF class \(d[4])")
        }
        if is64 && d.count < 64 { throw LoaderError.truncated(what: "ELF64 header", size: d.count) }
        return is64
    }

    public init(_ d: [UInt8]) throws {
        is64 = try Self.checkedClass(d)
        let type = Self.u16(d, 16)
        guard type == 2 else { throw LoaderError.unsupportedELF("e_type \(type) is not an executable") }
        let machine = Self.u16(d, 18)
        guard machine == (is64 ? 62 : 3) else { throw LoaderError.unsupportedELF("e_machine \(machine) is not x86") }
        entry = is64 ? Self.u64(d, 24) : Self.u32(d, 24)
        let phoff = is64 ? Self.u64(d, 32) : Self.u32(d, 28)
        let phentsize = Self.u16(d, is64 ? 54 : 42)
        let phnum = Self.u16(d, is64 ? 56 : 44)
        guard phentsize >= (is64 ? 56 : 32) else { throw LoaderError.unsupportedELF("program header size \(phentsize)") }
        let (tableSize, o1) = phentsize.multipliedReportingOverflow(by: phnum)
        let (tableEnd, o2) = phoff.addingReportingOverflow(tableSize)
        guard !o1, !o2, tableEnd <= UInt64(d.count) else { throw LoaderError.truncated(what: "ELF program headers", size: d.count) }
        var segs: [Segment] = []
        for k in 0..<Int(phnum) {
            let o = Int(phoff) + k * Int(phentsize)
            if Self.u32(d, o) == 4 {                              // PT_NOTE
                let (offset, size) = is64 ? (Self.u64(d, o + 8), Self.u64(d, o + 32)) : (Self.u32(d, o + 4), Self.u32(d, o + 16))
                let (end, ov) = offset.addingReportingOverflow(size)
                guard !ov, end <= UInt64(d.count) else {
                    throw LoaderError.truncated(what: "ELF note segment \(k) (file bytes 0x\(String(offset, radix: 16))+0x\(String(size, radix: 16)))", size: d.count)
                }
                noteSegments.append(offset..<end)
                continue
            }
            guard Self.u32(d, o) == 1 else { continue }           // PT_LOAD
            let s: Segment
            if is64 {
                s = Segment(physicalAddress: Self.u64(d, o + 24), fileOffset: Self.u64(d, o + 8),
                            fileSize: Self.u64(d, o + 32), memorySize: Self.u64(d, o + 40))
            } else {
                s = Segment(physicalAddress: Self.u32(d, o + 12), fileOffset: Self.u32(d, o + 4),
                            fileSize: Self.u32(d, o + 16), memorySize: Self.u32(d, o + 20))
            }
            let (end, ov) = s.fileOffset.addingReportingOverflow(s.fileSize)
            guard !ov, end <= UInt64(d.count) else {
                throw LoaderError.truncated(what: "ELF segment \(k) (file bytes 0x\(String(s.fileOffset, radix: 16))+0x\(String(s.fileSize, radix: 16)))", size: d.count)
            }
            guard s.fileSize <= s.memorySize else { throw LoaderError.unsupportedELF("segment \(k) has p_filesz > p_memsz") }
            segs.append(s)
        }
        guard !segs.isEmpty else { throw LoaderError.unsupportedELF("no loadable segments") }
        segments = segs
    }
}
