import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Bad guest input produces the architectural fault (or the PC's open-bus behaviour), never a
/// crash: undefined opcodes, non-canonical addresses, unbacked physical memory, malformed
/// descriptors.
final class ArchitecturalFaultTests: XCTestCase {
    typealias Env = LongModeEnvironment
    let code: UInt64 = 0x10_0000

    func run64(_ build: (Assembler) -> Void) -> TestMachine { Env.run(model: .default, code: code, build) }

    func testUndefinedOpcodesRaiseUD() {
        for bytes: [UInt8] in [[0x0F, 0x0B], [0x0F, 0xFF, 0xC0], [0x0F, 0x04], [0xD6], [0x0F, 0xA6]] {
            let m = run64 { a in a.db(bytes) }
            XCTAssertEqual(Env.recordedVector(m), 6, "\(bytes)")
            XCTAssertEqual(Env.frame(m, count: 1)[0], code, "#UD is a fault at the instruction")
        }
    }

    func testNonCanonicalAddresses() {
        let m = run64 { a in a.mov(rax, unsigned: 0x0000_8000_0000_0000); a.mov(rbx, qword[rax]) }
        XCTAssertEqual(Env.recordedVector(m), 13)
        // A stack access through a non-canonical RSP is #SS(0).
        let s = run64 { a in a.mov(rbp, unsigned: 0x0000_8000_0000_0000); a.mov(rax, qword[rbp]) }
        XCTAssertEqual(Env.recordedVector(s), 12)
        XCTAssertEqual(Env.frame(s, count: 1)[0], 0)
        // A jump to a non-canonical address faults at the jump.
        let j = run64 { a in a.mov(rax, unsigned: 0x0000_8000_0000_0000); a.jmp(rax) }
        XCTAssertEqual(Env.recordedVector(j), 13)
        // INVLPG of a non-canonical address is a NOP (SDM Vol. 2A INVLPG), not #GP.
        let n = run64 { a in a.mov(rbx, unsigned: 0xABFF_FFFF_FFFF_E000); a.invlpg(mem[rbx]); a.mov(ecx, 0x77) }
        XCTAssertNil(Env.recordedVector(n))
        XCTAssertEqual(n.cpu.gpr[1], 0x77, "execution went on after the INVLPG")
    }

    func testUnbackedPhysicalMemoryIsOpenBus() throws {
        // TestMachine has 16 MiB; 0x2000_0000 is mapped by the identity map but is not RAM.
        let m = run64 { a in
            a.mov(rbx, 0x2000_0000)
            a.mov(qword[rbx], rbx)          // dropped
            a.mov(rax, qword[rbx])          // all ones
        }
        XCTAssertNil(Env.recordedVector(m))
        XCTAssertEqual(m.reg(.rax), ~0)
    }

    func testMalformedDescriptorsFaultWithTheSelector() {
        // Beyond the GDT limit.
        var m = run64 { a in a.mov(ax, 0x80); a.mov(SegmentRegister.ds, ax) }
        XCTAssertEqual(Env.recordedVector(m), 13)
        XCTAssertEqual(Env.frame(m, count: 1)[0], 0x80)
        // A code segment loaded into SS.
        m = run64 { a in a.mov(ax, 0x08); a.mov(SegmentRegister.ss, ax) }
        XCTAssertEqual(Env.recordedVector(m), 13)
        XCTAssertEqual(Env.frame(m, count: 1)[0], 0x08)
        // A not-present data segment: #NP(selector). Clear P of descriptor 2 (0x10) first.
        m = TestMachine()
        let a = Assembler(mode: .bits64, origin: code)
        a.mov(ax, 0x10); a.mov(SegmentRegister.ds, ax); a.hlt()
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        Env.install(m)
        try! m.memory.store(UInt64(0x00CF_1300_0000_FFFF), at: Env.gdt + 0x10)
        _ = m.run(budget: 100)
        XCTAssertEqual(Env.recordedVector(m), 11)
        XCTAssertEqual(Env.frame(m, count: 1)[0], 0x10)
        // LTR of a data segment: #GP(selector).
        m = run64 { a in a.mov(ax, 0x10); a.ltr(ax) }
        XCTAssertEqual(Env.recordedVector(m), 13)
        XCTAssertEqual(Env.frame(m, count: 1)[0], 0x10)
    }

    func testPrivilegedInstructionsAtCPL3() {
        for build: (Assembler) -> Void in [{ $0.hlt() }, { $0.mov(rax, cr0) }, { $0.wrmsr() }, { $0.lgdt(mem[rax]) }, { $0.cli() }] {
            let m = TestMachine()
            let a = Assembler(mode: .bits64, origin: code)
            build(a)
            m.load(a.assemble(), at: code)
            m.enterLong64(entry: code, stack: 0x8_0000)
            Env.install(m)
            Env.enterUser(m, entry: code, stack: 0x7_0000)
            _ = m.run(budget: 10)
            XCTAssertEqual(Env.recordedVector(m), 13)
        }
    }
}
