import Foundation
import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Conditional branches inside decoded blocks: a Jcc does not end its block (a taken one is a
/// side exit), and a flag-producing ALU/TEST form followed by a Jcc is fused into one
/// dispatch (`Op.fusedWithJcc`). Both must be invisible: the same registers, flags, RIPs and
/// retired-instruction counts as executing one instruction per `run` call, where every block
/// is cut to a single instruction and nothing fuses.
final class BlockSideExitTests: XCTestCase {
    let code: UInt64 = 0x10_0000

    /// Ten iterations with a forward Jcc taken on some and not on others, fused compares in
    /// every form the table fuses (r/m-reg, reg-r/m, acc-imm, r/m-imm, TEST), a memory compare,
    /// and a backward loop branch.
    func loopProgram(_ a: Assembler) {
        let top = a.label(), skip = a.label(), odd = a.label(), next = a.label()
        a.mov(ecx, 10); a.xor(eax, eax); a.xor(ebx, ebx); a.xor(edx, edx)
        a.mov(rsi, 0x8_0000); a.mov(dword[rsi], 12)
        a.bind(top)
        a.add(eax, 3)
        a.cmp(eax, 15)                 // r/m, imm
        a.j(.b, skip)
        a.add(ebx, 1)
        a.bind(skip)
        a.test(ecx, 1)                 // TEST r/m, imm
        a.jnz(odd)
        a.add(edx, eax)
        a.cmp(eax, dword[rsi])         // reg, r/m (memory)
        a.j(.a, next)
        a.sub(edx, 1)
        a.jmp(next)
        a.bind(odd)
        a.cmp(edx, eax)                // r/m, reg
        a.j(.le, next)
        a.add(edx, 100)
        a.bind(next)
        a.test(ebx, ebx)               // TEST r/m, reg
        a.j(.s, next)                  // never taken
        a.db(0x3C, 0x7F)               // CMP AL, 7FH (acc, imm)
        a.j(.g, next)                  // never taken (signed byte compare)
        a.db(0xA8, 0x80)               // TEST AL, 80H (acc, imm)
        a.j(.ne, next)                 // never taken (EAX ≤ 30)
        a.dec(ecx)
        a.jnz(top)
        a.hlt()
    }

    func machine() -> TestMachine {
        let m = TestMachine()
        let a = Assembler(mode: .bits64, origin: code)
        loopProgram(a)
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x9_0000)
        return m
    }

    struct Snapshot: Equatable {
        var gpr: [UInt64], rip: UInt64, rflags: UInt64, retired: UInt64
    }

    func snapshot(_ m: TestMachine) -> Snapshot {
        Snapshot(gpr: (0..<16).map { m.cpu.gpr[$0] }, rip: m.cpu.rip, rflags: m.cpu.rflags,
                 retired: m.cpu.instructionsRetired)
    }

    func testBlocksWithSideExitsAndFusedPairsMatchSingleInstructionExecution() {
        let single = machine()
        var steps: [Snapshot] = [snapshot(single)]
        while single.run(budget: 1) == .budgetExhausted { steps.append(snapshot(single)) }
        XCTAssertEqual(single.reg(.rcx), 0)
        XCTAssertEqual(single.reg(.rbx), 6, "iterations with EAX ≥ 15 (15, 18 … 30)")

        let blocks = machine()
        XCTAssertEqual(blocks.run(), .halted)
        XCTAssertEqual(snapshot(blocks), snapshot(single), "whole blocks: same final state and count")
        XCTAssertEqual(blocks.cpu.instructionsRetired, UInt64(steps.count - 1) + 1, "every step plus the HLT")

        // Every run budget stops on the same instruction boundary, inside a fused pair too.
        for budget in [2, 3, 5, 7] {
            let m = machine()
            var k = 0
            while true {
                let stop = m.run(budget: UInt64(budget))
                k += budget
                guard stop == .budgetExhausted, k < steps.count else { break }
                XCTAssertEqual(snapshot(m), steps[k], "budget \(budget), after \(k) instructions")
            }
        }
    }

    func testCompareFollowedByJccIsFusedInTheDecodedBlock() throws {
        let m = machine()
        XCTAssertEqual(m.run(), .halted)
        let cache = m.cpu.decodeCache
        let b = cache.lookup(DecodeCache.key(physical: code, codeSize: 8))
        XCTAssertGreaterThanOrEqual(b, 0)
        let blk = cache.blocks[Int(b)]
        let ops = (0..<Int(blk.count)).map { cache.instructions[Int(blk.start) + $0].op }
        XCTAssertTrue(ops.contains(.aluRMImmJcc), "\(ops)")
        XCTAssertTrue(ops.contains(.testRMImmJcc), "\(ops)")
        XCTAssertTrue(ops.contains(.jcc), "\(ops)")
        XCTAssertGreaterThan(ops.firstIndex(of: .jcc)!, 0)
        XCTAssertLessThan(ops.firstIndex(of: .jcc)! + 1, ops.count, "the block goes on past its first Jcc")
    }

    /// SDM Vol. 2A "Jcc": a target beyond the CS limit is #GP(0) at the Jcc, after the fused
    /// compare retired. With no IDT the #GP becomes a triple fault, which leaves RIP at the
    /// Jcc and the compare's flags in place.
    func testAFaultOnAFusedBranchTargetIsRaisedAtTheJcc() {
        let m = TestMachine()
        let a = Assembler(mode: .bits32, origin: code)
        let far = a.label()
        a.mov(eax, 5)
        a.cmp(eax, 5)
        a.je(far)
        a.hlt()
        a.align(0x2000)
        a.bind(far)
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterProtected32(entry: code, stack: 0x9_0000)
        m.cpu.setSegment(.cs, SegmentRegister(selector: 0x08, base: 0, limit: UInt32(code + 0xFFF), accessRights: 0x409B))
        m.cpu.idtr = DescriptorTableRegister(base: 0, limit: 0)
        XCTAssertEqual(m.run(), .shutdown)
        XCTAssertEqual(m.cpu.rip, code + 8, "at the Jcc (MOV is 5 bytes, CMP 3)")
        XCTAssertEqual(m.cpu.instructionsRetired, 2, "MOV and CMP retired")
        XCTAssertNotEqual(m.cpu.rflags & RFLAGS.zf, 0, "the CMP's ZF")
    }

    /// Random branchy code (compares, TESTs, ALU ops and short Jccs in both directions, with
    /// random bytes between them) in 64-bit and 32-bit mode: running it in blocks ends in the
    /// same state as single-instruction runs. MATRYOSHKA_FUZZ_CASES scales the program count.
    func testRandomBranchyCodeMatchesSingleInstructionExecution() {
        let programs = max(50, (Int(ProcessInfo.processInfo.environment["MATRYOSHKA_FUZZ_CASES"] ?? "") ?? 200_000) / 500)
        var rng = DifferentialTests.Rng(s: 0x51DE_E817_0000_0001)
        var fused = 0
        for round in 0..<programs {
            var code: [UInt8] = []
            while code.count < 240 {
                let r = UInt8(truncatingIfNeeded: rng.below(8))
                switch rng.below(9) {
                case 0: code += [0x83, 0xF8 | r, UInt8(truncatingIfNeeded: rng.boundary())]     // CMP r32, imm8
                case 1: code += [0x85, 0xC0 | r << 3 | UInt8(rng.below(8))]                      // TEST r32, r32
                case 2: code += [0x39, 0xC0 | r << 3 | UInt8(rng.below(8))]                      // CMP r/m32, r32
                case 3: code += [0x3C, UInt8(truncatingIfNeeded: rng.next())]                    // CMP AL, imm8
                case 4: code += [0x01 | UInt8(rng.below(8)) << 3, 0xC0 | r << 3 | UInt8(rng.below(8))]   // ALU r/m32, r32
                case 5, 6:
                    let disp = Int8(truncatingIfNeeded: rng.below(40) - 24)                     // mostly forward, some loops
                    code += [0x70 | UInt8(rng.below(16)), UInt8(bitPattern: disp)]
                case 7: code += [0xB8 | r] + (0..<4).map { _ in UInt8(truncatingIfNeeded: rng.boundary()) }   // MOV r32, imm32
                default: code += (0..<rng.below(4) + 1).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                }
            }
            code += [0xF4]
            func machine() -> TestMachine {
                let m = TestMachine(memorySize: 4 << 20)
                try! m.memory.write(code, at: code64Base)
                if round % 2 == 0 { m.enterLong64(entry: code64Base, stack: 0x8_0000) }
                else { m.enterProtected32(entry: code64Base, stack: 0x8_0000) }
                m.cpu.idtr = DescriptorTableRegister(base: 0, limit: 0)   // a fault ends in shutdown
                return m
            }
            let single = machine()
            // One instruction per call up to the block run's budget (a REP string instruction
            // retires a chunk of iterations per call, as it does in a block).
            var singleStop = StopReason.budgetExhausted
            for _ in 0..<100_000 where single.cpu.instructionsRetired < 3000 {
                singleStop = single.run(budget: 1)
                if singleStop != .budgetExhausted { break }
            }
            let blocks = machine()
            let blockStop = blocks.run(budget: 3000)
            XCTAssertEqual(blockStop, singleStop, "round \(round)")
            XCTAssertEqual(snapshot(blocks), snapshot(single), "round \(round): \(code)")
            let cache = blocks.cpu.decodeCache
            let fusedForms: Set<Op> = [.aluRMRegJcc, .aluRegRMJcc, .aluAccImmJcc, .aluRMImmJcc, .testRMRegJcc, .testAccImmJcc, .testRMImmJcc]
            fused += (0..<cache.usedInstructions).filter { fusedForms.contains(cache.instructions[$0].op) }.count
            if snapshot(blocks) != snapshot(single) { break }
        }
        XCTAssertGreaterThan(fused, programs, "the programs exercise fused pairs")
    }

    /// A REP string instruction with a count beyond one chunk (`Processor.repChunk`) leaves
    /// RIP on itself after each chunk; the instructions after it in the block must wait
    /// until the count is done (SDM Vol. 2B "REP": RCX iterations, then the next
    /// instruction) — found by the random programs above with MATRYOSHKA_FUZZ_CASES=10⁶.
    func testRepeatedStringInstructionBeyondAChunkEndsItsBlock() {
        for (bits64, op) in [(true, 0x6E as UInt8), (true, 0xAA), (false, 0x6F), (false, 0xAB)] {   // OUTS, STOS
            let a = Assembler(mode: bits64 ? .bits64 : .bits32, origin: code)
            a.mov(ecx, 5000); a.mov(esi, 0x20_0000); a.mov(edi, 0x20_0000); a.xor(eax, eax); a.mov(edx, 0x80)
            a.rep(); a.db(op)
            a.inc(eax); a.add(ebx, ecx)
            a.hlt()
            let m = TestMachine(memorySize: 4 << 20)
            m.load(a.assemble(), at: code)
            if bits64 { m.enterLong64(entry: code, stack: 0x8_0000) } else { m.enterProtected32(entry: code, stack: 0x8_0000) }
            XCTAssertEqual(m.run(budget: 100_000), .halted, "op \(op)")
            XCTAssertEqual(m.reg(.rcx), 0, "op \(op): all 5000 iterations")
            XCTAssertEqual(m.reg(.rax) & 0xFFFF_FFFF, 1, "op \(op): INC once, after the REP")
            XCTAssertEqual(m.reg(.rbx), 0, "op \(op): ADD after the REP sees RCX = 0")
            XCTAssertEqual(m.cpu.instructionsRetired, 5 + 5000 + 3, "op \(op)")
        }
    }

    let code64Base: UInt64 = 0x10_0000
}
