/// The code symbols of an ELF32 or ELF64 file's `.symtab` (System V ABI "Sections" and
/// "Symbol Table"), for naming guest addresses: functions (STT_FUNC) and untyped labels
/// (STT_NOTYPE, as assembly entry points are) defined in a section. Every offset, size and
/// name is checked against the file; a file without a symbol table has no symbols.
public struct ELFSymbolTable: Sendable {
    public struct Symbol: Equatable, Sendable {
        public var name: String
        public var address: UInt64
        /// st_size; 0 when the symbol does not give one (the next symbol bounds it).
        public var size: UInt64
    }

    /// Sorted by address.
    public private(set) var symbols: [Symbol]

    /// The largest distance `lookup` accepts past a symbol of unknown size.
    public static let unsizedReach: UInt64 = 1 << 16

    public init(_ d: [UInt8]) throws {
        let is64 = try ELFImage.checkedClass(d)
        let u16 = ELFImage.u16, u32 = ELFImage.u32, u64 = ELFImage.u64
        let shoff = is64 ? u64(d, 40) : u32(d, 32)
        let shentsize = u16(d, is64 ? 58 : 46)
        let shnum = u16(d, is64 ? 60 : 48)
        guard shoff != 0 && shnum != 0 else { symbols = []; return }
        guard shentsize >= (is64 ? 64 : 40) else { throw LoaderError.unsupportedELF("section header size \(shentsize)") }
        try Self.checkRange(d, shoff, shentsize * shnum, "ELF section headers")

        struct Section { var type: UInt64, offset: UInt64, size: UInt64, link: Int, entsize: UInt64 }
        func section(_ k: Int) -> Section {
            let o = Int(shoff) + k * Int(shentsize)
            return is64
                ? Section(type: u32(d, o + 4), offset: u64(d, o + 24), size: u64(d, o + 32), link: Int(u32(d, o + 40)), entsize: u64(d, o + 56))
                : Section(type: u32(d, o + 4), offset: u32(d, o + 16), size: u32(d, o + 20), link: Int(u32(d, o + 24)), entsize: u32(d, o + 36))
        }
        guard let symtab = (0..<Int(shnum)).map(section).first(where: { $0.type == 2 }) else { symbols = []; return }   // SHT_SYMTAB
        guard symtab.link < Int(shnum) else { throw LoaderError.unsupportedELF("symbol table links to section \(symtab.link) of \(shnum)") }
        let strtab = section(symtab.link)
        let entsize: UInt64 = is64 ? 24 : 16
        guard symtab.entsize == entsize else { throw LoaderError.unsupportedELF("symbol entry size \(symtab.entsize)") }
        try Self.checkRange(d, symtab.offset, symtab.size, "ELF symbol table")
        try Self.checkRange(d, strtab.offset, strtab.size, "ELF string table")

        var found: [Symbol] = []
        for k in 0..<Int(symtab.size / entsize) {
            let o = Int(symtab.offset) + k * Int(entsize)
            let nameOffset = u32(d, o)
            let info = d[o + (is64 ? 4 : 12)]
            let shndx = u16(d, o + (is64 ? 6 : 14))
            let value = is64 ? u64(d, o + 8) : u32(d, o + 4)
            let size = is64 ? u64(d, o + 16) : u32(d, o + 8)
            let type = info & 0xF
            guard type == 2 || type == 0, shndx != 0, shndx < 0xFF00, nameOffset != 0 else { continue }   // FUNC/NOTYPE, defined
            guard nameOffset < strtab.size else { throw LoaderError.truncated(what: "ELF symbol \(k)'s name", size: d.count) }
            let start = Int(strtab.offset + nameOffset), end = Int(strtab.offset + strtab.size)
            guard let nul = d[start..<end].firstIndex(of: 0) else { throw LoaderError.unsupportedELF("symbol \(k)'s name is not terminated") }
            let name = String(decoding: d[start..<nul], as: UTF8.self)
            guard !name.hasPrefix(".") else { continue }
            found.append(Symbol(name: name, address: value, size: size))
        }
        // Sized symbols first at an address, so an alias without a size does not shadow them.
        symbols = found.sorted { ($0.address, $0.size == 0 ? 1 : 0, $0.name) < ($1.address, $1.size == 0 ? 1 : 0, $1.name) }
    }

    static func checkRange(_ d: [UInt8], _ offset: UInt64, _ size: UInt64, _ what: String) throws {
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= UInt64(d.count) else { throw LoaderError.truncated(what: what, size: d.count) }
    }

    /// The symbol containing `address` and the offset into it: the last symbol at or below it,
    /// if `address` lies within its st_size, or (size unknown) before the next symbol and
    /// within `unsizedReach`.
    public func lookup(_ address: UInt64) -> (symbol: Symbol, offset: UInt64)? {
        var lo = 0, hi = symbols.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if symbols[mid].address <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        // Among symbols at the same address, prefer the first (a sized one).
        var k = lo - 1
        while k > 0 && symbols[k - 1].address == symbols[k].address { k -= 1 }
        let s = symbols[k], offset = address - s.address
        if s.size != 0 { return offset < s.size ? (s, offset) : nil }
        return offset < Self.unsizedReach ? (s, offset) : nil
    }
}
