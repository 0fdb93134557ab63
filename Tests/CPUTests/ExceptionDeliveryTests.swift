import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Exception and interrupt delivery in 64-bit mode: frames, IST, privilege changes, #DF and
/// triple fault (SDM Vol. 3A §6.14, §6.15).
final class ExceptionDeliveryTests: XCTestCase {
    typealias Env = LongModeEnvironment
    let code: UInt64 = 0x10_0000

    func machine(_ build: (Assembler) -> Void, ist1: Set<UInt8> = [], notPresent: Set<UInt8> = []) -> TestMachine {
        let m = TestMachine()
        let a = Assembler(mode: .bits64, origin: code)
        build(a)
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        Env.install(m, ist1Vectors: ist1, notPresent: notPresent)
        return m
    }

    func testGeneralProtectionFrameIn64BitMode() {
        // A non-canonical memory access: #GP(0), RIP of the faulting instruction.
        let m = machine { a in
            a.mov(rax, unsigned: 0x8000_0000_0000_0000)
            a.mov(rbx, qword[rax])
        }
        m.cpu.gpr[GPR.rsp.rawValue] = 0x8_0008   // misaligned: the frame must start 16-byte aligned
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(Env.recordedVector(m), 13)
        let f = Env.frame(m, count: 6)
        XCTAssertEqual(f[0], 0, "error code")
        XCTAssertEqual(f[1], code + 10, "RIP of the faulting MOV")
        XCTAssertEqual(f[2], UInt64(Env.kernelCS))
        XCTAssertEqual(f[3] & 0x2, 0x2, "RFLAGS")
        XCTAssertEqual(f[4], 0x8_0008, "old RSP")
        XCTAssertEqual(f[5], UInt64(Env.kernelSS))
        XCTAssertEqual((Env.frameRSP(m) + 8 * 6) & 0xF, 0, "frame aligned to 16 bytes")
    }

    func testUserToKernelUsesRSP0AndInterruptStackTable() {
        let m = machine({ a in
            a.int(0x80)
        }, ist1: [0x80])
        Env.enterUser(m, entry: code, stack: 0x7_0000)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(Env.recordedVector(m), 0x80)
        let f = Env.frame(m, count: 5)
        XCTAssertEqual(f[0], code + 2, "INT n saves the next RIP")
        XCTAssertEqual(f[1], UInt64(Env.userCS))
        XCTAssertEqual(f[3], 0x7_0000, "user RSP")
        XCTAssertEqual(f[4], UInt64(Env.userSS))
        XCTAssertEqual(Env.frameRSP(m), Env.istStackTop - 40, "IST1 stack")
        XCTAssertEqual(m.cpu.cpl, 0)
        XCTAssertEqual(m.cpu.segment(.ss).selector, 0, "null SS with RPL 0 after the privilege change")

        // Without IST the TSS's RSP0 is used.
        let m2 = machine { a in a.int(0x80) }
        Env.enterUser(m2, entry: code, stack: 0x7_0000)
        XCTAssertEqual(m2.run(budget: 100), .halted)
        XCTAssertEqual(Env.frameRSP(m2), Env.kernelStackTop - 40)
    }

    func testUserInterruptThroughKernelOnlyGateIsGP() {
        let m = machine { a in a.int(0x40) }
        Env.enterUser(m, entry: code, stack: 0x7_0000)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(Env.recordedVector(m), 13)
        XCTAssertEqual(Env.frame(m, count: 1)[0], 0x40 * 8 + 2, "error code names the IDT gate")
    }

    func testDoubleFaultWhenGPHandlerGateIsNotPresent() {
        // #GP whose gate is not present → #NP during delivery → #DF(0).
        let m = machine({ a in
            a.mov(rax, unsigned: 0x8000_0000_0000_0000)
            a.mov(rbx, qword[rax])
        }, notPresent: [13])
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(Env.recordedVector(m), 8)
        XCTAssertEqual(Env.frame(m, count: 1)[0], 0, "#DF pushes error code 0")
    }

    func testTripleFaultShutsDown() {
        let m = machine({ a in a.ud2() }, notPresent: [6, 8, 11])
        XCTAssertEqual(m.run(budget: 100), .shutdown)
        XCTAssertEqual(m.cpu.activity, .shutdown)
    }

    func testBreakpointAndPageFaultErrorCodeAndCR2() {
        let m = machine { a in
            a.int3()
        }
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(Env.recordedVector(m), 3)
        XCTAssertEqual(Env.frame(m, count: 1)[0], code + 1, "INT3 is a trap: next RIP")

        // Write to an address above the 1 GiB identity map: not present, write, supervisor.
        let m2 = machine { a in
            a.mov(rax, 0x4000_1234)
            a.mov(qword[rax], rbx)
        }
        XCTAssertEqual(m2.run(budget: 100), .halted)
        XCTAssertEqual(Env.recordedVector(m2), 14)
        XCTAssertEqual(Env.frame(m2, count: 1)[0], 0x2, "W/R = 1, P = 0, U/S = 0")
        XCTAssertEqual(m2.cpu.cr2, 0x4000_1234)
    }

    func testExternalInterruptInjectionHonoursIFAndSTIShadow() {
        let m = machine { a in
            a.sti()
            a.nop()
            a.nop()
            a.hlt()
        }
        XCTAssertFalse(m.cpu.interruptWindowOpen, "IF = 0")
        XCTAssertFalse(m.cpu.injectInterrupt(vector: 0x30))
        XCTAssertEqual(m.run(budget: 1), .budgetExhausted)     // STI
        XCTAssertFalse(m.cpu.interruptWindowOpen, "blocked by STI for one instruction")
        XCTAssertEqual(m.run(budget: 1), .budgetExhausted)     // NOP
        XCTAssertTrue(m.cpu.injectInterrupt(vector: 0x30))
        XCTAssertEqual(m.run(budget: 10), .halted)
        XCTAssertEqual(Env.recordedVector(m), 0x30)
        XCTAssertEqual(Env.frame(m, count: 1)[0], code + 2, "interrupted before the second NOP")
        XCTAssertEqual(Env.frame(m, count: 3)[2] & 0x200, 0x200, "saved RFLAGS.IF = 1")
        XCTAssertEqual(m.cpu.rflags & 0x200, 0, "interrupt gate cleared IF")
    }

    func testMovSSShadowBlocksInterrupts() {
        let m = machine { a in
            a.sti()
            a.nop()
            a.mov(ax, Int64(LongModeEnvironment.kernelSS))
            a.mov(SegmentRegister.ss, ax)
            a.nop()
            a.hlt()
        }
        XCTAssertEqual(m.run(budget: 4), .budgetExhausted)     // STI, NOP, MOV AX, MOV SS
        XCTAssertFalse(m.cpu.interruptWindowOpen, "blocked by MOV SS")
        XCTAssertFalse(m.cpu.injectNMI(), "MOV SS blocks NMI too")
        XCTAssertEqual(m.run(budget: 1), .budgetExhausted)
        XCTAssertTrue(m.cpu.injectNMI())
        XCTAssertFalse(m.cpu.injectNMI(), "NMIs blocked until IRET")
    }

    func testSyscallSysretRoundTrip() {
        let kernel: UInt64 = 0x20_0000
        let m = machine { a in
            a.syscall()
            a.mov(rdx, 0x55)
            a.hlt()
        }
        let k = Assembler(mode: .bits64, origin: kernel)
        k.mov(rbx, rcx)      // return RIP
        k.mov(r12, r11)      // saved RFLAGS
        k.sysret()
        m.load(k.assemble(), at: kernel)
        m.cpu.setControlRegisters(cr0: m.cpu.cr0, cr3: m.cpu.cr3, cr4: m.cpu.cr4, efer: m.cpu.efer | EFER.sce)
        m.cpu.msr.star = (UInt64(0x10) << 48) | (UInt64(Env.kernelCS) << 32)
        m.cpu.msr.lstar = kernel
        m.cpu.msr.sfmask = 0x200
        Env.enterUser(m, entry: code, stack: 0x7_0000)
        m.cpu.setRFLAGS(0x202)
        XCTAssertEqual(m.run(budget: 2), .budgetExhausted)      // SYSCALL, MOV
        XCTAssertEqual(m.cpu.cpl, 0)
        XCTAssertEqual(m.cpu.segment(.cs).selector, Env.kernelCS)
        XCTAssertEqual(m.cpu.rflags & 0x200, 0, "SFMASK cleared IF")
        XCTAssertEqual(m.run(budget: 2), .budgetExhausted)      // MOV, SYSRET
        XCTAssertEqual(m.cpu.cpl, 3)
        XCTAssertEqual(m.cpu.segment(.cs).selector, Env.userCS)
        XCTAssertEqual(m.cpu.segment(.ss).selector, Env.userSS)
        XCTAssertEqual(m.reg(.rbx), code + 2)
        XCTAssertEqual(m.reg(.r12) & 0x200, 0x200)
        XCTAssertEqual(m.cpu.rip, code + 2)
        XCTAssertEqual(m.cpu.rflags & 0x200, 0x200, "SYSRET restored RFLAGS from R11")
    }
}
