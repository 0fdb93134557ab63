import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// RDPMC against what CPUID and the MSRs say is there: no counters on the Intel-vendor model
/// (CPUID.0AH version 0), the four legacy counters on an AMD-vendor one (AMD64 APM Vol. 2
/// §13.2.1), readable by RDPMC exactly as RDMSR reads them — what Linux's AMD PMU driver does.
final class PerformanceCounterTests: XCTestCase {
    typealias Env = LongModeEnvironment
    let code: UInt64 = 0x10_0000

    static var amd: CPUModel {
        var m = CPUModel()
        m.vendor = "AuthenticAMD"
        return m
    }

    func run64(model: CPUModel, user: Bool = false, pce: Bool = false, _ build: (Assembler) -> Void) -> TestMachine {
        Env.run(model: model, code: code, setup: { m in
            if pce { m.cpu.setControlRegisters(cr0: m.cpu.cr0, cr3: m.cpu.cr3, cr4: m.cpu.cr4 | CR4.pce, efer: m.cpu.efer) }
            if user { Env.enterUser(m, entry: self.code, stack: 0x7_0000) }
        }, build)
    }

    func rdpmc(_ a: Assembler) { a.db(0x0F, 0x33) }

    func testAMDRDPMCReadsTheLegacyCountersAsRDMSRDoes() {
        let m = run64(model: Self.amd) { a in
            a.mov(ecx, 0xC001_0006); a.mov(eax, 0x9ABC_DEF0); a.mov(edx, 0x1234); a.wrmsr()   // PerfCtr2
            a.mov(ecx, 2); rdpmc(a)
            a.mov(r8, rax); a.mov(r9, rdx)
            a.mov(ecx, 0xC001_0006); a.rdmsr()
            a.mov(r10, rax); a.mov(r11, rdx)
            a.mov(ecx, 4); rdpmc(a)                                   // no fifth legacy counter
        }
        XCTAssertEqual(m.reg(.r8), 0x9ABC_DEF0)
        XCTAssertEqual(m.reg(.r9), 0x1234)
        XCTAssertEqual(m.reg(.r10), m.reg(.r8))
        XCTAssertEqual(m.reg(.r11), m.reg(.r9))
        XCTAssertEqual(Env.recordedVector(m), 13, "RDPMC of counter 4: #GP(0)")
        XCTAssertEqual(Env.frame(m, count: 1)[0], 0, "error code 0")
    }

    func testAMDCountersAre48BitsWide() {
        let m = run64(model: Self.amd) { a in
            a.mov(ecx, 0xC001_0004); a.mov(eax, -1); a.mov(edx, -1); a.wrmsr()
            a.xor(ecx, ecx); rdpmc(a)
        }
        XCTAssertNil(Env.recordedVector(m))
        XCTAssertEqual(m.reg(.rax), 0xFFFF_FFFF)
        XCTAssertEqual(m.reg(.rdx), 0xFFFF)
    }

    func testTheIntelModelHasNoCountersToRead() {
        let m = run64(model: .default) { a in a.xor(ecx, ecx); rdpmc(a) }
        XCTAssertEqual(Env.recordedVector(m), 13)
        XCTAssertEqual(m.cpu.cpuidLeaf(0xA, 0), Processor.CPUIDResult(0, 0, 0, 0), "CPUID.0AH: version 0")
        XCTAssertNil(m.cpu.readMSR(0xC001_0004), "no AMD counters on the Intel model")
    }

    /// CR4.PCE = 0 makes RDPMC privileged (#GP at CPL 3); with PCE set user code reads them.
    func testRDPMCAtCPL3NeedsCR4PCE() {
        let denied = run64(model: Self.amd, user: true) { a in a.xor(ecx, ecx); rdpmc(a) }
        XCTAssertEqual(Env.recordedVector(denied), 13)
        let m = run64(model: Self.amd, user: true, pce: true) { a in a.mov(ecx, 1); rdpmc(a); a.mov(r8, 0x77); a.int(0x80) }
        XCTAssertEqual(Env.recordedVector(m), 0x80, "RDPMC ran at CPL 3")
        XCTAssertEqual(m.reg(.r8), 0x77)
    }
}
