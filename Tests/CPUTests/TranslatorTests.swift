import Foundation
import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// The block translator (`Sources/CPU/Translate`) must be invisible: every program ends in the
/// same registers, flags, RIP, memory, stop reason and retired-instruction count with
/// translation on as with every instruction interpreted. Programs loop so that their blocks
/// pass `BlockTranslations.threshold` and run translated for most iterations.
final class TranslatorTests: XCTestCase {
    static let code: UInt64 = 0x10_0000
    static let subroutine: UInt64 = 0x10_8000
    static let data: UInt64 = 0x20_0000
    static let dataSize = 0x2000
    static let stack: UInt64 = 0x8_0000
    static let ramEnd: UInt64 = 8 << 20
    /// Past the 1 GiB identity map of `enterLong64`: any access is a #PF.
    static let unmapped: UInt64 = 0x8000_0000

    struct Outcome: Equatable {
        var stop: StopReason
        var gpr: [UInt64], rip: UInt64, rflags: UInt64, retired: UInt64
        var data: [UInt8], stack: [UInt8]
    }

    /// Runs `program` (64-bit code at `code`, optional subroutine bytes) with translation on
    /// or off; returns the outcome and the number of blocks translated.
    static func run(_ program: [UInt8], subroutine sub: [UInt8] = [], translate: Bool,
                    budget: UInt64 = 200_000, setup: (TestMachine) -> Void = { _ in }) -> (Outcome, Int) {
        let m = TestMachine(memorySize: ramEnd)
        m.load(program, at: code)
        if !sub.isEmpty { m.load(sub, at: subroutine) }
        var seed: UInt64 = 0x1234_5678
        m.load((0..<dataSize).map { _ in seed = seed &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: seed >> 33) }, at: data)
        m.enterLong64(entry: code, stack: stack)
        m.cpu.idtr = DescriptorTableRegister(base: 0, limit: 0)    // a fault ends in shutdown
        m.cpu.setSegment(.fs, SegmentRegister(selector: 0, base: data, limit: 0xFFFF_FFFF, accessRights: 0xC093))
        m.cpu.setSegment(.gs, SegmentRegister(selector: 0, base: data + 0x1000, limit: 0xFFFF_FFFF, accessRights: 0xC093))
        m.cpu.translationEnabled = translate
        setup(m)
        var stop = StopReason.budgetExhausted
        var left = budget
        // Several run calls, so blocks are entered with budgets that do and do not cover them.
        while left > 0 {
            let slice = min(left, 997)
            stop = m.run(budget: slice)
            left -= slice
            if stop != .budgetExhausted { break }
        }
        let outcome = Outcome(stop: stop, gpr: (0..<16).map { m.cpu.gpr[$0] }, rip: m.cpu.rip, rflags: m.cpu.rflags,
                              retired: m.cpu.instructionsRetired,
                              data: try! m.memory.read(at: data, length: dataSize),
                              stack: try! m.memory.read(at: stack - 0x400, length: 0x400))
        return (outcome, m.cpu.decodeCache.translations?.blocksTranslated ?? 0)
    }

    /// Asserts both modes agree and that translation happened; returns the outcome.
    @discardableResult
    func assertSame(_ program: [UInt8], subroutine: [UInt8] = [], budget: UInt64 = 200_000,
                    _ what: String, file: StaticString = #filePath, line: UInt = #line,
                    setup: (TestMachine) -> Void = { _ in }) -> Outcome {
        let (interpreted, none) = Self.run(program, subroutine: subroutine, translate: false, budget: budget, setup: setup)
        let (translated, blocks) = Self.run(program, subroutine: subroutine, translate: true, budget: budget, setup: setup)
        XCTAssertEqual(none, 0, file: file, line: line)
        XCTAssertGreaterThan(blocks, 0, "\(what): something was translated", file: file, line: line)
        XCTAssertEqual(translated, interpreted, what, file: file, line: line)
        return translated
    }

    /// Runs `program` translated with one long budget to its HLT; the entries into host code.
    static func entriesToHalt(_ program: [UInt8]) -> UInt64 {
        let m = TestMachine(memorySize: ramEnd)
        m.load(program, at: code)
        m.enterLong64(entry: code, stack: stack)
        XCTAssertEqual(m.run(budget: 100_000), .halted)
        return UInt64(m.cpu.translatedEntries)
    }

    /// A loop of `iterations` around `body`, counted in R15, ending in HLT.
    static func loop(_ iterations: Int32 = 40, _ body: (Assembler) -> Void) -> [UInt8] {
        let a = Assembler(mode: .bits64, origin: code)
        let top = a.label()
        a.mov(r12, Int64(data)); a.mov(r14, Int64(unmapped))
        a.mov(r13, Int64(ramEnd - 4))                                      // accesses cross from RAM into nothing
        a.mov(r15d, Int64(iterations))
        a.bind(top)
        body(a)
        a.dec(r15d)
        a.jnz(top)
        a.hlt()
        return a.assemble()
    }

    // MARK: Targeted cases

    func testALUFlagsAndWidthsMatch() {
        let p = Self.loop { a in
            a.add(eax, ecx); a.adc(rdx, rax); a.sbb(bl, ah); a.sub(cx, dx)
            a.xor(r8d, r8d); a.or(r9, rbx); a.and(si, 0x7F0F); a.cmp(dil, 0x40)
            a.inc(ebp); a.dec(r9w); a.neg(r11); a.not(ecx)
            a.set(.b, dh); a.cmov(.le, esi, edx); a.cmov(.o, r8, r9)
            a.movzx(eax, bh); a.movsx(edx, ch); a.movsx(r8, cl); a.movsx(r10, word[r12 + 6]); a.movzx(r11d, byte[r12 + 0x33])
            a.lea(ebx, dword[rax + rcx * 4 + 0x1234]); a.lea(r9, qword[r12 + rbp * 8 - 8])
            a.add(ecx, 0x1357_9BDF); a.adc(al, 0x7F); a.sbb(eax, 1)
            a.shl(eax, 3); a.pushf(); a.pop(rbx)                           // AF/OF as the interpreter has them
            a.shr(r9, 17); a.lahf(); a.sar(edx, 31); a.set(.o, cl)
            a.shiftByCL(.shl, r10); a.shiftByCL(.shr, esi); a.shiftByCL(.sar, rbp); a.pushf(); a.pop(r11)
        }
        assertSame(p, "register forms")
    }

    /// PUSHF (all status flags, from the host, the frame or the block's entry) and BT (CF
    /// only; the other flags kept as the interpreter keeps them, not as the host leaves them).
    func testPushfAndBitTestMatch() {
        let p = Self.loop { a in
            a.pushf(); a.pop(rax)                                          // flags from the block's entry
            a.add(ecx, 0x3333_3333); a.pushf(); a.pop(rbx)                 // from the host
            a.bt(rcx, 63); a.pushf(); a.pop(rdx)                           // CF from BT, others kept
            a.bt(ecx, 33); a.set(.b, sil); a.bt(r9d, 0); a.cmov(.c, r10, rcx)
            a.sub(edi, 0x7FFF_FFFF); a.bt(qword[r12 + 0x10], 62); a.pushf(); a.pop(r8)
            a.bt(dword[r12 + 0x14], 37); a.adc(ebp, 0)
            a.bt(qword[r13], 35)                                           // crosses out of RAM
            a.shl(r11d, 5); a.bt(r11, 5); a.pushf(); a.pop(r11)            // after the shift's AF/OF
            a.bts(rax, 60); a.btr(ebx, 3); a.adc(r9d, 1); a.btc(rdx, 31)   // the bit written back
            a.bts(r14d, 40); a.btc(qword[r12 + 0x10], 7); a.btr(dword[r12 + 0x24], 33)
            a.set(.c, cl); a.bts(qword[r13], 1)                            // crosses out of RAM
        }
        assertSame(p, "PUSHF, BT, BTS, BTR, BTC")
    }

    func testMemoryOperandsMatch() {
        let p = Self.loop { a in
            a.mov(rax, qword[r12 + 0x10]); a.add(qword[r12 + 0x18], rax); a.sub(dword[r12 + 0x20], 3)
            a.xor(byte[r12 + 0x21], cl); a.mov(word[r12 + 0x30], cx); a.inc(dword[r12 + 0x40])
            a.cmp(dword[r12 + 0x40], 20); a.alu(.adc, ecx, dword[r12 + 0x44]); a.neg(word[r12 + 0x48])
            a.mov(dword[r12 + 0x50], 0x7654_3210); a.mov(qword[r12 + 0x58], -2)
            a.test(byte[r12 + 0x59], 0x81); a.set(.ne, byte[r12 + 0x60])
            a.mov(edx, dword[Address(displacement: 0x100)].on(.fs))        // FS base = data
            a.add(dword[Address(displacement: 0x104)].on(.gs), edx)         // GS base = data + 0x1000
            a.mov(rbx, qword[r13])                                          // crosses out of RAM
            a.add(qword[r13], 1)
            a.mov(esi, dword[Address.rip(0)])                                      // the next instruction's bytes
        }
        assertSame(p, "memory forms")
    }

    func testStackCallAndReturnMatch() {
        let sub = Assembler(mode: .bits64, origin: Self.subroutine)
        sub.push(rbp); sub.mov(rbp, rsp); sub.add(rax, qword[rbp + 16]); sub.leave(); sub.ret()
        let subBytes = sub.assemble()
        let p = Self.loop { a in
            a.push(rcx); a.push(0x55); a.push(-7)
            a.mov(rbx, Int64(Self.subroutine)); a.call(rbx)                 // CALL r64
            a.mov(qword[r12 + 0x30], rbx); a.call(qword[r12 + 0x30])       // CALL m64
            let over = a.label(), past = a.label()
            a.mov(rbx, over); a.jmp(rbx); a.int3(); a.bind(over)             // JMP r64
            a.mov(rbx, past); a.mov(qword[r12 + 0x38], rbx); a.jmp(qword[r12 + 0x38]); a.int3(); a.bind(past)
            a.pop(rdx); a.pop(rsi); a.pop(rcx)
            a.push(rsp); a.pop(rdi); a.push(rax); a.pop(rsp)                // PUSH/POP RSP semantics
            a.mov(rsp, Int64(Self.stack))
        }
        assertSame(p, subroutine: subBytes, "stack forms")
    }

    /// A #PF on a translated instruction: after 30 good iterations the pointer turns bad; the
    /// fault (a triple fault here: no IDT) stops at that instruction with the same state.
    func testPageFaultInsideTranslatedCodeIsExact() {
        let p = Self.loop { a in
            a.add(eax, 1)
            a.cmp(r15d, 10)
            a.cmov(.e, rbx, r14)
            a.mov(ecx, dword[rbx + 8])                                     // faults once RBX = unmapped
            a.add(edx, ecx)
        }
        let o = assertSame(p, "fault") { m in m.cpu.gpr[GPR.rbx.rawValue] = Self.data }
        XCTAssertEqual(o.stop, .shutdown)
        XCTAssertEqual(o.gpr[GPR.rbx.rawValue], Self.unmapped)
        XCTAssertEqual(o.gpr[GPR.rax.rawValue], 31, "30 iterations, then the ADD of the 31st")
    }

    /// SDM Vol. 2B "RET", Vol. 2A "CALL", "JMP": a non-canonical target is #GP(0) at the
    /// branch, RSP unchanged and nothing pushed — also when the branch runs translated (it
    /// did for the 35 iterations before).
    func testNonCanonicalBranchTargetsFaultAtTheBranch() {
        for kind in ["ret", "call m64", "jmp r64"] {
            let p = Self.loop { a in
                let ok = a.label(), back = a.label()
                a.mov(rax, back)
                a.cmp(r15d, 5)
                a.jne(ok)
                a.mov(rax, 0x0000_8000_0000_0000)                          // non-canonical
                a.bind(ok)
                a.mov(qword[r12 + 0x40], rax)
                a.mov(qword[rsp - 8], 0x5AA5)                              // where a CALL pushes
                switch kind {
                case "ret": a.push(rax); a.ret(); a.bind(back)             // "returns" to RAX
                case "call m64": a.call(qword[r12 + 0x40]); a.bind(back); a.pop(rbx)
                default: a.jmp(rax); a.bind(back)
                }
            }
            let o = assertSame(p, kind)
            XCTAssertEqual(o.stop, .shutdown)
            XCTAssertEqual(o.gpr[GPR.rsp.rawValue], kind == "ret" ? Self.stack - 8 : Self.stack,
                           "\(kind): RSP as before the branch")
            XCTAssertEqual(o.gpr[GPR.r15.rawValue], 5)
            if kind == "call m64" { XCTAssertEqual(Array(o.stack.suffix(8)), [0xA5, 0x5A, 0, 0, 0, 0, 0, 0], "nothing pushed") }
        }
    }

    /// A store into a block's own code page drops its translation; the new bytes run.
    func testSelfModifyingCodeIsSeen() {
        let a = Assembler(mode: .bits64, origin: Self.code)
        let top = a.label(), imm = a.label(), skip = a.label()
        a.mov(r15d, 40); a.xor(eax, eax); a.mov(rbx, imm)
        a.bind(top)
        a.db(0x05); a.bind(imm); a.dd(1)                                   // ADD EAX, imm32
        a.cmp(r15d, 20)
        a.jne(skip)
        a.mov(dword[rbx], 100)                                             // patch the immediate
        a.bind(skip)
        a.dec(r15d)
        a.jnz(top)
        a.hlt()
        let o = assertSame(a.assemble(), "smc")
        XCTAssertEqual(o.gpr[GPR.rax.rawValue], 21 + 19 * 100)
    }

    /// Hot loops stay in host code: blocks chain to each other (Jcc, JMP, CALL, RET) without
    /// returning to the run loop, and a run budget still stops them on the exact instruction.
    func testChainedBlocksStayInHostCodeAndStopOnBudget() {
        let a = Assembler(mode: .bits64, origin: Self.code)
        let top = a.label(), skip = a.label(), sub = a.label()
        a.mov(r15d, 2000)
        a.bind(top)
        a.add(ecx, 3)
        a.test(ecx, 4)
        a.jz(skip)
        a.xor(edx, ecx)
        a.bind(skip)
        a.call(sub)
        a.dec(r15d)
        a.jnz(top)
        a.hlt()
        a.bind(sub)
        a.add(rax, rcx)
        a.ret()
        let prog = a.assemble()
        let o = assertSame(prog, budget: 50_000, "chains")
        XCTAssertEqual(o.stop, .halted)
        // Entries into translated code, with one long budget: few, since chains carry on.
        let entries = Self.entriesToHalt(prog)
        XCTAssertLessThan(entries, 200, "2000 iterations, \(entries) entries")
        // Budgets that end inside chains stop at the same boundary as the interpreter.
        for slice: UInt64 in [7, 13, 50] {
            let t = TestMachine(memorySize: Self.ramEnd), i = TestMachine(memorySize: Self.ramEnd)
            for x in [t, i] {
                x.load(prog, at: Self.code)
                x.enterLong64(entry: Self.code, stack: Self.stack)
            }
            i.cpu.translationEnabled = false
            for _ in 0..<400 {
                let st = t.run(budget: slice), si = i.run(budget: slice)
                XCTAssertEqual(st, si)
                XCTAssertEqual(t.cpu.rip, i.cpu.rip, "slice \(slice)")
                XCTAssertEqual(t.cpu.instructionsRetired, i.cpu.instructionsRetired)
                XCTAssertEqual((0..<16).map { t.cpu.gpr[$0] }, (0..<16).map { i.cpu.gpr[$0] })
                if st != .budgetExhausted || t.cpu.rip != i.cpu.rip { break }
            }
        }
    }

    /// IMUL r, r/m and IMUL r, r/m, imm at 16, 32 and 64 bits (SDM Vol. 2A "IMUL"): the
    /// product, CF = OF = overflow, and SF, ZF, PF, AF as the interpreter leaves them, read
    /// back by PUSHF, SETcc, ADC and Jcc; operands that overflow, wrap to 0 and go negative as
    /// the loop goes on; memory sources that hit, cross out of RAM or fault.
    func testSignedMultiplyMatches() {
        let r10w = Register(number: 10, size: 2), r15w = Register(number: 15, size: 2)
        let p = Self.loop { a in
            a.lea(eax, dword[r15 + r15 * 2 - 7]); a.mov(rcx, -0x4000_0001); a.imul(rcx, r15)
            a.imul(eax, ecx); a.pushf(); a.pop(rbx)                        // overflows, negative
            a.imul(rcx, rcx); a.set(.o, dl); a.set(.s, dh); a.set(.p, bl)
            a.imul(r9, rcx, -3); a.adc(esi, 0)                             // CF from IMUL
            a.mov(r10d, 0x8000); a.imul(r10w, r15w); a.lahf(); a.mov(r11, rax)
            a.imul(di, r10w, 0x7FFF); a.pushf(); a.pop(r8)                 // 16-bit: upper bits kept
            a.imul(ebp, dword[r12 + 0x10]); a.imul(r8, qword[r12 + 0x18], 0x1234_5678)
            a.imul(si, word[r12 + 0x22], -2); a.imul(edx, edx, 0)          // zero: ZF, PF
            a.mov(qword[r12 + 0x28], rdx); a.imul(rdx, qword[r12 + 0x28])
            a.imul(ecx, dword[Address(displacement: 0x30)].on(.fs), 100)
            a.imul(eax, dword[r13 + 2])                                    // crosses out of RAM
            a.imul(eax, eax); a.pushf(); a.pop(rdi)
        }
        assertSame(p, "IMUL")
        let fault = Self.loop { a in
            a.cmp(r15d, 10); a.cmov(.e, rbx, r14)
            a.imul(ecx, dword[rbx + 8], 3)                                 // #PF once RBX = unmapped
            a.add(edx, ecx)
        }
        let o = assertSame(fault, "IMUL fault") { m in m.cpu.gpr[GPR.rbx.rawValue] = Self.data }
        XCTAssertEqual(o.stop, .shutdown)
        XCTAssertEqual(o.gpr[GPR.r15.rawValue], 10)
    }

    /// MUL r/m32 and r/m64 (SDM Vol. 2B "MUL"): RDX:RAX (EDX:EAX zero-extended) from RAX and
    /// a register or memory source, CF = OF = upper half not 0, and SF, ZF, PF, AF as the
    /// interpreter leaves them, read back by PUSHF, SETcc, ADC and Jcc — a multi-precision
    /// multiply-accumulate as Linux's `mpihelp_addmul_1` runs it; sources that hit, cross out of
    /// RAM or fault.
    func testUnsignedMultiplyMatches() {
        let p = Self.loop { a in
            a.lea(rax, qword[r15 + r15 * 4 + 3]); a.mov(rcx, -0x0123_4567_89AB_CDEF); a.mul(rcx)
            a.add(rbx, rax); a.adc(rbp, rdx); a.pushf(); a.pop(rsi)           // carry chain
            a.mov(eax, r15d); a.mul(eax); a.set(.o, dl); a.set(.z, dh); a.set(.p, bl)
            a.mov(rax, r15); a.shl(rax, 40); a.mul(r15); a.lahf(); a.mov(r11, rax)   // upper half 0 or not
            a.mov(qword[r12 + 0x18], rbx); a.mov(rax, rbp); a.mul(qword[r12 + 0x18]); a.adc(r9, 0)
            a.mov(eax, -1); a.mul(dword[r12 + 0x10]); a.pushf(); a.pop(r8)      // 32-bit: EDX:EAX
            a.xor(eax, eax); a.mul(r14); a.set(.s, cl)                           // zero: ZF, PF
            a.mov(rax, rdx); a.mul(rdx); a.add(rdi, rdx)                        // RDX source and destination
            a.mov(eax, 7); a.mul(dword[r13 + 2])                                // crosses out of RAM
        }
        assertSame(p, "MUL")
        let fault = Self.loop { a in
            a.cmp(r15d, 10); a.cmov(.e, rbx, r14)
            a.mov(rax, r15); a.mul(qword[rbx + 8])                              // #PF once RBX = unmapped
            a.add(rsi, rdx)
        }
        let o = assertSame(fault, "MUL fault") { m in m.cpu.gpr[GPR.rbx.rawValue] = Self.data }
        XCTAssertEqual(o.stop, .shutdown)
        XCTAssertEqual(o.gpr[GPR.r15.rawValue], 10)
    }

    /// ROL/ROR of 32- and 64-bit registers by imm8 and CL (SDM Vol. 2B "RCL/RCR/ROL/ROR"):
    /// CF and OF from the rotate (OF by the count-1 rule for any count), SF, ZF, AF and PF as
    /// they were, a masked count of 0 changing nothing but a 32-bit register's upper half; and
    /// SHL/SHR/SAR of 16-bit registers by an immediate.
    func testRotatesAndWordShiftsMatch() {
        let p = Self.loop { a in
            a.imul(ecx, r15d, 0x0123_4567); a.mov(rax, -0x0F0E_0D0C_0B0A_0909); a.imul(rax, r15)
            a.add(eax, 0x7FFF_FFF0); a.rol(edx, 1); a.pushf(); a.pop(rbx)  // flags from the ADD kept
            for count: UInt8 in [0, 1, 7, 31, 32, 33, 63] {
                a.rol(rax, count); a.ror(esi, count); a.pushf(); a.pop(rbx); a.add(rbp, rbx)
                a.ror(r9, count); a.rol(r10d, count); a.set(.o, bl); a.set(.c, bh); a.add(ebp, ebx)
            }
            a.sub(edi, ecx)                                                // flags in the host
            a.shiftByCL(.rol, r11d); a.pushf(); a.pop(rbx); a.add(rbp, rbx)
            a.shiftByCL(.ror, r8); a.set(.o, bl); a.add(ebp, ebx)
            a.mov(ecx, r15d); a.imul(ecx, ecx, 7)                           // counts 7 … 280
            a.shiftByCL(.rol, rax); a.shiftByCL(.ror, esi); a.pushf(); a.pop(rbx); a.add(rbp, rbx)
            a.and(ecx, 0x20); a.shiftByCL(.ror, edx); a.pushf(); a.pop(rbx) // masked 0 or 32
            for count: UInt8 in [0, 1, 5, 15, 16, 17] {
                a.shl(r9w, count); a.shr(ax, count); a.pushf(); a.pop(rbx); a.add(rbp, rbx)
                a.sar(si, count); a.set(.o, bl); a.set(.c, bh); a.add(ebp, ebx)
            }
        }
        assertSame(p, "ROL, ROR, 16-bit shifts")
    }

    /// The new forms run inside host code: a loop of them chains without returning to the
    /// run loop (each one left to the interpreter would cost an exit and an entry).
    func testMultiplyAndRotateLoopsStayInHostCode() {
        let a = Assembler(mode: .bits64, origin: Self.code)
        let top = a.label()
        a.mov(r15d, 2000); a.mov(eax, 1); a.mov(edx, 0x1234_5678); a.mov(ecx, 3)
        a.bind(top)
        a.imul(eax, edx); a.imul(rdx, rax, 0x9E37); a.rol(edx, 13); a.ror(rax, 7)
        a.shiftByCL(.rol, rdx); a.shr(dx, 5); a.imul(ax, word[Address(displacement: 0x20)].on(.fs))
        a.dec(r15d)
        a.jnz(top)
        a.hlt()
        let prog = a.assemble()
        assertSame(prog, budget: 50_000, "hot loop")
        let m = TestMachine(memorySize: Self.ramEnd)
        m.load(prog, at: Self.code)
        m.enterLong64(entry: Self.code, stack: Self.stack)
        m.cpu.setSegment(.fs, SegmentRegister(selector: 0, base: Self.data, limit: 0xFFFF_FFFF, accessRights: 0xC093))
        XCTAssertEqual(m.run(budget: 100_000), .halted)
        XCTAssertLessThan(m.cpu.translatedEntries, 200, "2000 iterations, \(m.cpu.translatedEntries) entries")
    }

    /// DIV r/m32 and r/m64 (SDM Vol. 2A "DIV") with register and memory divisors, the flags
    /// kept across it (read back by PUSHF and SETcc, from the frame and from the host);
    /// BSWAP (Vol. 2A "BSWAP"); CWDE, CDQE, CDQ and CQO. Then #DE from a zero divisor and from
    /// a quotient too wide, raised at the DIV after it ran translated.
    func testDivideByteSwapAndAccumulatorExtensionsMatch() {
        let p = Self.loop { a in
            a.lea(eax, dword[r15 + r15 * 8 + 5]); a.xor(edx, edx); a.mov(ecx, 7); a.div(ecx)
            a.mov(rax, -0x0123_4567_89AB_CDEF); a.mov(rdx, r15); a.mov(rcx, 0x1_0000_0003)
            a.cmp(r15d, 20); a.div(rcx); a.pushf(); a.pop(rbx); a.add(rbp, rbx)   // flags from the frame
            a.mov(qword[r12 + 0x40], rcx); a.sub(esi, r15d); a.div(qword[r12 + 0x40]); a.set(.s, bl)
            a.mov(r9d, 3); a.mov(dword[r12 + 0x48], r9d); a.xor(edx, edx); a.div(dword[r12 + 0x48])
            a.add(r8, rax); a.add(r8, rdx)
            a.mov(r10, rax); a.bswap(r10); a.bswap(eax); a.bswap(r11d); a.add(r11, r10)
            a.mov(eax, r15d); a.neg(eax); a.cdqe(); a.cqo(); a.add(rdi, rdx)
            a.mov(eax, 0x8000_0000); a.add(eax, r15d); a.cdq(); a.add(rdi, rdx)
            a.mov(eax, r15d); a.neg(ax); a.db(0x98); a.pushf(); a.pop(rbx); a.add(rbp, rbx)   // CWDE
            a.add(rbp, rax)
        }
        assertSame(p, "DIV, BSWAP, CWDE/CDQE/CDQ/CQO")
        let zero = Self.loop { a in
            a.mov(ecx, r15d); a.sub(ecx, 10); a.mov(eax, 100); a.xor(edx, edx); a.div(ecx)   // #DE at R15 = 10
            a.add(esi, eax)
        }
        var o = assertSame(zero, "DIV by zero")
        XCTAssertEqual(o.stop, .shutdown)
        XCTAssertEqual(o.gpr[GPR.r15.rawValue], 10)
        let wide = Self.loop { a in
            a.mov(edx, 40); a.sub(edx, r15d); a.mov(r8, 30); a.mov(rax, r15); a.div(r8)  // RDX ≥ 30 at R15 = 10
            a.add(rsi, rax)
        }
        o = assertSame(wide, "DIV quotient overflow")
        XCTAssertEqual(o.stop, .shutdown)
        XCTAssertEqual(o.gpr[GPR.r15.rawValue], 10)
    }

    /// A loop of one block jumps back to its own first instruction inside host code
    /// (`BlockTranslator.loopBack`): flags carried from one iteration into the next (ADC
    /// reads the CF an ADD left), budgets that end inside the loop, and a loop that rewrites
    /// its own immediate each time round (the same bytes, then new ones) all end as in the
    /// interpreter.
    func testSingleBlockLoopsMatch() {
        let a = Assembler(mode: .bits64, origin: Self.code)
        let top = a.label()
        a.mov(r15d, 300); a.mov(r12, Int64(Self.data)); a.mov(rcx, -0x7000_0000_0000_0001)
        a.bind(top)
        a.adc(rax, rcx); a.pushf(); a.pop(rbx); a.add(rbp, rbx)
        a.mov(qword[r12 + 0x100], rax); a.add(rsi, qword[r12 + 0x100])
        a.dec(r15d)
        a.jnz(top)
        a.hlt()
        let prog = a.assemble()
        XCTAssertEqual(assertSame(prog, budget: 20_000, "one-block loop").stop, .halted)
        for slice: UInt64 in [3, 7, 64, 1000] {
            XCTAssertEqual(Self.run(prog, translate: true, budget: 800 + slice).0,
                           Self.run(prog, translate: false, budget: 800 + slice).0, "budget \(slice)")
        }
        let o = assertSame(Self.selfPatchingLoop(), "one-block loop patching itself")
        XCTAssertEqual(o.gpr[GPR.rax.rawValue], 41 + 19 * 100)
    }

    /// A one-block loop of 60 iterations whose store patches its own ADD EAX, imm32 (1, then
    /// 100 from R15 = 20); `body` runs before the store (RBX = the immediate's address, R12 =
    /// `data`). EAX ends at 41 + 19 × 100 when every patch is seen.
    static func selfPatchingLoop(_ body: (Assembler) -> Void = { _ in }) -> [UInt8] {
        let smc = Assembler(mode: .bits64, origin: code)
        let loop = smc.label(), imm = smc.label()
        smc.mov(r15d, 60); smc.xor(eax, eax); smc.mov(rbx, imm); smc.mov(r12, Int64(data))
        smc.bind(loop)
        smc.db(0x05); smc.bind(imm); smc.dd(1)                             // ADD EAX, imm32
        smc.mov(edx, 1); smc.mov(r8d, 100); smc.cmp(r15d, 20); smc.cmov(.be, edx, r8d)
        body(smc)
        smc.mov(dword[rbx], edx)                                           // same bytes until R15 = 20
        smc.dec(r15d); smc.jnz(loop); smc.hlt()
        return smc.assemble()
    }

    /// A RET that returns to several callers in turn, and an indirect CALL through a register
    /// that alternates targets: each exit's own slot holds one target, the shared indirect
    /// slots (`BlockTranslations.indirectSlotCount`) the others, so the loop stays in host code;
    /// budgets ending inside the chains stop where the interpreter does.
    func testReturnsToManyCallersStayInHostCode() {
        let a = Assembler(mode: .bits64, origin: Self.code)
        let top = a.label(), sub = a.label(), other = a.label()
        a.mov(r15d, 2000); a.mov(rbx, sub); a.mov(rbp, other)
        a.bind(top)
        a.call(sub); a.add(ecx, 1)
        a.call(sub); a.add(ecx, 2)
        a.call(sub); a.add(ecx, 3)
        a.call(rbx); a.xor(edx, ecx)
        a.mov(r9, rbx); a.mov(rbx, rbp); a.mov(rbp, r9)
        a.dec(r15d); a.jnz(top); a.hlt()
        a.bind(sub); a.add(rax, rcx); a.ret()
        a.bind(other); a.sub(rax, rdx); a.ret()
        let prog = a.assemble()
        XCTAssertEqual(assertSame(prog, budget: 60_000, "returns").stop, .halted)
        let entries = Self.entriesToHalt(prog)
        XCTAssertLessThan(entries, 300, "8000 calls, \(entries) entries")
        for slice: UInt64 in [5, 11, 64] {
            XCTAssertEqual(Self.run(prog, translate: true, budget: 20_000 + slice).0,
                           Self.run(prog, translate: false, budget: 20_000 + slice).0, "budget slice \(slice)")
        }
    }

    /// A shift, rotate or multiply whose flags a later instruction overwrites, with only
    /// flag-free register forms between, runs without computing them (`flagsDeadAfter`);
    /// where the next one reads CF (ADC), has a memory operand (its #PF, here a shutdown
    /// after 30 iterations, must see the shift's flags) or reads the flags (PUSHF, SETcc),
    /// they are computed as before.
    func testShiftFlagsOverwrittenByTheNextInstruction() {
        let p = Self.loop { a in
            a.shl(eax, 3); a.add(ecx, edx); a.pushf(); a.pop(rbx)
            a.shr(r9, 17); a.cmp(r9d, 0x1234); a.set(.b, dl)
            a.sar(edx, 5); a.test(edx, esi); a.rol(r8, 13); a.xor(r8d, ecx)
            a.shl(esi, 7); a.adc(esi, 1)                                    // reads CF: computed
            a.mov(eax, ecx); a.shr(eax, 11); a.imul(eax, r9d); a.mov(edx, eax); a.cmp(eax, esi)   // LZMA's rc_bit
            a.imul(r8, rcx, 77); a.lea(r9, qword[r8 + 3]); a.movzx(ecx, r9w); a.test(ecx, ecx)
            a.imul(ebx, ebx); a.set(.s, al)                                 // read: computed
            a.shr(edi, 1); a.pushf(); a.pop(r10)                            // observed: computed
            a.cmp(r15d, 10); a.cmov(.e, rbp, r14)
            a.shl(r11, 1); a.add(r11, qword[rbp + 8])                       // #PF once RBP = unmapped
        }
        let o = assertSame(p, "dead shift flags") { m in m.cpu.gpr[GPR.rbp.rawValue] = Self.data }
        XCTAssertEqual(o.stop, .shutdown)
        XCTAssertEqual(o.gpr[GPR.r15.rawValue], 10)
    }

    // MARK: Random programs

    /// Random straight-line bodies over every translated form (and some that are not), with
    /// forward branches, memory operands that hit, cross pages or fault, and flag readers
    /// at block starts. MATRYOSHKA_FUZZ_CASES scales the program count.
    func testRandomProgramsMatchTheInterpreter() {
        let programs = max(60, (Int(ProcessInfo.processInfo.environment["MATRYOSHKA_FUZZ_CASES"] ?? "") ?? 200_000) / 1000)
        var rng = DifferentialTests.Rng(s: 0x7A2A_51A7_0000_0001)
        var translatedBlocks = 0
        for round in 0..<programs {
            let p = Self.loop(Int32(20 + rng.below(30))) { a in
                for _ in 0..<(8 + rng.below(24)) { Self.randomInstruction(a, &rng) }
            }
            let (i, _) = Self.run(p, translate: false, budget: 30_000)
            let (t, blocks) = Self.run(p, translate: true, budget: 30_000)
            translatedBlocks += blocks
            XCTAssertEqual(t, i, "round \(round): \(p.map { String(format: "%02x", $0) }.joined())")
            if t != i { break }
        }
        XCTAssertGreaterThan(translatedBlocks, programs, "the programs run translated")
    }

    static let r64 = [rax, rcx, rdx, rbx, rsi, rdi, rbp, r8, r9, r10, r11]
    static let r32 = [eax, ecx, edx, ebx, esi, edi, ebp, r8d, r9d, r10d, r11d]
    static let r16 = [ax, cx, dx, bx, si, di, bp, r8w, r9w]
    static let r8Legacy = [al, cl, dl, bl, ah, ch, dh, bh]
    static let r8REX = [al, cl, dl, bl, sil, dil, r8b, r9b]

    static func randomInstruction(_ a: Assembler, _ rng: inout DifferentialTests.Rng) {
        let width = rng.pick([1, 2, 4, 4, 8, 8])
        let legacy = rng.below(2) == 0
        func reg(_ withMemory: Bool = false) -> Register {
            switch width {
            case 1: return legacy && !withMemory ? rng.pick(r8Legacy) : rng.pick(r8REX)
            case 2: return rng.pick(r16)
            case 4: return rng.pick(r32)
            default: return rng.pick(r64)
            }
        }
        func memory() -> Memory {
            let w = [byte, word, byte, dword, byte, byte, byte, qword][width - 1]
            switch rng.below(40) {
            case 0: return w[r14]                                          // #PF
            case 1, 2: return w[r13 + Int64(rng.below(4))]                 // may cross out of RAM
            case 3: return w[Address(displacement: Int64(rng.below(0x800)))].on(.fs)
            default: return w[r12 + Int64(rng.below(0xF00))]
            }
        }
        func imm() -> Int64 { Int64(bitPattern: rng.boundary()) & (width == 8 ? 0x7FFF_FFFF : (width == 4 ? 0xFFFF_FFFF : (width == 2 ? 0xFFFF : 0xFF))) }
        let op = Assembler.ALUOperation(rawValue: UInt8(rng.below(8)))!
        switch rng.below(24) {
        case 0, 1: a.alu(op, reg(), reg())
        case 2: a.alu(op, reg(), imm())
        case 3: a.alu(op, memory(), reg(true))
        case 4: a.alu(op, reg(true), memory())
        case 5: a.alu(op, memory(), imm())
        case 6: a.test(reg(), reg())
        case 7: a.test(memory(), imm())
        case 8: a.mov(reg(), reg())
        case 9: a.mov(reg(true), memory())
        case 10: a.mov(memory(), reg(true))
        case 11: rng.below(2) == 0 ? a.inc(reg()) : a.dec(memory())
        case 12: rng.below(2) == 0 ? a.neg(reg()) : a.not(memory())
        case 13:
            let cc = Condition(rawValue: UInt8(rng.below(16)))!
            if rng.below(2) == 0 { a.set(cc, rng.pick(r8Legacy)) } else { a.set(cc, byte[r12 + Int64(rng.below(64))]) }
        case 14: a.cmov(Condition(rawValue: UInt8(rng.below(16)))!, rng.pick(r64), rng.pick(r64))
        case 15: rng.below(2) == 0 ? a.movzx(rng.pick([eax, ecx, edx, ebx, esi, edi, ebp]), rng.pick(r8Legacy)) : a.movsx(rng.pick(r64), word[r12 + Int64(rng.below(64))])
        case 16: a.lea(rng.pick(r32), dword[rng.pick(r64) + rng.pick(r64) * rng.pick([1, 2, 4, 8]) + Int64(rng.below(4096)) - 2048])
        case 17:
            let skip = a.label()
            a.j(Condition(rawValue: UInt8(rng.below(16)))!, skip)
            for _ in 0..<(1 + rng.below(3)) { a.add(rng.pick(r32), Int64(rng.below(100))) }
            a.bind(skip)
        case 18: a.push(rng.pick(r64)); a.pop(rng.pick(r64))
        case 19:
            let kind = rng.pick([Assembler.ShiftOperation.shl, .shr, .sar, .rol, .ror, .rcl])   // RCL: not translated
            if rng.below(2) == 0 { a.shift(kind, reg(), UInt8(rng.pick([0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65]))) }
            else { a.shiftByCL(kind, reg()) }
        case 20:
            let w = width == 1 ? 4 : width                                 // IMUL has no byte form
            func r() -> Register { w == 2 ? rng.pick(r16) : w == 4 ? rng.pick(r32) : rng.pick(r64) }
            func m() -> Memory { width == 1 ? dword[r12 + Int64(rng.below(0xF00))] : memory() }
            let i = (Int64(bitPattern: rng.boundary()) & (w == 2 ? 0x7FFF : 0x7FFF_FFFF)) * (rng.below(2) == 0 ? 1 : -1)
            switch rng.below(4) {
            case 0: a.imul(r(), r())
            case 1: a.imul(r(), m())
            case 2: a.imul(r(), r(), i)
            default: a.imul(r(), m(), i)
            }
        case 23: a.mov(rcx, Int64(bitPattern: rng.boundary()))             // CL counts of every kind
        case 22:
            let r = width == 8 ? rng.pick(r64) : rng.pick(r32)
            switch rng.below(5) {
            case 0, 1: a.bswap(r)
            case 2: rng.below(2) == 0 ? a.cdqe() : a.cqo()
            case 3: a.cdq()
            default: a.shr(width == 8 ? rdx : edx, 8); a.or(r, 0x100); a.div(r)   // #DE still possible
            }
        case 21:
            switch rng.below(5) {
            case 0: a.pushf(); a.pop(rng.pick(r64))
            case 1: a.bt(width == 8 ? rng.pick(r64) : rng.pick(r32), UInt8(rng.below(80)))
            case 2: a.bt(width == 8 ? qword[r12 + Int64(rng.below(64))] : dword[r12 + Int64(rng.below(64))], UInt8(rng.below(80)))
            default:
                let bit = UInt8(rng.below(80))
                let r: any RMOperand = rng.below(2) == 0 ? (width == 8 ? rng.pick(r64) : rng.pick(r32))
                    : (width == 8 ? qword[r12 + Int64(rng.below(64))] : dword[r12 + Int64(rng.below(64))])
                switch rng.below(3) {
                case 0: a.bts(r, bit)
                case 1: a.btr(r, bit)
                default: a.btc(r, bit)
                }
            }
        default: a.mov(reg(), imm())
        }
    }
}
