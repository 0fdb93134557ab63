import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Memory operands that share a page check (`SharedPageOperands`): the block's first operand
/// on a base register checks the bytes of every later one on that base, and those then run
/// without a check of their own. Each case must end exactly as with every instruction
/// interpreted, including where the shared check cannot hold: a structure straddling a page,
/// a store among loads on a page that refuses stores, a range running out of RAM, the base
/// changing between operands.
final class SharedPageOperandTests: XCTestCase {
    typealias T = TranslatorTests

    /// Shared-page operands translated for `program` (translation on, to its end).
    static func sharedOperands(_ program: [UInt8], budget: UInt64 = 200_000) -> UInt64 {
        let m = TestMachine(memorySize: T.ramEnd)
        m.load(program, at: T.code)
        m.enterLong64(entry: T.code, stack: T.stack)
        m.cpu.idtr = DescriptorTableRegister(base: 0, limit: 0)
        m.cpu.setSegment(.fs, SegmentRegister(selector: 0, base: T.data, limit: 0xFFFF_FFFF, accessRights: 0xC093))
        _ = m.run(budget: budget)
        return m.cpu.translationStatistics.sharedPageOperands
    }

    func assertSame(_ program: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line) -> TranslatorTests.Outcome {
        let (interpreted, _) = T.run(program, translate: false)
        let (translated, blocks) = T.run(program, translate: true)
        XCTAssertGreaterThan(blocks, 0, "\(what): something was translated", file: file, line: line)
        XCTAssertEqual(translated, interpreted, what, file: file, line: line)
        XCTAssertGreaterThan(Self.sharedOperands(program), 0, "\(what): operands shared a page check", file: file, line: line)
        return translated
    }

    /// Fields of a structure read and written through one base that walks across a page
    /// boundary 8 bytes at a time: the iterations where the structure straddles the boundary
    /// leave the shared check to the interpreter.
    func testStructureWalkingAcrossAPageBoundary() {
        let a = Assembler(mode: .bits64, origin: T.code)
        let top = a.label()
        a.mov(rbx, Int64(T.data + 0xF80)); a.mov(r15d, 40)
        a.bind(top)
        a.mov(rax, qword[rbx]); a.add(rax, qword[rbx + 0x18])
        a.mov(qword[rbx + 0x10], rax); a.xor(dword[rbx + 0x24], eax)
        a.inc(byte[rbx + 0x2F]); a.cmp(qword[rbx + 8], rax); a.set(.b, byte[rbx + 0x28])
        a.add(rbx, 8)
        a.dec(r15d); a.jnz(top); a.hlt()
        XCTAssertEqual(assertSame(a.assemble(), "structure across a page boundary").stop, .halted)
    }

    /// A load, then a store, through one base into the loop's own code (its ADD's immediate):
    /// the TLB withholds write permission on a page of decoded code, so the leader's check,
    /// which asks for write permission, fails even though the leader only reads; the
    /// interpreter runs the store, which removes the decoded block, and the patched ADD runs.
    func testStoreAmongLoadsOnACodePage() {
        let p = T.selfPatchingLoop { a in
            a.mov(rsi, qword[r12]); a.add(rsi, qword[r12 + 8]); a.mov(qword[r12 + 0x10], rsi)   // shared, data page
            a.mov(ecx, dword[rbx])                                         // leader: a load
            a.add(ecx, dword[rbx + 4])                                     // the next instruction's bytes
        }                                                                  // then the store through RBX
        let o = assertSame(p, "store to the code page")
        XCTAssertEqual(o.gpr[GPR.rax.rawValue], 41 + 19 * 100)
    }

    /// A structure at the end of RAM: the leader's own access fits, a later field lies past
    /// RAM (no TLB entry: the interpreter reads it as a device access). From that iteration
    /// on the leader's check fails and the interpreter runs it; the results are the same.
    func testRangeRunningOutOfRAMLeavesTheLeaderToTheInterpreter() {
        let a = Assembler(mode: .bits64, origin: T.code)
        let top = a.label(), inRAM = a.label()
        a.mov(r12, Int64(T.data)); a.mov(rbx, r12); a.mov(r15d, 40)
        a.bind(top)
        a.cmp(r15d, 5); a.jne(inRAM); a.mov(rbx, Int64(T.ramEnd - 0x10)); a.bind(inRAM)
        a.mov(rax, qword[rbx]); a.add(rax, qword[rbx + 8]); a.mov(qword[r12 + 0x40], rax)
        a.mov(rdx, qword[rbx + 0x10])                                     // past RAM at the end
        a.add(rsi, rdx)
        a.dec(r15d); a.jnz(top); a.hlt()
        let o = assertSame(a.assemble(), "range out of RAM")
        XCTAssertEqual(o.stop, .halted)
    }

    /// The base changes between operands (ADD, LEA, a load into it, POP): each write ends
    /// the group, so the later operands are checked on their own.
    func testBaseWrittenBetweenOperandsEndsTheGroup() {
        let a = Assembler(mode: .bits64, origin: T.code)
        let top = a.label()
        a.mov(r12, Int64(T.data)); a.mov(r15d, 60)
        a.bind(top)
        a.mov(rbx, r12)
        a.mov(rax, qword[rbx]); a.mov(rcx, qword[rbx + 8])
        a.add(rbx, 0xFF8); a.mov(qword[rbx], rax); a.mov(qword[rbx + 8], rcx)     // crosses
        a.lea(rbx, qword[rbx + 0x100]); a.add(qword[rbx], rcx); a.add(qword[rbx + 0x10], rax)
        a.mov(rbx, qword[rbx + 0x20]); a.and(rbx, 0x7F8); a.add(rbx, r12)
        a.inc(qword[rbx]); a.inc(qword[rbx + 0x30])
        a.push(r12); a.pop(rbx); a.xor(qword[rbx + 0x40], rax); a.xor(qword[rbx + 0x48], rcx)
        a.dec(r15d); a.jnz(top); a.hlt()
        assertSame(a.assemble(), "base written")
    }

    /// The base rewritten by an instruction whose own operand cannot join a group (its last
    /// byte lies beyond disp32's reach): the write still ends the group, so the operand after
    /// it, on the new base past RAM, goes through its own check (a device read of all ones)
    /// instead of the old page's delta (host memory past the guest's).
    func testBaseWrittenByAnOperandOutsideTheGroupsReachEndsTheGroup() {
        let a = Assembler(mode: .bits64, origin: T.code)
        let top = a.label()
        let far: Int64 = 0x7FFF_FF00
        a.mov(r12, Int64(T.data))
        a.mov(rax, Int64(T.ramEnd) + 0x100 - 0x7FFF_FF10); a.mov(qword[r12 + 0xFC], rax)
        a.mov(r15d, 40)
        a.bind(top)
        a.mov(rbx, Int64(T.data) - far)
        a.mov(rax, qword[rbx + far]); a.add(rax, qword[rbx + far + 8])    // a group on RBX
        a.mov(rbx, qword[rbx + 0x7FFF_FFFC])                              // ends past Int32.max: RBX ← RAM end + 0x100 − …
        a.mov(rdx, qword[rbx + 0x7FFF_FF10])                              // past RAM
        a.add(rsi, rdx)
        a.dec(r15d); a.jnz(top); a.hlt()
        let o = assertSame(a.assemble(), "base written outside the group's reach")
        XCTAssertEqual(o.gpr[GPR.rdx.rawValue], ~0, "no RAM there")
    }

    /// FS-relative fields (the segment base is part of the delta the leader keeps), and two
    /// bases at once, with more groups than free host registers (deltas in the frame).
    func testSegmentOverridesAndManyGroups() {
        let a = Assembler(mode: .bits64, origin: T.code)
        let top = a.label()
        a.mov(r12, Int64(T.data)); a.mov(r15d, 50); a.xor(ebx, ebx)
        a.bind(top)
        a.mov(eax, dword[rbx + 0x104].on(.fs)); a.add(dword[rbx + 0x108].on(.fs), eax)
        a.mov(ecx, dword[r12 + 0x104]); a.sub(dword[r12 + 0x10C], ecx)            // FS base = data
        let bases = [rdx, rsi, rdi, rbp, r8, r9, r10, r11, r13, r14]
        for (k, r) in bases.enumerated() { a.lea(r, qword[r12 + Int64(0x200 * k)]) }
        for (k, r) in bases.enumerated() {
            a.add(qword[r], Int64(k + 1)); a.sub(qword[r + 0x18], rax)
        }
        a.add(rbx, 4); a.and(rbx, 0x3FF)
        a.dec(r15d); a.jnz(top); a.hlt()
        assertSame(a.assemble(), "segments and many groups")
    }
}
