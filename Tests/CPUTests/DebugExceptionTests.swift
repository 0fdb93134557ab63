import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Single-step traps and instruction breakpoints (SDM Vol. 3A §18.3.1).
final class DebugExceptionTests: XCTestCase {
    typealias Env = LongModeEnvironment
    let code: UInt64 = 0x10_0000

    func testInstructionBreakpointFaultsBeforeExecution() {
        let m = TestMachine()
        let a = Assembler(mode: .bits64, origin: code)
        let bp = a.label()
        a.mov(rax, bp)
        a.mov(dr2, rax)
        a.mov(eax, 0x420)          // G2 + the fixed bit 10
        a.mov(dr7, rax)
        a.bind(bp)
        a.nop()
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        Env.install(m)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(Env.recordedVector(m), 1)
        XCTAssertEqual(Env.frame(m, count: 1)[0], bp.address, "fault: RIP of the breakpoint instruction")
        XCTAssertEqual(m.cpu.dr6 & 0xF, 0x4, "B2")
    }

    /// §18.3.1.4: a POPF that sets TF traps after the instruction that follows it — also when
    /// the run returns at the boundary after the POPF and resumes (budgets of 1, 2, 3 and
    /// 100 instructions per call: each boundary is passed once or twice).
    func testSingleStepTrapsAfterEachInstruction() {
        for slice: UInt64 in [100, 1, 2, 3] {
            let m = TestMachine()
            let a = Assembler(mode: .bits64, origin: code)
            a.pushf()
            a.or(qword[rsp], 0x100)    // TF
            a.popf()
            a.nop()                    // first stepped instruction
            let after = a.boundLabel()
            a.hlt()
            m.load(a.assemble(), at: code)
            m.enterLong64(entry: code, stack: 0x8_0000)
            Env.install(m)
            var stop = StopReason.budgetExhausted
            for _ in 0..<100 where stop == .budgetExhausted { stop = m.run(budget: slice) }
            XCTAssertEqual(stop, .halted)
            XCTAssertEqual(Env.recordedVector(m), 1)
            XCTAssertEqual(Env.frame(m, count: 1)[0], after.address, "slice \(slice): trap after the NOP that followed POPF")
            XCTAssertEqual(m.cpu.dr6 & 0x4000, 0x4000, "BS")
        }
    }
}

final class DataBreakpointTests: XCTestCase {
    typealias Env = LongModeEnvironment

    /// A data breakpoint hit by MOV SS is delayed past the next instruction and, when that
    /// instruction is ICEBP, reported with it in a single #DB (SDM Vol. 3A §6.8.3).
    func testMovSSWatchpointMergesWithICEBP() throws {
        let m = TestMachine()
        let code: UInt64 = 0x10_0000, value: UInt64 = 0x7_0000
        let a = Assembler(mode: .bits64, origin: code)
        a.mov(rax, Int64(value)); a.mov(dr1, rax)
        a.mov(eax, 0x00F0_040A); a.mov(dr7, rax)
        a.clc()
        a.mov(SegmentRegister.ss, word[Int64(value)])
        a.db(0x2E, 0x2E, 0xF1)
        a.hlt()
        m.load(a.assemble(), at: code)
        try m.memory.store(UInt16(LongModeEnvironment.kernelSS), at: value)
        m.enterLong64(entry: code, stack: 0x8_0000)
        Env.install(m)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(Env.recordedVector(m), 1)
        XCTAssertEqual(m.cpu.dr6 & 0xF, 0x2, "B1 reported with the ICEBP #DB")
        XCTAssertEqual(Env.frame(m, count: 1)[0], code + 29, "after the ICEBP: one #DB for both")
    }
}
