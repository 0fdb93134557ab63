import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// REP MOVS and REP STOS in VMX non-root operation, where whole runs within a page are
/// copied or filled at once (`BulkStringTransfer`): results and retired-instruction counts as
/// one iteration at a time, at most `repChunk` iterations between boundaries, one iteration
/// under the monitor trap flag (SDM Vol. 3C §26.5.2), and an EPT violation at the iteration
/// that reaches the page, with RCX and RDI as the completed iterations left them.
final class NonRootStringTests: XCTestCase {
    let g = VMXTestGuest()
    var cpu: Processor { g.cpu }
    static let code = VMXTestGuest.code

    func testFillAndCopyAcrossPagesRetireEveryIteration() throws {
        let v = try g.vmcs { a in
            a.mov(rax, Int64(0x1122_3344_5566_7788))
            a.mov(edi, 0x20_0010); a.mov(ecx, 3000); a.rep(); a.stos(8)          // 24,000 bytes, 7 pages
            a.mov(esi, 0x20_0010); a.mov(edi, 0x30_0003); a.mov(ecx, 10_000); a.rep(); a.movsb()
            a.hlt()
        }
        let start = cpu.instructionsRetired
        var outcome = VMRunOutcome.budgetExhausted
        for _ in 0..<20 where outcome == .budgetExhausted { outcome = cpu.run(vmcs: v, budget: 100_000) }
        XCTAssertEqual(outcome, .halted)
        XCTAssertEqual(cpu.instructionsRetired - start, 3 + 3000 + 3 + 10_000 + 1)
        XCTAssertEqual(cpu.gpr[GPR.rcx.rawValue], 0)
        XCTAssertEqual(cpu.gpr[GPR.rsi.rawValue], 0x20_0010 + 10_000)
        XCTAssertEqual(cpu.gpr[GPR.rdi.rawValue], 0x30_0003 + 10_000)
        for k in stride(from: 0, to: 3000, by: 7) {
            XCTAssertEqual(try g.memory.load(UInt64.self, at: 0x20_0010 + UInt64(k) * 8), 0x1122_3344_5566_7788)
        }
        XCTAssertEqual(try g.memory.load(UInt64.self, at: 0x20_0010 + 3000 * 8), 0, "nothing past the count")
        for k in stride(from: 0, to: 10_000, by: 13) {
            let byte = UInt8(truncatingIfNeeded: UInt64(0x1122_3344_5566_7788) >> (8 * UInt64(k % 8)))
            XCTAssertEqual(try g.memory.load(UInt8.self, at: 0x30_0003 + UInt64(k)), byte, "byte \(k)")
        }
        XCTAssertEqual(try g.memory.load(UInt8.self, at: 0x30_0003 + 10_000), 0)
    }

    /// A run of 10,000 iterations stops at the budget after one chunk of 4096, RIP on the REP.
    func testAChunkIsAtMostRepChunkIterations() throws {
        let v = try g.vmcs { a in a.mov(edi, 0x20_0010); a.mov(ecx, 10_000); a.rep(); a.stosb(); a.hlt() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 3), .budgetExhausted)
        XCTAssertEqual(cpu.gpr[GPR.rcx.rawValue], 10_000 - Processor.repChunk)
        XCTAssertEqual(cpu.gpr[GPR.rdi.rawValue], 0x20_0010 + Processor.repChunk)
        XCTAssertEqual(v[.guestRIP], Self.code + 10)
    }

    /// The monitor trap flag stops a REP STOS long enough for the bulk path after one iteration.
    func testMonitorTrapFlagStopsALongREPAfterOneIteration() throws {
        let v = try g.vmcs { a in a.mov(ecx, 20); a.mov(edi, 0x9000); a.rep(); a.stosb() }
        v.enable(PrimaryProcessorBasedControls.monitorTrapFlag)
        for _ in 0..<3 { XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag)) }
        XCTAssertEqual(cpu.gpr[GPR.rcx.rawValue], 19, "one iteration done")
        XCTAssertEqual(v[.guestRIP], Self.code + 10, "still at REP STOSB")
    }

    /// EPT maps 0–2 MiB by a 2-MByte page and 2–4 MiB by 4-KByte pages, 201000H read-only: a
    /// fill from 200F00H writes 100H bytes, then exits at 201000H with RCX and RDI there.
    func testEPTViolationAtTheIterationThatReachesTheReadOnlyPage() throws {
        let v = try g.vmcs { a in a.mov(edi, 0x20_0F00); a.mov(ecx, 0x300); a.mov(al, 0x5A); a.rep(); a.stosb(); a.hlt() }
        let pml4: UInt64 = 0xB000, pdpt: UInt64 = 0xC000, pd: UInt64 = 0xD000, pt: UInt64 = 0xE000
        try g.memory.store(pdpt | 7, at: pml4)
        try g.memory.store(pd | 7, at: pdpt)
        try g.memory.store(UInt64(0x87) | (6 << 3), at: pd)                // 2 MiB page, RWX, WB
        try g.memory.store(pt | 7, at: pd + 8)
        for k in 0..<512 {
            let rights: UInt64 = k == 1 ? 5 : 7                             // 201000H: read + execute
            try g.memory.store((0x20_0000 + UInt64(k) << 12) | rights | (6 << 3), at: pt + UInt64(k) * 8)
        }
        v[.primaryProcessorBasedControls] |= UInt64(PrimaryProcessorBasedControls.activateSecondaryControls.rawValue)
        v[.secondaryProcessorBasedControls] = UInt64(SecondaryProcessorBasedControls.enableEPT.rawValue)
        v[.eptPointer] = EPTPointer.make(root: pml4).raw
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10_000), .vmExit(.eptViolation))
        XCTAssertEqual(v[.guestPhysicalAddress], 0x20_1000)
        XCTAssertEqual(v[.exitQualification] & 0x3, 0x2, "a data write")
        XCTAssertEqual(cpu.gpr[GPR.rcx.rawValue], 0x200)
        XCTAssertEqual(cpu.gpr[GPR.rdi.rawValue], 0x20_1000)
        XCTAssertEqual(v[.guestRIP], Self.code + 12, "at REP STOSB")
        XCTAssertEqual(try g.memory.load(UInt8.self, at: 0x20_0FFF), 0x5A)
        XCTAssertEqual(try g.memory.load(UInt8.self, at: 0x20_1000), 0)
    }
}
