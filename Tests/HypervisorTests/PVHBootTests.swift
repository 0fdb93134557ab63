import XCTest
import X86Assembler
@testable import CPU
@testable import Hypervisor
@testable import Platform

/// PVH boot of an ELF kernel (Xen's x86 HVM direct boot ABI, as QEMU's -kernel vmlinux does):
/// the XEN_ELFNOTE_PHYS32_ENTRY note, the segments, hvm_start_info with its command line,
/// module and memory map, the 32-bit entry state, and precise errors for malformed images.
final class PVHBootTests: XCTestCase {
    static let load: UInt64 = 0x10_0000
    static let codeOffset = 0x1000

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// One note: name size, descriptor size, type, name and descriptor padded to 4 bytes.
    static func note(_ name: String, _ type: UInt32, _ descriptor: [UInt8]) -> [UInt8] {
        let n = Array(name.utf8) + [0]
        func pad(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (4 - b.count % 4) % 4) }
        return le(UInt64(n.count), 4) + le(UInt64(descriptor.count), 4) + le(UInt64(type), 4) + pad(n) + pad(descriptor)
    }

    /// An ELF64 executable: a PT_LOAD of `code` at 1 MiB with `bss` more bytes in memory, and a
    /// PT_NOTE holding `notes` (p_filesz `noteSize`, default the notes' size).
    static func elf64(code: [UInt8], bss: UInt64 = 0, notes: [UInt8], noteSize: UInt64? = nil) -> [UInt8] {
        var e: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        e += le(2, 2) + le(62, 2) + le(1, 4) + le(load, 8) + le(64, 8) + le(0, 8)
        e += le(0, 4) + le(64, 2) + le(56, 2) + le(2, 2) + le(64, 2) + le(0, 2) + le(0, 2)
        // PT_LOAD: type, flags RWX, offset, vaddr, paddr, filesz, memsz, align.
        e += le(1, 4) + le(7, 4) + le(UInt64(codeOffset), 8) + le(0xFFFF_FFFF_8000_0000 + load, 8) + le(load, 8)
        e += le(UInt64(code.count), 8) + le(UInt64(code.count) + bss, 8) + le(0x1000, 8)
        // PT_NOTE.
        let notesAt: UInt64 = 64 + 2 * 56
        e += le(4, 4) + le(4, 4) + le(notesAt, 8) + le(0, 8) + le(0, 8)
        e += le(noteSize ?? UInt64(notes.count), 8) + le(UInt64(notes.count), 8) + le(4, 8)
        e += notes
        e += [UInt8](repeating: 0, count: codeOffset - e.count)
        return e + code
    }

    static func entryNote(_ entry: UInt64, bytes: Int = 8) -> [UInt8] {
        note("GNU", 3, [UInt8](repeating: 0xAB, count: 20)) + note("Xen", 18, le(entry, bytes))
    }

    /// 32-bit code that records [EBX] (the magic) and CR0 at 500H and exits with 0.
    static func probeCode() -> [UInt8] {
        let a = Assembler(mode: .bits32, origin: load)
        a.mov(eax, dword[ebx]); a.mov(dword[Int64(0x500)], eax)
        a.mov(eax, cr0); a.mov(dword[Int64(0x504)], eax)
        a.mov(al, 0); a.out(port: 0xF4, al)
        a.hlt()
        return a.assemble()
    }

    func testTheVMEntersAtThePVHEntryWithTheStartInfoInEBX() throws {
        let image = Self.elf64(code: Self.probeCode(), notes: Self.entryNote(Self.load))
        let vm = try VirtualMachine(MachineConfiguration(), board: PCBoardOptions())
        try vm.boot(kernel: image, commandLine: "console=ttyS0", initrd: Array("RAMDISK".utf8))
        let tr = vm.bootProcessor.tr
        XCTAssertEqual([tr.base, UInt64(tr.limit), UInt64(tr.accessRights & 0x9F)], [0, 0x67, 0x8B], "a busy 32-bit TSS at 0, limit 67H")
        XCTAssertEqual(vm.bootProcessor.cr4, 0)
        XCTAssertEqual(vm.bootProcessor.rflags & (1 << 9 | 1 << 8 | 1 << 17), 0, "IF, TF, VM clear")
        XCTAssertEqual(vm.run(instructionLimit: 100_000), .exited(status: 1))
        XCTAssertEqual(try vm.memory.load(UInt32.self, at: 0x500), PVHBoot.startInfoMagic)
        XCTAssertEqual(try vm.memory.load(UInt32.self, at: 0x504) & 0x8000_0001, 1, "protected mode, paging off")
    }

    func testStartInfoCommandLineModuleMemoryMapAndSegments() throws {
        let memory = try PhysicalMemory(size: 64 << 20)
        let map = MemoryRegion.pcMap(ramSize: 64 << 20)
        let code: [UInt8] = [0xF4, 1, 2, 3]
        let image = Self.elf64(code: code, bss: 0x2000, notes: Self.entryNote(Self.load + 1, bytes: 4))
        try memory.write([UInt8](repeating: 0xEE, count: 0x3000), at: Self.load)
        let rd = [UInt8](repeating: 0x5A, count: 10_000)
        let s = try PVHBoot.load(image: image, commandLine: "root=/dev/ram0", initrd: rd, into: memory,
                                 memoryMap: map, rsdpAddress: ACPITables.rsdpAddress)
        XCTAssertEqual(s.mode, .protected32)
        XCTAssertEqual(s.entry, Self.load + 1)
        XCTAssertEqual(s.rbx, PVHBoot.startInfoAddress)
        XCTAssertEqual(try memory.read(at: Self.load, length: 4), code)
        XCTAssertEqual(try memory.read(at: Self.load + 4, length: 0x2000), [UInt8](repeating: 0, count: 0x2000), "bss zeroed")
        XCTAssertEqual(try memory.load(UInt8.self, at: Self.load + 0x2004), 0xEE, "nothing past p_memsz")

        let info = try memory.read(at: s.rbx, length: 56)
        func field(_ o: Int, _ n: Int) -> UInt64 { (0..<n).reduce(0) { $0 | UInt64(info[o + $1]) << (8 * UInt64($1)) } }
        XCTAssertEqual(field(0, 4), UInt64(PVHBoot.startInfoMagic))
        XCTAssertEqual(field(4, 4), 1, "version 1")
        XCTAssertEqual(field(8, 4), 0, "flags")
        XCTAssertEqual(field(12, 4), 1, "nr_modules")
        XCTAssertEqual(field(32, 8), ACPITables.rsdpAddress, "rsdp_paddr")
        XCTAssertEqual(field(52, 4), 0, "reserved")
        XCTAssertEqual(try memory.read(at: field(24, 8), length: 15), Array("root=/dev/ram0\0".utf8))
        let module = try memory.read(at: field(16, 8), length: 32)
        let paddr = (0..<8).reduce(UInt64(0)) { $0 | UInt64(module[$1]) << (8 * UInt64($1)) }
        let size = (0..<8).reduce(UInt64(0)) { $0 | UInt64(module[8 + $1]) << (8 * UInt64($1)) }
        XCTAssertEqual(size, 10_000)
        XCTAssertEqual(paddr & 0xFFF, 0, "page-aligned")
        XCTAssertLessThanOrEqual(paddr + size, 64 << 20, "at the top of RAM")
        XCTAssertGreaterThan(paddr + size + 0x1000, 64 << 20)
        XCTAssertEqual(try memory.read(at: paddr, length: 10_000), rd)
        XCTAssertEqual(Array(module[16..<32]), [UInt8](repeating: 0, count: 16), "no module command line")
        XCTAssertEqual(field(48, 4), UInt64(map.count), "memmap_entries")
        for (k, r) in map.enumerated() {
            let e = try memory.read(at: field(40, 8) + UInt64(k) * 24, length: 24)
            XCTAssertEqual(e, Self.le(r.base, 8) + Self.le(r.length, 8) + Self.le(UInt64(r.type), 4) + [0, 0, 0, 0])
        }
    }

    func testWithoutAnInitrdThereIsNoModule() throws {
        let memory = try PhysicalMemory(size: 16 << 20)
        let s = try PVHBoot.load(image: Self.elf64(code: [0xF4], notes: Self.entryNote(Self.load)), commandLine: "",
                                 initrd: nil, into: memory, memoryMap: MemoryRegion.pcMap(ramSize: 16 << 20), rsdpAddress: 0)
        XCTAssertEqual(try memory.load(UInt32.self, at: s.rbx + 12), 0, "nr_modules")
        XCTAssertEqual(try memory.load(UInt64.self, at: s.rbx + 16), 0, "modlist_paddr")
    }

    func loadError(_ image: [UInt8], initrd: [UInt8]? = nil, ram: UInt64 = 16 << 20) -> LoaderError? {
        do {
            let memory = try PhysicalMemory(size: ram)
            _ = try PVHBoot.load(image: image, commandLine: "", initrd: initrd, into: memory,
                                 memoryMap: MemoryRegion.pcMap(ramSize: ram), rsdpAddress: 0)
            return nil
        } catch let e as LoaderError { return e } catch { XCTFail("\(error)"); return nil }
    }

    func testMalformedImagesGivePreciseErrors() throws {
        let code: [UInt8] = [0xF4]
        XCTAssertEqual(loadError(Self.elf64(code: code, notes: Self.note("Xen", 18, [1, 2, 3]))),
                       .badPVHEntryNote(descriptorSize: 3))
        XCTAssertEqual(loadError(Self.elf64(code: code, notes: Self.note("Xen", 18, Self.le(1 << 32, 8)))),
                       .badPVHEntryNote(descriptorSize: 8), "not a 32-bit address")
        XCTAssertEqual(loadError(Self.elf64(code: code, notes: Self.entryNote(0x20_0000))), .pvhEntryOutsideImage(0x20_0000))
        XCTAssertEqual(loadError(Self.elf64(code: code, notes: Self.note("GNU", 18, Self.le(Self.load, 8)))),
                       .unsupportedELF("no XEN_ELFNOTE_PHYS32_ENTRY note (a PVH entry point)"), "the note's owner must be Xen")
        // A note whose descriptor runs past the PT_NOTE segment.
        let notes = Self.entryNote(Self.load)
        XCTAssertEqual(loadError(Self.elf64(code: code, notes: notes, noteSize: UInt64(notes.count - 8))),
                       .noteOutsideSegment(offset: 176 + 36, nameSize: 4, descriptorSize: 8, segmentEnd: 176 + UInt64(notes.count) - 8))
        // A PT_NOTE segment past the end of the file.
        var past = Self.elf64(code: code, notes: notes)
        past.replaceSubrange(120 + 32..<120 + 40, with: Self.le(0x10_0000, 8))
        guard case .truncated = loadError(past) else { return XCTFail("PT_NOTE past the file") }
        // A segment bigger than RAM, and one in the legacy hole below 1 MiB.
        XCTAssertEqual(loadError(Self.elf64(code: code, bss: 32 << 20, notes: notes)),
                       .doesNotFit(what: "ELF segment 0", address: Self.load, size: (32 << 20) + 1, ramSize: 16 << 20))
        var low = Self.elf64(code: code, notes: Self.entryNote(0xA_0000))
        low.replaceSubrange(64 + 24..<64 + 32, with: Self.le(0xA_0000, 8))
        XCTAssertEqual(loadError(low), .doesNotFit(what: "ELF segment 0", address: 0xA_0000, size: 1, ramSize: 16 << 20))
        // An initrd that does not fit above the kernel.
        XCTAssertEqual(loadError(Self.elf64(code: code, notes: notes), initrd: [UInt8](repeating: 1, count: 15 << 20)),
                       .doesNotFit(what: "initrd", address: Self.load + 1, size: 15 << 20, ramSize: 16 << 20))
    }

    /// A deterministic generator (xorshift64), so a failure reproduces.
    struct XorShift: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    }

    /// Random corruption of a valid image never traps: it loads or throws a LoaderError.
    func testCorruptedImagesNeverTrap() throws {
        let valid = Self.elf64(code: Self.probeCode(), notes: Self.entryNote(Self.load))
        var rng = XorShift(state: 0x5EED_2026_0020)
        let memory = try PhysicalMemory(size: 16 << 20)
        for _ in 0..<2000 {
            var image = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<(64 + 2 * 56 + 64), using: &rng)
                image[at] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { image.removeLast(Int.random(in: 0..<image.count, using: &rng)) }
            do {
                _ = try PVHBoot.load(image: image, commandLine: "", initrd: [1, 2, 3], into: memory,
                                     memoryMap: MemoryRegion.pcMap(ramSize: 16 << 20), rsdpAddress: 0)
            } catch is LoaderError {
            }
        }
    }

    func testAnELFWithoutMultibootHeaderOrPVHNoteIsRejected() throws {
        let vm = try VirtualMachine(MachineConfiguration())
        let plain = Self.elf64(code: [0xF4], notes: Self.note("GNU", 3, [1, 2, 3, 4]))
        XCTAssertThrowsError(try vm.boot(kernel: plain)) {
            XCTAssertEqual($0 as? LoaderError,
                           .unsupportedELF("ELF image without a Multiboot header or a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"))
        }
    }
}
