import XCTest
@testable import Platform

/// `ELFSymbolTable`: the code symbols of ELF32 and ELF64 files, lookups by address, and
/// malformed symbol tables rejected with a precise error.
final class ELFSymbolTableTests: XCTestCase {
    struct Sym { var name: String, value: UInt64, size: UInt64, type: UInt8, shndx: UInt16 = 1 }

    /// An executable with no program headers' worth of code, just [null, .symtab, .strtab]
    /// sections: `symtabLink` and `entsize` can be overridden to build malformed files.
    static func elf(is64: Bool, _ syms: [Sym], symtabLink: UInt32 = 2, entsize: UInt64? = nil,
                    unterminatedLastName: Bool = false) -> [UInt8] {
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        var strtab: [UInt8] = [0]
        var offsets: [UInt64] = []
        for s in syms { offsets.append(UInt64(strtab.count)); strtab += Array(s.name.utf8) + [0] }
        if unterminatedLastName { strtab.removeLast() }
        var symtab = [UInt8](repeating: 0, count: is64 ? 24 : 16)          // the null symbol
        for (s, o) in zip(syms, offsets) {
            symtab += is64
                ? le(o, 4) + [s.type, 0] + le(UInt64(s.shndx), 2) + le(s.value, 8) + le(s.size, 8)
                : le(o, 4) + le(s.value, 4) + le(s.size, 4) + [s.type, 0] + le(UInt64(s.shndx), 2)
        }
        let headerSize = is64 ? 64 : 52
        let strOff = UInt64(headerSize), symOff = strOff + UInt64(strtab.count)
        let shOff = symOff + UInt64(symtab.count)
        let shentsize = is64 ? 64 : 40
        var h = [0x7F, 0x45, 0x4C, 0x46, is64 ? 2 : 1, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        h += le(2, 2) + le(is64 ? 62 : 3, 2) + le(1, 4)
        if is64 {
            h += le(0x10_0000, 8) + le(0, 8) + le(shOff, 8) + le(0, 4) + le(64, 2) + le(56, 2) + le(0, 2)
        } else {
            h += le(0x10_0000, 4) + le(0, 4) + le(shOff, 4) + le(0, 4) + le(52, 2) + le(32, 2) + le(0, 2)
        }
        h += le(UInt64(shentsize), 2) + le(3, 2) + le(0, 2)
        func section(type: UInt64, offset: UInt64, size: UInt64, link: UInt32, entsize: UInt64) -> [UInt8] {
            is64 ? le(0, 4) + le(type, 4) + le(0, 8) + le(0, 8) + le(offset, 8) + le(size, 8) + le(UInt64(link), 4) + le(0, 4) + le(8, 8) + le(entsize, 8)
                 : le(0, 4) + le(type, 4) + le(0, 4) + le(0, 4) + le(offset, 4) + le(size, 4) + le(UInt64(link), 4) + le(0, 4) + le(4, 4) + le(entsize, 4)
        }
        var out = h + strtab + symtab
        out += [UInt8](repeating: 0, count: shentsize)
        out += section(type: 2, offset: symOff, size: UInt64(symtab.count), link: symtabLink, entsize: entsize ?? (is64 ? 24 : 16))
        out += section(type: 3, offset: strOff, size: UInt64(strtab.count), link: 0, entsize: 0)
        return out
    }

    static let symbols = [
        Sym(name: "main", value: 0x40_1000, size: 0x80, type: 2),
        Sym(name: "_main_alias", value: 0x40_1000, size: 0, type: 0),        // a label at the same address
        Sym(name: "entry", value: 0x40_0000, size: 0, type: 0),             // an assembly label
        Sym(name: "data_object", value: 0x40_2000, size: 0x100, type: 1),   // STT_OBJECT: not code
        Sym(name: "undefined", value: 0x40_3000, size: 0, type: 2, shndx: 0),
        Sym(name: ".L_local", value: 0x40_4000, size: 0, type: 0),
    ]

    func testLookupInELF64AndELF32() throws {
        for is64 in [true, false] {
            let t = try ELFSymbolTable(Self.elf(is64: is64, Self.symbols))
            XCTAssertEqual(t.symbols.map(\.name), ["entry", "main", "_main_alias"], "is64 \(is64)")
            XCTAssertEqual(t.lookup(0x40_1010)?.symbol.name, "main", "the sized symbol wins at a shared address")
            XCTAssertEqual(t.lookup(0x40_1010)?.offset, 0x10)
            XCTAssertNil(t.lookup(0x40_1080), "past main's st_size")
            XCTAssertEqual(t.lookup(0x40_0FFF)?.symbol.name, "entry", "an unsized label reaches the next symbol")
            XCTAssertEqual(t.lookup(0x40_0FFF)?.offset, 0xFFF)
            XCTAssertNil(t.lookup(0x3F_FFFF), "below every symbol")
        }
    }

    func testAFileWithoutASymbolTableHasNoSymbols() throws {
        var d = Self.elf(is64: true, [])
        for k in 40..<48 { d[k] = 0 }                                       // e_shoff = 0
        XCTAssertEqual(try ELFSymbolTable(d).symbols, [])
    }

    func testMalformedSymbolTablesGivePreciseErrors() {
        func error(_ d: [UInt8]) -> LoaderError? {
            do { _ = try ELFSymbolTable(d); return nil } catch { return error as? LoaderError }
        }
        let good = Self.elf(is64: true, Self.symbols)
        XCTAssertEqual(error(Array(good.prefix(good.count - 10))), .truncated(what: "ELF section headers", size: good.count - 10))
        XCTAssertEqual(error(Self.elf(is64: true, Self.symbols, symtabLink: 7)), .unsupportedELF("symbol table links to section 7 of 3"))
        XCTAssertEqual(error(Self.elf(is64: false, Self.symbols, entsize: 24)), .unsupportedELF("symbol entry size 24"))
        XCTAssertEqual(error(Self.elf(is64: true, [Sym(name: "f", value: 1, size: 1, type: 2)], unterminatedLastName: true)),
                       .unsupportedELF("symbol 1's name is not terminated"))
        XCTAssertEqual(error([0x7F, 0x45, 0x4C, 0x46, 2, 1]), .truncated(what: "ELF header", size: 6))
        XCTAssertEqual(error([1, 2, 3, 4]), .notELF)
    }

    /// Hostile symbol files: random byte changes and truncations of valid ELF32 and ELF64
    /// files either parse or throw a LoaderError, and lookups on what parses never trap.
    func testCorruptedFilesNeverTrap() {
        var seed: UInt64 = 0x5EED_E1F5_7AB1_E000
        func next() -> UInt64 { seed ^= seed >> 12; seed ^= seed << 25; seed ^= seed >> 27; return seed &* 0x2545_F491_4F6C_DD1D }
        var parsed = 0, rejected = 0
        for is64 in [true, false] {
            let good = Self.elf(is64: is64, Self.symbols)
            for _ in 0..<3000 {
                var d = good
                for _ in 0..<Int(next() % 4) + 1 { d[Int(next() % UInt64(d.count))] = UInt8(truncatingIfNeeded: next()) }
                if next() % 8 == 0 { d.removeLast(Int(next() % UInt64(d.count))) }
                do {
                    let t = try ELFSymbolTable(d)
                    for _ in 0..<4 { _ = t.lookup(next() % 0x50_0000) }
                    parsed += 1
                } catch is LoaderError {
                    rejected += 1
                } catch {
                    XCTFail("not a LoaderError: \(error)")
                }
            }
        }
        XCTAssertGreaterThan(parsed, 0)
        XCTAssertGreaterThan(rejected, 0)
    }
}
