import XCTest
@testable import CPU
@testable import TestSupport

/// First end-to-end checks of fetch → decode → execute on hand-encoded code.
final class InterpreterSmokeTests: XCTestCase {
    func testLongModeLoopComputesSum() {
        let m = TestMachine()
        // mov ecx, 10 ; xor eax, eax ; l: add rax, rcx ; dec ecx ; jnz l ; hlt
        m.load([0xB9, 0x0A, 0, 0, 0, 0x31, 0xC0, 0x48, 0x01, 0xC8, 0xFF, 0xC9, 0x75, 0xF9, 0xF4], at: 0x10_0000)
        m.enterLong64(entry: 0x10_0000, stack: 0x20_0000)
        XCTAssertEqual(m.run(), .halted)
        XCTAssertEqual(m.reg(.rax), 55)
        XCTAssertEqual(m.reg(.rcx), 0)
        XCTAssertEqual(m.cpu.rip, 0x10_000F)
    }

    func testCallRetAndStack() {
        let m = TestMachine()
        // call f ; hlt ; f: mov rax, 0x1122334455667788 ; push rax ; pop rbx ; ret
        let code: [UInt8] = [0xE8, 0x01, 0, 0, 0, 0xF4,
                             0x48, 0xB8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                             0x50, 0x5B, 0xC3]
        m.load(code, at: 0x10_0000)
        m.enterLong64(entry: 0x10_0000, stack: 0x20_0000)
        XCTAssertEqual(m.run(), .halted)
        XCTAssertEqual(m.reg(.rbx), 0x1122_3344_5566_7788)
        XCTAssertEqual(m.reg(.rsp), 0x20_0000)
    }

    func testSelfModifyingCodeExecutesNewBytes() {
        let m = TestMachine()
        // l: mov al, [rip+x] ... simpler: mov byte [0x100010], 0x42 patches "mov bl, 0" imm;
        // 0x100000: c6 04 25 11 00 10 00 07   mov byte [0x100011], 7
        // 0x100008: 90 90 90 90 90 90 90 90 (pad)
        // 0x100010: b3 00                      mov bl, 0  (imm patched to 7)
        // 0x100012: f4                         hlt
        var code: [UInt8] = [0xC6, 0x04, 0x25, 0x11, 0x00, 0x10, 0x00, 0x07]
        code += [UInt8](repeating: 0x90, count: 8)
        code += [0xB3, 0x00, 0xF4]
        m.load(code, at: 0x10_0000)
        m.enterLong64(entry: 0x10_0000, stack: 0x20_0000)
        XCTAssertEqual(m.run(), .halted)
        XCTAssertEqual(m.reg(.rbx) & 0xFF, 7)
    }
}
