import Foundation
import XCTest
import CPU
@testable import Platform

/// Multiboot 1 loading: ELF and a.out-kludge images, boot information, modules, memory map,
/// and each malformed-image error.
final class MultibootLoaderTests: XCTestCase {
    static func header(flags: UInt32) -> [UInt8] {
        let magic: UInt32 = 0x1BAD_B002
        return [magic, flags, 0 &- (magic &+ flags)].flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// An a.out-kludge image loaded at 1 MiB with 4 KiB of bss.
    static func aout(code: [UInt8] = [0xF4]) -> [UInt8] {
        var h = header(flags: 0x1_0003)
        let load: UInt32 = 0x10_0000
        let fileSize = UInt32(32 + code.count)
        h += le32(load) + le32(load) + le32(load + fileSize) + le32(load + fileSize + 0x1000) + le32(load + 32)
        return h + code
    }

    func testAOutKludgeBootInformationModulesAndMemoryMap() throws {
        let memory = try PhysicalMemory(size: 64 << 20)
        let map = MemoryRegion.pcMap(ramSize: 64 << 20)
        let state = try MultibootLoader.load(image: Self.aout(), commandLine: "kernel arg=1",
                                             modules: [.init(bytes: Array("ENV=1\n".utf8), commandLine: "initrd")],
                                             into: memory, memoryMap: map)
        XCTAssertEqual(state.entry, 0x10_0020)
        XCTAssertEqual(state.rax, 0x2BAD_B002)
        XCTAssertEqual(state.mode, .protected32)
        let info = state.rbx
        let flags = try memory.load(UInt32.self, at: info)
        XCTAssertEqual(flags & 0x24D, 0x24D, "mem, cmdline, mods, mmap, loader name")
        XCTAssertEqual(try memory.load(UInt32.self, at: info + 8), (64 << 10) - 1024, "mem_upper in KiB")
        let cmd = UInt64(try memory.load(UInt32.self, at: info + 16))
        XCTAssertEqual(try memory.read(at: cmd, length: 13), Array("kernel arg=1\0".utf8))
        XCTAssertEqual(try memory.load(UInt32.self, at: info + 20), 1)
        let mods = UInt64(try memory.load(UInt32.self, at: info + 24))
        let start = UInt64(try memory.load(UInt32.self, at: mods)), end = UInt64(try memory.load(UInt32.self, at: mods + 4))
        XCTAssertEqual(end - start, 6)
        XCTAssertEqual(start & 0xFFF, 0, "modules are page-aligned")
        XCTAssertEqual(try memory.read(at: start, length: 6), Array("ENV=1\n".utf8))
        XCTAssertEqual(try memory.load(UInt32.self, at: info + 44), UInt32(map.count * 24))
        XCTAssertEqual(try memory.load(UInt8.self, at: 0x10_0020), 0xF4)
        XCTAssertEqual(try memory.load(UInt8.self, at: 0x10_0021 + 0x800), 0, "bss zeroed")
    }

    /// The boot-information area is sized for what it holds: a 100 KB command line and many
    /// modules fit, and only RAM limits it, with an error that says so.
    func testBootInformationAreaGrowsWithTheCommandLineAndModules() throws {
        let memory = try PhysicalMemory(size: 64 << 20)
        let map = MemoryRegion.pcMap(ramSize: 64 << 20)
        let long = String(repeating: "x", count: 100_000)
        let modules = (0..<300).map { MultibootLoader.Module(bytes: [UInt8($0 & 0xFF)], commandLine: "module \($0) " + String(repeating: "y", count: 200)) }
        let state = try MultibootLoader.load(image: Self.aout(), commandLine: long, modules: modules, into: memory, memoryMap: map)
        let cmd = UInt64(try memory.load(UInt32.self, at: state.rbx + 16))
        XCTAssertEqual(try memory.read(at: cmd + 99_999, length: 2), [UInt8(ascii: "x"), 0])
        let list = UInt64(try memory.load(UInt32.self, at: state.rbx + 24))
        let lastCmd = UInt64(try memory.load(UInt32.self, at: list + 299 * 16 + 8))
        XCTAssertEqual(try memory.read(at: lastCmd, length: 11), Array("module 299 ".utf8))
        let name = UInt64(try memory.load(UInt32.self, at: state.rbx + 64))
        XCTAssertEqual(try memory.read(at: name, length: 11), Array("Matryoshka\0".utf8))

        let small = try PhysicalMemory(size: 2 << 20)
        let smallMap = MemoryRegion.pcMap(ramSize: 0x10_2000)
        XCTAssertThrowsError(try MultibootLoader.load(image: Self.aout(), commandLine: long, modules: [], into: small, memoryMap: smallMap)) {
            guard case .doesNotFit(let what, let at, let size, _) = $0 as? LoaderError else { return XCTFail("\($0)") }
            XCTAssertEqual(what, "boot information (command line, module list, memory map)")
            XCTAssertEqual(at, 0x10_2000)
            XCTAssertEqual(size, 0x1_9000, "0x100 + the command line + map + name, page-rounded")
        }
    }

    func testRealKVMUnitTestsImageIfPresent() throws {
        let path = "/work/kut/src/x86/msr.flat"
        guard let data = FileManager.default.contents(atPath: path) else { throw XCTSkip("\(path) not present") }
        let memory = try PhysicalMemory(size: 128 << 20)
        let s = try MultibootLoader.load(image: [UInt8](data), commandLine: "x86/msr.flat", modules: [],
                                         into: memory, memoryMap: MemoryRegion.pcMap(ramSize: 128 << 20))
        XCTAssertEqual(s.entry, try ELFImage([UInt8](data)).entry)
    }

    func testMalformedImages() throws {
        let memory = try PhysicalMemory(size: 16 << 20)
        let map = MemoryRegion.pcMap(ramSize: 16 << 20)
        func error(_ image: [UInt8]) -> LoaderError? {
            do { _ = try MultibootLoader.load(image: image, commandLine: "", modules: [], into: memory, memoryMap: map); return nil }
            catch let e as LoaderError { return e } catch { return nil }
        }
        XCTAssertEqual(error([UInt8](repeating: 0, count: 9000)), .noMultibootHeader)
        var bad = Self.aout(); bad[8] ^= 1
        XCTAssertEqual(error(bad), .badMultibootChecksum)
        XCTAssertEqual(error(Self.header(flags: 0x4) + [UInt8](repeating: 0, count: 64)), .unsupportedMultibootFlags(4))
        XCTAssertEqual(error(Self.header(flags: 0x1_0000) + [0, 0]), .truncated(what: "Multiboot address fields", size: 14))
        // ELF whose segment lies beyond RAM.
        var elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        elf += [2, 0, 3, 0] + Self.le32(1) + Self.le32(0x10_0000) + Self.le32(52) + Self.le32(0) + Self.le32(0)
        elf += [52, 0, 32, 0, 1, 0, 40, 0, 0, 0, 0, 0]
        elf += Self.le32(1) + Self.le32(0x60) + Self.le32(0x4000_0000) + Self.le32(0x4000_0000) + Self.le32(16) + Self.le32(16) + Self.le32(5) + Self.le32(4)
        elf += [UInt8](repeating: 0, count: 0x60 - elf.count) + Self.header(flags: 0) + [UInt8](repeating: 0x90, count: 4)
        XCTAssertEqual(error(elf), .doesNotFit(what: "ELF segment 0", address: 0x4000_0000, size: 16, ramSize: 16 << 20))
        // ELF program headers past the end of the file.
        var cut = elf
        cut[28] = 0xF0; cut[29] = 0xFF
        guard case .truncated = error(cut) else { return XCTFail("expected truncated") }
    }
}
