import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Instructions that cross a page boundary run outside the decode cache; their decodes are
/// remembered by their bytes (`CrossPageDecodes`), so a changed byte — stored by the guest or
/// written behind its back — is always decoded afresh.
final class CrossPageInstructionTests: XCTestCase {
    /// MOV RAX, imm64 here is 10 bytes, the last 6 on the next page.
    static let crossing: UInt64 = 0x10_0FFA
    static let first: UInt64 = 0x1111_2222_3333_4444, second: UInt64 = 0x0000_0055_0000_0066

    /// RBX = 100 × the crossing MOV's immediate; then the guest stores `second` over the
    /// immediate (bytes on both pages) and loops 100 times more; HLT.
    func machine(translate: Bool) -> TestMachine {
        let m = TestMachine()
        m.cpu.translationEnabled = translate
        let loop = Assembler(mode: .bits64, origin: Self.crossing)
        let top = loop.boundLabel(), done = loop.label()
        loop.mov(rax, Int64(bitPattern: Self.first))
        loop.add(rbx, rax); loop.dec(ecx); loop.j(.ne, top)
        loop.test(esi, esi); loop.j(.ne, done)
        loop.mov(rdx, Int64(bitPattern: Self.second)); loop.mov(qword[Int64(Self.crossing + 2)], rdx)
        loop.mov(esi, 1); loop.mov(ecx, 100); loop.jmp(top)
        loop.bind(done); loop.hlt()
        m.load(loop.assemble(), at: Self.crossing)
        m.enterLong64(entry: Self.crossing, stack: 0x20_0000)
        m.cpu.gpr[GPR.rcx.rawValue] = 100
        return m
    }

    func testAGuestStoreToTheImmediateIsExecuted() {
        for translate in [true, false] {
            let m = machine(translate: translate)
            XCTAssertEqual(m.run(budget: 10_000), .halted)
            XCTAssertEqual(m.reg(.rbx), 100 &* Self.first &+ 100 &* Self.second, "translate: \(translate)")
            XCTAssertEqual(m.reg(.rax), Self.second)
        }
    }

    func testBytesChangedBehindTheGuestsBackAreDecodedAfresh() {
        for translate in [true, false] {
            let m = machine(translate: translate)
            XCTAssertEqual(m.run(budget: 10_000), .halted)
            // The host rewrites the immediate (no guest store: nothing is notified) and
            // restarts the loop for 3 rounds: the new bytes are what runs.
            let third: UInt64 = 0x7777_0000_8888_0000
            m.load((0..<8).map { UInt8(truncatingIfNeeded: third >> (8 * $0)) }, at: Self.crossing + 2)
            m.cpu.rip = Self.crossing
            m.cpu.activity = .active
            m.cpu.gpr[GPR.rcx.rawValue] = 3
            m.cpu.gpr[GPR.rbx.rawValue] = 0
            XCTAssertEqual(m.run(budget: 10_000), .halted)
            XCTAssertEqual(m.reg(.rbx), 3 &* third, "translate: \(translate)")
        }
    }
}
