import XCTest
import CPU
@testable import Platform

/// The 64-bit Linux boot protocol loader on synthetic bzImages, including malformed ones.
final class LinuxBootProtocolTests: XCTestCase {
    /// A minimal bzImage: 4 setup sectors + boot sector, then a "kernel" of `kernelBytes`.
    private func image(version: UInt16 = 0x020F, xload: UInt16 = 1, kernelBytes: Int = 8192,
                       pref: UInt64 = 0x100_0000, initSize: UInt32 = 0x10_0000, cmdlineSize: UInt32 = 2048) -> [UInt8] {
        var d = [UInt8](repeating: 0, count: 5 * 512 + kernelBytes)
        func p16(_ o: Int, _ v: UInt16) { d[o] = UInt8(v & 0xFF); d[o + 1] = UInt8(v >> 8) }
        func p32(_ o: Int, _ v: UInt32) { for k in 0..<4 { d[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        func p64(_ o: Int, _ v: UInt64) { for k in 0..<8 { d[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        d[0x1F1] = 4
        p16(0x1FE, 0xAA55)
        d[0x200] = 0xEB; d[0x201] = 0x66          // jump over a 0x66-byte header
        p32(0x202, 0x5372_6448)
        p16(0x206, version)
        p32(0x230, 0x20_0000)                      // kernel_alignment
        d[0x234] = 1
        p16(0x236, xload)
        p32(0x238, cmdlineSize)
        p32(0x1F4, UInt32((kernelBytes + 15) / 16))   // syssize
        p64(0x258, pref)
        p32(0x260, initSize)
        for k in 0..<kernelBytes { d[5 * 512 + k] = UInt8(truncatingIfNeeded: k &* 7) }
        return d
    }

    private let ram: [MemoryRegion] = [
        .init(base: 0, length: 0x9_FC00, type: 1), .init(base: 0x10_0000, length: 0x3F0_0000, type: 1)]

    func testLoadsKernelZeroPageCommandLineInitrdAndTables() throws {
        let memory = try PhysicalMemory(size: 64 << 20)
        let rd = [UInt8](repeating: 0xA5, count: 10_000)
        let plan = try LinuxBootProtocol.load(image: image(), commandLine: "console=ttyS0", initrd: rd,
                                              into: memory, memoryMap: ram)
        XCTAssertEqual(plan.kernelAddress, 0x100_0000)
        XCTAssertEqual(plan.entry, 0x100_0200)
        XCTAssertEqual(try memory.read(at: 0x100_0000, length: 4), [0, 7, 14, 21])
        let zp = LinuxBootProtocol.bootParamsAddress
        XCTAssertEqual(try memory.load(UInt32.self, at: zp + 0x202), 0x5372_6448, "setup header copied")
        XCTAssertEqual(try memory.load(UInt8.self, at: zp + 0x210), 0xFF, "type_of_loader")
        XCTAssertEqual(try memory.load(UInt32.self, at: zp + 0x228), UInt32(LinuxBootProtocol.commandLineAddress))
        XCTAssertEqual(try memory.read(at: LinuxBootProtocol.commandLineAddress, length: 14), Array("console=ttyS0".utf8) + [0])
        XCTAssertEqual(try memory.load(UInt8.self, at: zp + 0x1E8), 2, "e820 entries")
        XCTAssertEqual(try memory.load(UInt64.self, at: zp + 0x2D0 + 20 + 8), 0x3F0_0000)
        let rdStart = try memory.load(UInt32.self, at: zp + 0x218)
        XCTAssertEqual(try memory.load(UInt32.self, at: zp + 0x21C), 10_000)
        XCTAssertEqual(rdStart & 0xFFF, 0)
        XCTAssertEqual(try memory.read(at: UInt64(rdStart), length: 2), [0xA5, 0xA5])
        XCTAssertEqual(plan.initrd, UInt64(rdStart)..<UInt64(rdStart) + 10_000)
        // Page tables: 2 MiB identity map, PD entry for 16 MiB.
        XCTAssertEqual(try memory.load(UInt64.self, at: LinuxBootProtocol.pageTablesAddress + 0x2000 + 8 * 8), 0x100_0083)
        XCTAssertEqual(try memory.load(UInt64.self, at: LinuxBootProtocol.gdtAddress + 16), 0x00AF_9B00_0000_FFFF)
    }

    func testMalformedImagesGivePreciseErrors() throws {
        let memory = try PhysicalMemory(size: 64 << 20)
        func err(_ d: [UInt8], cmd: String = "", rd: [UInt8]? = nil) -> LinuxImageError? {
            do { _ = try LinuxBootProtocol.load(image: d, commandLine: cmd, initrd: rd, into: memory, memoryMap: ram); return nil }
            catch let e as LinuxImageError { return e } catch { return nil }
        }
        XCTAssertEqual(err(Array(image().prefix(0x200))), .truncated(size: 0x200))
        var noFlag = image(); noFlag[0x1FE] = 0
        XCTAssertEqual(err(noFlag), .badBootFlag)
        var noMagic = image(); noMagic[0x202] = 0
        XCTAssertEqual(err(noMagic), .notABzImage)
        XCTAssertEqual(err(image(version: 0x0206)), .protocolTooOld(0x0206))
        XCTAssertEqual(err(image(xload: 0)), .no64BitEntry)
        // Cut after the setup code: syssize still declares the whole kernel.
        XCTAssertEqual(err(Array(image().prefix(5 * 512 + 4096))), .kernelTruncated(declared: 8192, present: 4096))
        XCTAssertNil(err(image() + [UInt8](repeating: 0, count: 100)), "bytes after the kernel (signatures) are fine")
        var bigSetup = image(kernelBytes: 0); bigSetup[0x1F1] = 200
        XCTAssertEqual(err(bigSetup), .setupBeyondFile(sectors: 200))
        XCTAssertEqual(err(image(initSize: 0x800_0000)),
                       .kernelDoesNotFit(address: 0x100_0000, size: 0x800_0000, ram: 0x400_0000))
        XCTAssertEqual(err(image(cmdlineSize: 8), cmd: "console=ttyS0"), .commandLineTooLong(length: 13, maximum: 8))
        XCTAssertEqual(err(image(), rd: [UInt8](repeating: 1, count: 60 << 20)), .initrdDoesNotFit(size: 60 << 20))
        XCTAssertTrue(LinuxImageError.protocolTooOld(0x0206).description.contains("2.06"))
    }
}
