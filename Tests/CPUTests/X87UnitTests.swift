import Foundation
import XCTest
@testable import CPU
@testable import TestSupport

/// Unit tests of the x87 FPU: #MF delivery and FNCLEX, #NM with CR0.EM/TS/MP, #UD without
/// the feature, stack overflow/underflow, FNINIT state, the FNSAVE/FRSTOR images in
/// real-mode and protected-mode layouts, unmasked overflow bias adjustment.
final class X87UnitTests: XCTestCase {
    static let code: UInt64 = 0x10_0000
    static let scratch: UInt64 = 0x20_0000
    static let fninit: [UInt8] = [0xDB, 0xE3], fnclex: [UInt8] = [0xDB, 0xE2], fwait: [UInt8] = [0x9B]
    static let fld1: [UInt8] = [0xD9, 0xE8], fldz: [UInt8] = [0xD9, 0xEE], fldpi: [UInt8] = [0xD9, 0xEB]
    static let fdivp: [UInt8] = [0xDE, 0xF9]
    static func mem(_ esc: UInt8, _ reg: Int, _ disp: Int) -> [UInt8] { X87DifferentialTests.mem(esc, reg, disp) }

    /// Runs `body` + HLT in 64-bit mode with the recording IDT; RBX = scratch.
    func runLong(_ body: [UInt8], x87: Bool = true, cr0Set: UInt64 = 0, cr0Clear: UInt64 = 0,
                 scratch: [UInt8] = []) -> TestMachine {
        var noX87 = CPUModel.default
        noX87.features.remove(.x87)
        let m = TestMachine(model: x87 ? X87DifferentialTests.x87Model : noX87)
        m.enterLong64(entry: Self.code, stack: 0x8_0000)
        LongModeEnvironment.install(m)
        m.load(body + [0xF4], at: Self.code)
        if !scratch.isEmpty { m.load(scratch, at: Self.scratch) }
        m.cpu.gpr[GPR.rbx.rawValue] = Self.scratch
        let c = m.cpu
        c.setControlRegisters(cr0: (c.cr0 | cr0Set) & ~cr0Clear, cr3: c.cr3, cr4: c.cr4, efer: c.efer)
        XCTAssertEqual(m.run(budget: 10_000), .halted)
        return m
    }

    func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }

    // MARK: #MF

    func testUnmaskedZeroDivideRaisesMFOnFWAIT() {
        let pre = Self.fninit + Self.mem(0xD9, 5, 0) + Self.fld1 + Self.fldz + Self.fdivp
        let m = runLong(pre + Self.fwait, scratch: le16(0x037B))
        XCTAssertEqual(LongModeEnvironment.recordedVector(m), 16)
        XCTAssertEqual(LongModeEnvironment.frame(m, count: 1)[0], Self.code + UInt64(pre.count), "#MF is a fault on FWAIT")
        let c = m.cpu.extended.control
        XCTAssertEqual(c.statusWord & 0x80FF, 0x8084, "ZE, ES and B")
        XCTAssertEqual(c.top, 6, "unmasked #Z: no pop")
        XCTAssertEqual(m.cpu.st(1), .one, "unmasked #Z: destination unchanged")
    }

    func testPendingExceptionRaisesMFOnNextWaitingX87Instruction() {
        let pre = Self.fninit + Self.mem(0xD9, 5, 0) + Self.fld1 + Self.fldz + Self.fdivp
        // FNSTSW AX (no-wait) passes; the next FLD1 faults.
        let m = runLong(pre + [0xDF, 0xE0] + Self.fld1, scratch: le16(0x037B))
        XCTAssertEqual(LongModeEnvironment.recordedVector(m), 16)
        XCTAssertEqual(LongModeEnvironment.frame(m, count: 1)[0], Self.code + UInt64(pre.count + 2))
        XCTAssertEqual(m.reg(.rax) & 0x80, 0x80, "FNSTSW AX saw ES")
    }

    func testFNCLEXClearsThePendingException() {
        let body = Self.fninit + Self.mem(0xD9, 5, 0) + Self.fld1 + Self.fldz + Self.fdivp + Self.fnclex + Self.fwait + Self.fld1
        let m = runLong(body, scratch: le16(0x037B))
        XCTAssertNil(LongModeEnvironment.recordedVector(m))
        XCTAssertEqual(m.cpu.extended.control.status & 0x80FF, 0)
    }

    func testNoWaitInstructionsDoNotRaiseMF() {
        let body = Self.fninit + Self.mem(0xD9, 5, 0) + Self.fld1 + Self.fldz + Self.fdivp
            + Self.mem(0xD9, 7, 16) + Self.mem(0xDD, 7, 18) + Self.mem(0xD9, 6, 32) + Self.mem(0xDD, 6, 64) + Self.fninit + Self.fwait
        let m = runLong(body, scratch: le16(0x037B))
        XCTAssertNil(LongModeEnvironment.recordedVector(m))
        XCTAssertEqual(try m.memory.load(UInt16.self, at: Self.scratch + 16), 0x037B)
        XCTAssertEqual(try m.memory.load(UInt16.self, at: Self.scratch + 18) & 0x80, 0x80)
        XCTAssertEqual(m.cpu.extended.control.control, 0x037F)
    }

    func testMaskedZeroDivideGivesInfinityWithoutFault() {
        let m = runLong(Self.fninit + Self.fld1 + Self.fldz + Self.fdivp + Self.fwait)
        XCTAssertNil(LongModeEnvironment.recordedVector(m))
        XCTAssertEqual(m.cpu.st(0), X87Register(significand: 1 << 63, signExponent: 0x7FFF))
        XCTAssertEqual(m.cpu.extended.control.statusWord, 0x3804, "ZE, TOP 7")
    }

    // MARK: #NM and #UD

    func testDeviceNotAvailable() {
        XCTAssertEqual(LongModeEnvironment.recordedVector(runLong(Self.fld1, cr0Set: CR0.em)), 7)
        XCTAssertEqual(LongModeEnvironment.recordedVector(runLong(Self.fld1, cr0Set: CR0.ts)), 7)
        XCTAssertNil(LongModeEnvironment.recordedVector(runLong(Self.fwait, cr0Set: CR0.ts, cr0Clear: CR0.mp)))
        XCTAssertEqual(LongModeEnvironment.recordedVector(runLong(Self.fwait, cr0Set: CR0.ts | CR0.mp)), 7)
        XCTAssertNil(LongModeEnvironment.recordedVector(runLong(Self.fwait, cr0Set: CR0.em, cr0Clear: CR0.ts)),
                     "WAIT ignores EM")
    }

    func testWithoutTheFeatureESCIsUndefined() {
        XCTAssertEqual(LongModeEnvironment.recordedVector(runLong(Self.fld1, x87: false)), 6)
        XCTAssertEqual(LongModeEnvironment.recordedVector(runLong(Self.fld1, x87: false, cr0Set: CR0.ts)), 7)
    }

    func testReservedEncodingsAreUndefined() {
        for bytes: [UInt8] in [[0xD9, 0xD1], [0xD9, 0xE2], [0xD9, 0xEF], [0xDB, 0xE5], [0xDB, 0xF8], [0xDD, 0xF0],
                               [0xDE, 0xD8], [0xDF, 0xE1], [0xDF, 0xF8], [0xDA, 0xE0]] + [Self.mem(0xD9, 1, 0), Self.mem(0xDB, 4, 0), Self.mem(0xDD, 5, 0)] {
            XCTAssertEqual(LongModeEnvironment.recordedVector(runLong(Self.fninit + bytes)), 6, "\(bytes)")
        }
    }

    // MARK: Stack faults and FNINIT

    func testStackOverflowAndUnderflow() {
        var m = runLong(Self.fninit + Array([[UInt8]](repeating: Self.fld1, count: 9).joined()))
        var c = m.cpu.extended.control
        XCTAssertEqual(c.status & 0x0241, 0x0241, "IE, SF, C1 = 1")
        XCTAssertEqual(m.cpu.st(0), .indefinite)
        XCTAssertEqual(c.top, 7)
        XCTAssertEqual(c.tags, 0x8000, "R0–R6 valid, R7 (the overwritten ST(0)) special")
        m = runLong(Self.fninit + [0xD8, 0xC1])                          // FADD ST(0), ST(1) on an empty stack
        c = m.cpu.extended.control
        XCTAssertEqual(c.status & 0x0241, 0x0041, "IE, SF, C1 = 0")
        XCTAssertEqual(m.cpu.st(0), .indefinite)
    }

    func testFNINITState() {
        let m = runLong(Self.fld1 + Self.fninit)
        let c = m.cpu.extended.control
        XCTAssertEqual(c.control, 0x037F)
        XCTAssertEqual(c.statusWord, 0)
        XCTAssertEqual(c.tags, 0xFFFF)
        XCTAssertEqual(m.cpu.x87TagWord(), 0xFFFF)
    }

    /// kvm-unit-tests realmode.c test_fninit: FSW 0 and (FCW & 0x103f) == 0x003f.
    func testRealModeFNINIT() throws {
        let m = TestMachine(model: X87DifferentialTests.x87Model)
        m.enterReal(ip: 0x1000)
        m.load(Self.fninit + [0x67, 0xDD, 0x38, 0x67, 0xD9, 0x3B, 0xF4], at: 0x1000)
        m.load([UInt8](repeating: 0xFF, count: 32), at: 0x2000)
        m.cpu.gpr[GPR.rax.rawValue] = 0x2000
        m.cpu.gpr[GPR.rbx.rawValue] = 0x2010
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(try m.memory.load(UInt16.self, at: 0x2000), 0)
        XCTAssertEqual(try m.memory.load(UInt16.self, at: 0x2010) & 0x103F, 0x003F)
    }

    // MARK: FNSAVE / FRSTOR images

    func checkImage(_ m: TestMachine, _ a: UInt64, _ b: UInt64, size: Int) throws {
        let x = try m.memory.read(at: a, length: size), y = try m.memory.read(at: b, length: size)
        XCTAssertEqual(x, y, "FRSTOR then FNSAVE reproduces the image")
        let env = size == 94 ? 14 : 28, unit = size == 94 ? 2 : 4
        func word(_ k: Int) -> UInt16 { UInt16(x[k * unit]) | UInt16(x[k * unit + 1]) << 8 }
        XCTAssertEqual(word(0), 0x037F)
        XCTAssertEqual(word(1), 0x2800, "TOP 5")
        XCTAssertEqual(word(2), 0x07FF, "R5 zero, R6 R7 valid, others empty")
        XCTAssertEqual(Array(x[env..<env + 10]), [UInt8](repeating: 0, count: 10), "ST(0) = +0")
        XCTAssertEqual(Array(x[env + 10..<env + 20]), [0x35, 0xC2, 0x68, 0x21, 0xA2, 0xDA, 0x0F, 0xC9, 0x00, 0x40], "ST(1) = pi")
        XCTAssertEqual(Array(x[env + 20..<env + 30]), [0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F], "ST(2) = 1")
    }

    func testSaveRestoreRealMode() throws {
        let m = TestMachine(model: X87DifferentialTests.x87Model)
        m.enterReal(cs: 0x100, ip: 0x10)
        // FNSAVE [0x3000] = DD 36 00 30; FRSTOR [0x3000] = DD 26 00 30; FNSAVE [0x3100].
        let head = Self.fninit + Self.fld1 + Self.fldpi
        let body = head + Self.fldz + [0xDD, 0x36, 0x00, 0x30] + Self.fld1 + [0xDD, 0x26, 0x00, 0x30]
            + [0xDD, 0x36, 0x00, 0x31, 0xF4]
        m.load(body, at: 0x1010)
        XCTAssertEqual(m.run(budget: 100), .halted)
        try checkImage(m, 0x3000, 0x3100, size: 94)
        let img = try m.memory.read(at: 0x3000, length: 14)
        let fldzLinear = 0x1010 + head.count
        XCTAssertEqual(UInt16(img[6]) | UInt16(img[7]) << 8, UInt16(fldzLinear & 0xFFFF), "FIP 15:0 (linear)")
        XCTAssertEqual(UInt16(img[8]) | UInt16(img[9]) << 8, UInt16((fldzLinear >> 16) << 12) | 0x1EE, "FIP 19:16, FOP")
        XCTAssertEqual(m.cpu.extended.control.top, 0, "FNSAVE reinitializes")
    }

    func testSaveRestoreRealMode32BitFormat() throws {
        let m = TestMachine(model: X87DifferentialTests.x87Model)
        m.enterReal(ip: 0x1000)
        let body = Self.fninit + Self.fld1 + Self.fldpi + Self.fldz + [0x66, 0xDD, 0x36, 0x00, 0x30] + Self.fld1
            + [0x66, 0xDD, 0x26, 0x00, 0x30] + [0x66, 0xDD, 0x36, 0x00, 0x31, 0xF4]
        m.load(body, at: 0x1000)
        XCTAssertEqual(m.run(budget: 100), .halted)
        try checkImage(m, 0x3000, 0x3100, size: 108)
        let img = try m.memory.read(at: 0x3000, length: 28)
        XCTAssertEqual(UInt32(img[16]) | UInt32(img[17]) << 8 | UInt32(img[18]) << 16, 0x1EE, "FIP 31:16 << 12 | FOP")
        XCTAssertEqual(UInt16(img[12]) | UInt16(img[13]) << 8, 0x1006)
    }

    func testSaveRestoreProtectedMode() throws {
        for size16 in [false, true] {
            let m = TestMachine(model: X87DifferentialTests.x87Model)
            m.enterProtected32(entry: 0x10_0000, stack: 0x8_0000)
            m.cpu.gpr[GPR.rbx.rawValue] = 0x3000
            m.cpu.gpr[GPR.rsi.rawValue] = 0x3100
            let p: [UInt8] = size16 ? [0x66] : []
            let head = Self.fninit + Self.fld1 + Self.fldpi
            // FNSAVE [ebx] = DD 33, FRSTOR [ebx] = DD 23, FNSAVE [esi] = DD 36.
            let body = head + Self.fldz + p + [0xDD, 0x33] + Self.fld1 + p + [0xDD, 0x23] + p + [0xDD, 0x36, 0xF4]
            m.load(body, at: 0x10_0000)
            XCTAssertEqual(m.run(budget: 100), .halted)
            try checkImage(m, 0x3000, 0x3100, size: size16 ? 94 : 108)
            let img = try m.memory.read(at: 0x3000, length: 28)
            let fip = 0x10_0000 + UInt64(head.count)
            if size16 {
                XCTAssertEqual(UInt16(img[6]) | UInt16(img[7]) << 8, UInt16(fip & 0xFFFF))
                XCTAssertEqual(UInt16(img[8]) | UInt16(img[9]) << 8, 0x08, "FCS")
            } else {
                XCTAssertEqual(UInt32(img[12]) | UInt32(img[13]) << 8 | UInt32(img[14]) << 16 | UInt32(img[15]) << 24, UInt32(fip))
                XCTAssertEqual(UInt16(img[16]) | UInt16(img[17]) << 8, 0x08, "FCS")
                XCTAssertEqual(UInt16(img[18]) | UInt16(img[19]) << 8, 0x1EE, "FOP")
            }
        }
    }

    // MARK: Unmasked overflow

    func testUnmaskedOverflowDeliversBiasAdjustedResult() throws {
        // 2^16000 × 2^16000 with OM clear: exponent 32000 − 24576 = 7424.
        var s = le16(0x0377) + [UInt8](repeating: 0, count: 14)
        s += [0, 0, 0, 0, 0, 0, 0, 0x80] + le16(UInt16(16383 + 16000))
        let m = runLong(Self.fninit + Self.mem(0xD9, 5, 0) + Self.mem(0xDB, 5, 16) + Self.mem(0xDB, 5, 16) + [0xDE, 0xC9], scratch: s)
        XCTAssertEqual(m.cpu.st(0), X87Register(significand: 1 << 63, signExponent: UInt16(16383 + 7424)))
        XCTAssertEqual(m.cpu.extended.control.status & 0x80BF, 0x8088, "OE, ES, B")
    }
}

extension X87UnitTests {
    func testUnmaskedUnderflowDeliversBiasAdjustedResult() throws {
        // 2^-16000 × 2^-16000 with UM clear: exponent −32000 + 24576 = −7424; UE, PE clear.
        var s = le16(0x036F) + [UInt8](repeating: 0, count: 14)
        s += [0, 0, 0, 0, 0, 0, 0, 0x80] + le16(UInt16(16383 - 16000))
        let m = runLong(Self.fninit + Self.mem(0xD9, 5, 0) + Self.mem(0xDB, 5, 16) + Self.mem(0xDB, 5, 16) + [0xDE, 0xC9], scratch: s)
        XCTAssertEqual(m.cpu.st(0), X87Register(significand: 1 << 63, signExponent: UInt16(16383 - 7424)))
        XCTAssertEqual(m.cpu.extended.control.status & 0x80BF, 0x8090, "UE, ES, B")
    }

    func testInstructionAndDataPointers() throws {
        // FLD m64 [rbx+0x40] then FNSTENV [rbx+0x80]: FIP, FOP, FDP of the FLD; FCS/FDS selectors.
        let fld = Self.mem(0xDD, 0, 0x40)
        let m = runLong(Self.fninit + fld + Self.mem(0xD9, 6, 0x80))
        let e = try m.memory.read(at: Self.scratch + 0x80, length: 28)
        func d(_ k: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(e[4 * k + $1]) << UInt32(8 * $1) } }
        XCTAssertEqual(d(3), UInt32(Self.code + 2), "FIP")
        XCTAssertEqual(d(4) & 0xFFFF, 0x08, "FCS")
        XCTAssertEqual(d(4) >> 16, 0x583, "FOP = DD 83 → 101 1000 0011")
        XCTAssertEqual(d(5), UInt32(Self.scratch + 0x40), "FDP")
        XCTAssertEqual(m.cpu.extended.control.control, 0x037F | 0x3F, "FNSTENV masks all exceptions")
    }
}

extension X87UnitTests {
    /// Throughput of an x87 loop (MATRYOSHKA_X87_BENCH=1 prints it; no assertion).
    func testX87LoopThroughput() throws {
        guard ProcessInfo.processInfo.environment["MATRYOSHKA_X87_BENCH"] != nil else { throw XCTSkip("benchmark only") }
        // fninit; fld1; fldz; mov ecx, N; l: fadd st0, st1; fsqrt; fmul st0, st1; fst m64; loop l; hlt
        let loop: [UInt8] = [0xD8, 0xC1, 0xD9, 0xFA, 0xD8, 0xC9] + Self.mem(0xDD, 2, 8) + [0xE2, 0xF2]
        let m = TestMachine(model: X87DifferentialTests.x87Model)
        m.enterLong64(entry: Self.code, stack: 0x8_0000)
        m.load(Self.fninit + Self.fld1 + Self.fldz + [0xB9, 0x40, 0x42, 0x0F, 0x00] + loop + [0xF4], at: Self.code)
        m.cpu.gpr[GPR.rbx.rawValue] = Self.scratch
        let start = Date()
        XCTAssertEqual(m.run(budget: 10_000_000), .halted)
        let t = Date().timeIntervalSince(start)
        print(String(format: "X87 LOOP: %d instructions in %.3f s = %.1f ns/instruction", 5 * 1_000_000, t, t / 5e6 * 1e9))
    }
}
