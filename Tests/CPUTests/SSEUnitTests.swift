import Foundation
import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// SSE/MMX execution conditions, alignment and paging faults, MXCSR and #XM, FXSAVE/FXRSTOR
/// layouts, and the MMX ↔ x87 aliasing (SDM Vol. 1 ch. 9–11, Vol. 3A §13; kvm-unit-tests
/// x86/emulator.c test_sse / test_sse_exceptions, emulator64.c test_mmx).
final class SSEUnitTests: XCTestCase {
    typealias Env = LongModeEnvironment
    let code: UInt64 = 0x10_0000
    let data: UInt64 = 0x20_0000

    static var sseModel: CPUModel {
        var m = CPUModel()
        m.features.insert(.sse)
        return m
    }

    /// Runs `build`'s code in 64-bit mode with CR4.OSFXSR/OSXMMEXCPT (unless `cr4` overrides)
    /// and the recording IDT.
    func run64(model: CPUModel = SSEUnitTests.sseModel, cr0Set: UInt64 = 0,
               cr4: UInt64 = CR4.pae | CR4.osfxsr | CR4.osxmmexcpt,
               setup: (TestMachine) -> Void = { _ in }, _ build: (Assembler) -> Void) -> TestMachine {
        Env.run(model: model, code: code, budget: 10_000, setup: { m in
            m.cpu.setControlRegisters(cr0: m.cpu.cr0 | cr0Set, cr3: m.cpu.cr3, cr4: cr4, efer: m.cpu.efer)
            setup(m)
        }, build)
    }

    // Raw encodings (RAX holds the address).
    static let movapsLoad: [UInt8] = [0x0F, 0x28, 0x00]          // movaps xmm0, [rax]
    static let movupsLoad: [UInt8] = [0x0F, 0x10, 0x08]          // movups xmm1, [rax]
    static let movupsStore: [UInt8] = [0x0F, 0x11, 0x00]         // movups [rax], xmm0
    static let movupdStore: [UInt8] = [0x66, 0x0F, 0x11, 0x00]   // movupd [rax], xmm0
    static let movdquLoad: [UInt8] = [0xF3, 0x0F, 0x6F, 0x10]    // movdqu xmm2, [rax]
    static let movdquStore: [UInt8] = [0xF3, 0x0F, 0x7F, 0x00]   // movdqu [rax], xmm0
    static let movapdStore: [UInt8] = [0x66, 0x0F, 0x29, 0x00]   // movapd [rax], xmm0
    static let movapsStore: [UInt8] = [0x0F, 0x29, 0x00]         // movaps [rax], xmm0

    func xmm(_ m: TestMachine, _ n: Int) -> XMMRegister { m.cpu.extended.xmm[n] }

    func testAlignedAndUnalignedMovesReadAndWrite16Bytes() throws {
        let v = XMMRegister(low: 0x1122_3344_5566_7788, high: 0x99AA_BBCC_DDEE_FF00)
        for (store, aligned) in [(Self.movapsStore, true), (Self.movapdStore, true), (Self.movupsStore, false),
                                 (Self.movupdStore, false), (Self.movdquStore, false)] {
            let address = data + (aligned ? 0x40 : 0x43)
            let m = run64(setup: { $0.cpu.extended.xmm[0] = v }) { a in
                a.mov(rax, Int64(address))
                a.db(store)
                a.db(Self.movdquLoad)
                a.db(Self.movupsLoad)
            }
            XCTAssertNil(Env.recordedVector(m), "\(store)")
            XCTAssertEqual(try m.memory.load(UInt64.self, at: address), v.low)
            XCTAssertEqual(try m.memory.load(UInt64.self, at: address + 8), v.high)
            XCTAssertEqual(xmm(m, 2), v)
            XCTAssertEqual(xmm(m, 1), v)
        }
    }

    func testMisalignedMovapsIsGP0() {
        for bytes in [Self.movapsLoad, Self.movapsStore, Self.movapdStore, [0x66, 0x0F, 0x6F, 0x00], [0x0F, 0x58, 0x00]] {
            let m = run64 { a in a.mov(rax, Int64(data + 8)); a.db(bytes) }
            XCTAssertEqual(Env.recordedVector(m), 13, "\(bytes)")
            XCTAssertEqual(Env.frame(m, count: 1)[0], 0, "error code 0")
        }
        // Scalar forms take any alignment.
        let s = run64 { a in a.mov(rax, Int64(data + 1)); a.db(0xF3, 0x0F, 0x58, 0x00) }
        XCTAssertNil(Env.recordedVector(s))
    }

    /// Maps 0x40_0000–0x5F_FFFF with 4-KByte pages, page 0x40_1000 not present.
    func mapSecondPageNotPresent(_ m: TestMachine) {
        let pt: UInt64 = 0xC000
        for k in 0..<512 { try! m.memory.store((0x40_0000 + UInt64(k) * 0x1000) | 7, at: pt + UInt64(k) * 8) }
        try! m.memory.store(UInt64(0), at: pt + 8)
        try! m.memory.store(pt | 7, at: 0x3000 + 2 * 8)     // PD entry 2 (TestMachine tables at 0x1000)
    }

    func testCrossPageMovupsAndNotPresentSecondPage() throws {
        // Both pages present: crossing works.
        let v = XMMRegister(low: 0x0102_0304_0506_0708, high: 0x1112_1314_1516_1718)
        let ok = run64(setup: { $0.cpu.extended.xmm[0] = v }) { a in
            a.mov(rax, Int64(data + 0xFF8)); a.db(Self.movupsStore); a.db(Self.movupsLoad)
        }
        XCTAssertNil(Env.recordedVector(ok))
        XCTAssertEqual(xmm(ok, 1), v)
        XCTAssertEqual(try ok.memory.load(UInt64.self, at: data + 0x1000), v.high)
        // Second page not present: #PF, CR2 = the second page, nothing written.
        for (bytes, write) in [(Self.movupsStore, true), (Self.movupsLoad, false)] {
            let m = run64(setup: { m in
                self.mapSecondPageNotPresent(m)
                m.cpu.extended.xmm[0] = v
                try! m.memory.store(UInt64(0xDEAD_BEEF_DEAD_BEEF), at: 0x40_0FF8)
            }) { a in a.mov(rax, 0x40_0FF8); a.db(bytes) }
            XCTAssertEqual(Env.recordedVector(m), 14)
            XCTAssertEqual(m.cpu.cr2, 0x40_1000)
            XCTAssertEqual(Env.frame(m, count: 1)[0], write ? 2 : 0, "P=0, W/R")
            XCTAssertEqual(try m.memory.load(UInt64.self, at: 0x40_0FF8), 0xDEAD_BEEF_DEAD_BEEF, "no partial write")
            if !write { XCTAssertEqual(xmm(m, 1), XMMRegister()) }
        }
    }

    func testExecutionConditions() {
        let addps: [UInt8] = [0x0F, 0x58, 0xC1]
        let paddbMM: [UInt8] = [0x0F, 0xFC, 0xC1]
        // CR0.TS → #NM; CR0.EM → #UD; CR4.OSFXSR = 0 → #UD for SSE, not for MMX; no SSE in the model → #UD.
        XCTAssertEqual(Env.recordedVector(run64(cr0Set: CR0.ts) { $0.db(addps) }), 7)
        XCTAssertEqual(Env.recordedVector(run64(cr0Set: CR0.ts) { $0.db(paddbMM) }), 7)
        XCTAssertEqual(Env.recordedVector(run64(cr0Set: CR0.em) { $0.db(addps) }), 6)
        XCTAssertEqual(Env.recordedVector(run64(cr0Set: CR0.em) { $0.db(paddbMM) }), 6)
        XCTAssertEqual(Env.recordedVector(run64(cr4: CR4.pae) { $0.db(addps) }), 6)
        XCTAssertNil(Env.recordedVector(run64(cr4: CR4.pae) { $0.db(paddbMM) }))
        var noSSE = CPUModel()
        noSSE.features.remove(.sse)
        XCTAssertEqual(Env.recordedVector(run64(model: noSSE) { $0.db(addps) }), 6)
        XCTAssertEqual(Env.recordedVector(run64(model: noSSE) { $0.db(paddbMM) }), 6)
        // Undefined prefix combinations and LOCK are #UD.
        XCTAssertEqual(Env.recordedVector(run64 { $0.db(0xF2, 0x0F, 0x6F, 0xC1) }), 6)
        XCTAssertEqual(Env.recordedVector(run64 { $0.db(0xF0, 0x0F, 0x58, 0x00) }), 6)
        // A pending x87 exception (FSW.ES) with CR0.NE: MMX → #MF, SSE unaffected.
        let mf = run64(setup: { $0.cpu.extended.control.status = 0x81 }) { $0.db(paddbMM) }
        XCTAssertEqual(Env.recordedVector(mf), 16)
        XCTAssertNil(Env.recordedVector(run64(setup: { $0.cpu.extended.control.status = 0x81 }) { $0.db(addps) }))
    }

    func testMMXMovqAliasesTheX87Registers() throws {
        // kvm-unit-tests test_mmx: movq m64 → mm0 → m64, with CR0.EM/TS clear.
        let m = run64(setup: { m in
            try! m.memory.store(UInt64(0x0123_4567_89AB_CDEF), at: self.data)
            m.cpu.extended.control.top = 5
            m.cpu.extended.control.tags = 0xFFFF
        }) { a in
            a.mov(rax, Int64(data))
            a.db(0x0F, 0x6F, 0x00)          // movq mm0, [rax]
            a.db(0x0F, 0x7F, 0x40, 0x08)    // movq [rax+8], mm0
        }
        XCTAssertNil(Env.recordedVector(m))
        XCTAssertEqual(try m.memory.load(UInt64.self, at: data + 8), 0x0123_4567_89AB_CDEF)
        let x = m.cpu.extended
        XCTAssertEqual(x.x87[0].significand, 0x0123_4567_89AB_CDEF)
        XCTAssertEqual(x.x87[0].signExponent, 0xFFFF, "an MMX write sets the exponent to all ones")
        XCTAssertEqual(x.control.top, 0, "TOP ← 0")
        XCTAssertEqual(x.control.tags, 0, "all tags valid")
        let e = run64 { $0.db(0x0F, 0x6F, 0xC1); $0.db(0x0F, 0x77) }   // movq mm0, mm1; emms
        XCTAssertEqual(e.cpu.extended.control.tags, 0xFFFF, "EMMS empties all tags")
    }

    func testMXCSRAndUnmaskedExceptions() throws {
        // LDMXCSR with a reserved bit → #GP(0); STMXCSR stores it.
        let gp = run64(setup: { try! $0.memory.store(UInt32(0x1_1F80), at: self.data) }) { a in
            a.mov(rax, Int64(data)); a.db(0x0F, 0xAE, 0x10)
        }
        XCTAssertEqual(Env.recordedVector(gp), 13)
        // divps by zero, ZM clear: #XM with OSXMMEXCPT, #UD without; ZE set, xmm0 unchanged.
        for osxmm in [true, false] {
            let m = run64(cr4: CR4.pae | CR4.osfxsr | (osxmm ? CR4.osxmmexcpt : 0), setup: { m in
                m.cpu.extended.mxcsr = 0x1F80 & ~(1 << 9)
                m.cpu.extended.xmm[0] = XMMRegister(low: 0x3F80_0000_3F80_0000, high: 0x3F80_0000_3F80_0000)
                m.cpu.extended.xmm[1] = XMMRegister(low: 0x3F80_0000_0000_0000, high: 0x3F80_0000_3F80_0000)
            }) { $0.db(0x0F, 0x5E, 0xC1) }
            XCTAssertEqual(Env.recordedVector(m), osxmm ? 19 : 6)
            XCTAssertEqual(m.cpu.extended.mxcsr & 0x3F, MXCSRBits.ze)
            XCTAssertEqual(xmm(m, 0).low, 0x3F80_0000_3F80_0000)
        }
        // Masked: ∞ result, ZE set; round-toward-zero 1/3.
        let masked = run64(setup: { m in
            m.cpu.extended.mxcsr = 0x7F80
            m.cpu.extended.xmm[0] = XMMRegister(low: 0x3F80_0000_3F80_0000, high: 0x3F80_0000_3F80_0000)
            m.cpu.extended.xmm[1] = XMMRegister(low: 0x4040_0000_0000_0000, high: 0x3F80_0000_3F80_0000)
        }) { $0.db(0x0F, 0x5E, 0xC1) }
        XCTAssertEqual(xmm(masked, 0).low, UInt64(Float(1.0 / 3.0).nextDown.bitPattern) << 32 | 0x7F80_0000)
        XCTAssertEqual(masked.cpu.extended.mxcsr & 0x3F, MXCSRBits.ze | MXCSRBits.pe)
    }

    func fillState(_ m: TestMachine) {
        let x = m.cpu.extended
        x.control.control = 0x027F
        x.control.status = 0x0041
        x.control.top = 3
        x.control.tags = 0b11_11_00_01_10_11_11_11   // R3 special, R4 zero, R5 valid, rest empty
        x.control.opcode = 0x5D9
        x.control.instructionPointer = 0x1234_5678_9ABC
        x.control.instructionSelector = 0x33
        x.control.dataPointer = 0xFEDC_BA98_7654
        x.control.dataSelector = 0x2B
        for k in 0..<8 { x.x87[k] = X87Register(significand: 0x8000_0000_0000_0000 | UInt64(k), signExponent: 0x3FFF + UInt16(k)) }
        x.x87[3] = X87Register(significand: 0xC000_0000_0000_0000, signExponent: 0x7FFF)
        x.x87[4] = X87Register(significand: 0, signExponent: 0)
        x.mxcsr = 0x3FA1
        for k in 0..<16 { x.xmm[k] = XMMRegister(low: 0x1000 + UInt64(k), high: 0x2000 + UInt64(k)) }
    }

    func testFxsaveLayoutAndRoundTrip64() throws {
        for rexW in [false, true] {
            let m = run64(setup: fillState) { a in
                a.mov(rax, Int64(data))
                a.db(rexW ? [0x48, 0x0F, 0xAE, 0x00] : [0x0F, 0xAE, 0x00])                  // fxsave(64) [rax]
                a.db(0x66, 0x0F, 0xEF, 0xC0)                                                  // pxor xmm0, xmm0
                a.db(0x66, 0x45, 0x0F, 0xEF, 0xFF)                                            // pxor xmm15, xmm15
                a.db(0x0F, 0x77)                                                              // emms
                a.db(rexW ? [0x48, 0x0F, 0xAE, 0x08] : [0x0F, 0xAE, 0x08])                  // fxrstor(64) [rax]
            }
            XCTAssertNil(Env.recordedVector(m))
            let mem = m.memory
            XCTAssertEqual(try mem.load(UInt16.self, at: data), 0x027F)
            XCTAssertEqual(try mem.load(UInt16.self, at: data + 2), 0x0041 | 3 << 11, "FSW with TOP")
            XCTAssertEqual(try mem.load(UInt8.self, at: data + 4), 0b0011_1000, "abridged tags")
            XCTAssertEqual(try mem.load(UInt16.self, at: data + 6), 0x5D9)
            if rexW {
                XCTAssertEqual(try mem.load(UInt64.self, at: data + 8), 0x1234_5678_9ABC)
                XCTAssertEqual(try mem.load(UInt64.self, at: data + 16), 0xFEDC_BA98_7654)
            } else {
                XCTAssertEqual(try mem.load(UInt32.self, at: data + 8), 0x5678_9ABC)
                XCTAssertEqual(try mem.load(UInt16.self, at: data + 12), 0x33)
                XCTAssertEqual(try mem.load(UInt32.self, at: data + 16), 0xBA98_7654)
                XCTAssertEqual(try mem.load(UInt16.self, at: data + 20), 0x2B)
            }
            XCTAssertEqual(try mem.load(UInt32.self, at: data + 24), 0x3FA1)
            XCTAssertEqual(try mem.load(UInt32.self, at: data + 28), 0xFFFF, "MXCSR_MASK")
            // ST(0) is physical R3 (TOP = 3).
            XCTAssertEqual(try mem.load(UInt64.self, at: data + 32), 0xC000_0000_0000_0000)
            XCTAssertEqual(try mem.load(UInt16.self, at: data + 40), 0x7FFF)
            XCTAssertEqual(try mem.load(UInt64.self, at: data + 48), 0, "ST(1) = R4")
            XCTAssertEqual(try mem.load(UInt64.self, at: data + 160), 0x1000)
            XCTAssertEqual(try mem.load(UInt64.self, at: data + 160 + 15 * 16 + 8), 0x200F, "XMM15 in 64-bit mode")
            // Restored.
            let x = m.cpu.extended
            XCTAssertEqual(x.xmm[0], XMMRegister(low: 0x1000, high: 0x2000))
            XCTAssertEqual(x.xmm[15], XMMRegister(low: 0x100F, high: 0x200F))
            XCTAssertEqual(x.control.tags, 0b11_11_00_01_10_11_11_11, "tags recomputed from contents")
            XCTAssertEqual(x.control.top, 3)
            XCTAssertEqual(x.control.control, 0x027F)
            XCTAssertEqual(x.mxcsr, 0x3FA1)
            XCTAssertEqual(x.x87[3], X87Register(significand: 0xC000_0000_0000_0000, signExponent: 0x7FFF))
        }
    }

    func testFxsaveFaults() {
        // Misaligned → #GP(0); CR0.TS → #NM; FXRSTOR with a reserved MXCSR bit → #GP(0).
        XCTAssertEqual(Env.recordedVector(run64 { a in a.mov(rax, Int64(data + 8)); a.db(0x0F, 0xAE, 0x00) }), 13)
        XCTAssertEqual(Env.recordedVector(run64(cr0Set: CR0.ts) { a in a.mov(rax, Int64(data)); a.db(0x0F, 0xAE, 0x00) }), 7)
        let bad = run64(setup: { m in try! m.memory.store(UInt32(0x1_0000), at: self.data + 24) }) { a in
            a.mov(rax, Int64(data)); a.db(0x0F, 0xAE, 0x08)
        }
        XCTAssertEqual(Env.recordedVector(bad), 13)
        XCTAssertEqual(bad.cpu.extended.mxcsr, 0x1F80, "nothing restored")
    }

    func testFxsave32BitLayoutSavesXMM0To7() throws {
        let m = TestMachine(model: Self.sseModel)
        let a = Assembler(mode: .bits32, origin: code)
        a.db(0xB8); a.dd(UInt32(data))                  // mov eax, data
        a.db(0x0F, 0xAE, 0x00)                          // fxsave [eax]
        a.db(0x0F, 0xAE, 0x08)                          // fxrstor [eax]
        a.hlt()
        m.load(a.assemble(), at: code)
        try m.memory.write([UInt8](repeating: 0xAB, count: 512), at: data)
        m.enterProtected32(entry: code, stack: 0x8_0000)
        m.cpu.setControlRegisters(cr0: m.cpu.cr0, cr3: 0, cr4: CR4.osfxsr, efer: 0)
        fillState(m)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(try m.memory.load(UInt64.self, at: data + 160 + 7 * 16), 0x1007)
        XCTAssertEqual(try m.memory.load(UInt64.self, at: data + 160 + 8 * 16), 0xABAB_ABAB_ABAB_ABAB, "XMM8–15 not saved")
        XCTAssertEqual(try m.memory.load(UInt32.self, at: data + 8), 0x5678_9ABC)
        XCTAssertEqual(m.cpu.extended.xmm[7], XMMRegister(low: 0x1007, high: 0x2007))
    }

    func testMovesReachMMIO() {
        // kvm-unit-tests test_sse also moves 16 bytes to and from MMIO: two quadword accesses.
        let mmio: UInt64 = 0x2000_0000
        let m = TestMachine(model: Self.sseModel)
        m.bus.mmioHandler = { a, _ in a == mmio ? 0x1111_2222_3333_4444 : 0x5555_6666_7777_8888 }
        let a = Assembler(mode: .bits64, origin: code)
        a.mov(rax, Int64(mmio))
        a.db(Self.movdquLoad)                           // movdqu xmm2, [rax]
        a.db(0x0F, 0x11, 0x50, 0x10)                    // movups [rax+16], xmm2
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        m.cpu.setControlRegisters(cr0: m.cpu.cr0, cr3: m.cpu.cr3, cr4: m.cpu.cr4 | CR4.osfxsr, efer: m.cpu.efer)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(xmm(m, 2), XMMRegister(low: 0x1111_2222_3333_4444, high: 0x5555_6666_7777_8888))
        XCTAssertEqual(m.bus.mmioWrites.map { $0.0 }, [mmio + 16, mmio + 24])
        XCTAssertEqual(m.bus.mmioWrites.map { $0.2 }, [0x1111_2222_3333_4444, 0x5555_6666_7777_8888])
    }

    func testMaskmovdquAndMovnti() throws {
        let m = run64(setup: { m in
            m.cpu.extended.xmm[1] = XMMRegister(low: 0x0807_0605_0403_0201, high: 0x100F_0E0D_0C0B_0A09)
            m.cpu.extended.xmm[2] = XMMRegister(low: 0x8000_8000_8000_8000, high: 0xFF00_0000_0000_0080)
            try! m.memory.write([UInt8](repeating: 0xEE, count: 16), at: self.data)
        }) { a in
            a.mov(rdi, Int64(data))
            a.db(0x66, 0x0F, 0xF7, 0xCA)                 // maskmovdqu xmm1, xmm2
            a.mov(rcx, Int64(0x1234_5678))
            a.db(0x48, 0x0F, 0xC3, 0x4F, 0x10)           // movnti [rdi+16], rcx
        }
        XCTAssertNil(Env.recordedVector(m))
        XCTAssertEqual(try m.memory.read(at: data, length: 16),
                       [0xEE, 0x02, 0xEE, 0x04, 0xEE, 0x06, 0xEE, 0x08, 0x09, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0x10])
        XCTAssertEqual(try m.memory.load(UInt64.self, at: data + 16), 0x1234_5678)
    }

    func testCvtpi2psFromMemoryLeavesTheX87StateAlone() {
        let m = run64(setup: { m in
            m.cpu.extended.control.tags = 0xFFFF
            m.cpu.extended.control.top = 4
            try! m.memory.store(UInt64(0xFFFF_FFFF_0000_0003), at: self.data)
        }) { a in a.mov(rax, Int64(data)); a.db(0x0F, 0x2A, 0x00) }   // cvtpi2ps xmm0, [rax]
        XCTAssertNil(Env.recordedVector(m))
        XCTAssertEqual(xmm(m, 0).low, UInt64(Float(-1).bitPattern) << 32 | UInt64(Float(3).bitPattern))
        XCTAssertEqual(m.cpu.extended.control.tags, 0xFFFF)
        XCTAssertEqual(m.cpu.extended.control.top, 4)
        let r = run64(setup: { $0.cpu.extended.control.tags = 0xFFFF }) { $0.db(0x0F, 0x2A, 0xC1) }   // from mm1
        XCTAssertEqual(r.cpu.extended.control.tags, 0)
    }

    func testCPUIDReportsMMXFXSRSSESSE2() {
        let m = run64 { a in a.mov(eax, 1); a.cpuid() }
        let edx = m.reg(.rdx)
        for bit in [23, 24, 25, 26] { XCTAssertNotEqual(edx & (1 << UInt64(bit)), 0, "EDX bit \(bit)") }
    }

    func testUnmaskedPrecomputationExceptionSkipsPostComputationFlags() {
        // addps: lane 0 ∞ − ∞ (IE, unmasked), lane 1 1 + 2⁻³⁰ (PE, masked): only IE is recorded.
        let m = run64(setup: { m in
            m.cpu.extended.mxcsr = 0x1F80 & ~(1 << 7)
            m.cpu.extended.xmm[0] = XMMRegister(low: 0x3F80_0000_7F80_0000, high: 0)
            m.cpu.extended.xmm[1] = XMMRegister(low: 0x3080_0000_FF80_0000, high: 0)
        }) { $0.db(0x0F, 0x58, 0xC1) }
        XCTAssertEqual(Env.recordedVector(m), 19)
        XCTAssertEqual(m.cpu.extended.mxcsr & 0x3F, MXCSRBits.ie)
        // Unmasked PE only: PE recorded, #XM, destination unchanged.
        let p = run64(setup: { m in
            m.cpu.extended.mxcsr = 0x1F80 & ~(1 << 12)
            m.cpu.extended.xmm[0] = XMMRegister(low: 0x3F80_0000, high: 0)
            m.cpu.extended.xmm[1] = XMMRegister(low: 0x3080_0000, high: 0)
        }) { $0.db(0xF3, 0x0F, 0x58, 0xC1) }
        XCTAssertEqual(Env.recordedVector(p), 19)
        XCTAssertEqual(p.cpu.extended.mxcsr & 0x3F, MXCSRBits.pe)
        XCTAssertEqual(p.cpu.extended.xmm[0].low, 0x3F80_0000)
    }

    static var xsaveModel: CPUModel {
        var m = sseModel
        m.features.insert(.xsave)
        return m
    }
    static let xsaveCR4 = CR4.pae | CR4.osfxsr | CR4.osxmmexcpt | CR4.osxsave

    func testXGETBVAndXSETBV() {
        let m = run64(model: Self.xsaveModel, cr4: Self.xsaveCR4) { a in
            a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD0); a.mov(r8, rax)     // xgetbv → r8
            a.mov(eax, 3); a.xor(edx, edx); a.db(0x0F, 0x01, 0xD1)       // xsetbv 3
            a.db(0x0F, 0x01, 0xD0); a.mov(r9, rax)
            a.mov(eax, 2); a.db(0x0F, 0x01, 0xD1)                        // bit 0 clear → #GP
        }
        XCTAssertEqual(m.reg(.r8), 1)
        XCTAssertEqual(m.reg(.r9), 3)
        XCTAssertEqual(Env.recordedVector(m), 13)
        XCTAssertEqual(Env.recordedVector(run64(model: Self.xsaveModel, cr4: Self.xsaveCR4) { a in
            a.mov(eax, 7); a.xor(edx, edx); a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD1)     // AVX unsupported
        }), 13)
        // Without CR4.OSXSAVE: #UD.
        XCTAssertEqual(Env.recordedVector(run64(model: Self.xsaveModel) { a in a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD0) }), 6)
        // CPUID: leaf 0DH, and the maximum basic leaf.
        let c = run64(model: Self.xsaveModel, cr4: Self.xsaveCR4) { a in
            a.mov(eax, 0xD); a.xor(ecx, ecx); a.cpuid(); a.mov(r8, rax); a.mov(r9, rbx); a.mov(r10, rcx)
            a.xor(eax, eax); a.cpuid(); a.mov(r11, rax)
        }
        XCTAssertEqual([c.reg(.r8), c.reg(.r9), c.reg(.r10), c.reg(.r11)], [3, 576, 576, 0xD])
    }

    /// PKRU as XSAVE state component 9 (SDM Vol. 1 §13.5.7): offset 2688, 8 bytes, initial 0.
    func testPKRUIsXSAVEComponent9() throws {
        var model = Self.xsaveModel
        model.features.insert(.pku)
        let c = run64(model: model, cr4: Self.xsaveCR4) { a in
            a.mov(eax, 0x203); a.xor(edx, edx); a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD1)   // XCR0 = x87|SSE|PKRU
            a.mov(eax, 0xD); a.xor(ecx, ecx); a.cpuid(); a.mov(r8, rax); a.mov(r9, rbx); a.mov(r10, rcx)
            a.mov(eax, 0xD); a.mov(ecx, 9); a.cpuid(); a.mov(r11, rax); a.mov(r12, rbx)
        }
        XCTAssertNil(Env.recordedVector(c))
        XCTAssertEqual([c.reg(.r8), c.reg(.r9), c.reg(.r10), c.reg(.r11), c.reg(.r12)], [0x203, 2696, 2696, 8, 2688])
        // XSAVE stores PKRU; XRSTOR with XSTATE_BV[9] = 0 puts it in its initial state (0).
        let m = run64(model: model, cr4: Self.xsaveCR4, setup: { $0.cpu.extended.pkru = 0xABCD_0004 }) { a in
            a.mov(eax, 0x203); a.xor(edx, edx); a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD1)
            a.mov(rdi, Int64(data)); a.mov(eax, 0x200); a.xor(edx, edx)
            a.db(0x48, 0x0F, 0xAE, 0x27)                                                // xsave64 [rdi]: PKRU only
        }
        XCTAssertNil(Env.recordedVector(m))
        XCTAssertEqual(try m.memory.load(UInt32.self, at: data + 2688), 0xABCD_0004)
        XCTAssertEqual(try m.memory.load(UInt64.self, at: data + 512) & 0x200, 0x200, "XSTATE_BV[9]")
        let r = run64(model: model, cr4: Self.xsaveCR4, setup: { m in
            m.cpu.extended.pkru = 0x5
            try! m.memory.store(UInt64(0), at: self.data + 512)
        }) { a in
            a.mov(eax, 0x203); a.xor(edx, edx); a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD1)
            a.mov(rdi, Int64(data)); a.mov(eax, 0x200); a.xor(edx, edx)
            a.db(0x0F, 0xAE, 0x2F)                                                      // xrstor [rdi]
        }
        XCTAssertNil(Env.recordedVector(r))
        XCTAssertEqual(r.cpu.extended.pkru, 0, "initial configuration")
        // Without PKU, XCR0 bit 9 is reserved.
        XCTAssertEqual(Env.recordedVector(run64(model: Self.xsaveModel, cr4: Self.xsaveCR4) { a in
            a.mov(eax, 0x203); a.xor(edx, edx); a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD1)
        }), 13)
    }

    func testXsaveXrstorStandardForm() throws {
        let m = run64(model: Self.xsaveModel, cr4: Self.xsaveCR4, setup: fillState) { a in
            a.mov(eax, 3); a.xor(edx, edx); a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD1)     // XCR0 = x87 | SSE
            a.mov(rdi, Int64(data))
            a.mov(eax, -1); a.mov(edx, -1)
            a.db(0x48, 0x0F, 0xAE, 0x27)                                                // xsave64 [rdi]
            a.db(0x66, 0x0F, 0xEF, 0xC0)                                                // pxor xmm0, xmm0
            a.db(0x48, 0x0F, 0xAE, 0x2F)                                                // xrstor64 [rdi]
        }
        XCTAssertNil(Env.recordedVector(m))
        XCTAssertEqual(try m.memory.load(UInt64.self, at: data + 512), 3, "XSTATE_BV")
        XCTAssertEqual(try m.memory.load(UInt32.self, at: data + 24), 0x3FA1)
        XCTAssertEqual(try m.memory.load(UInt64.self, at: data + 8), 0x1234_5678_9ABC)
        XCTAssertEqual(m.cpu.extended.xmm[0], XMMRegister(low: 0x1000, high: 0x2000))
        XCTAssertEqual(m.cpu.extended.control.tags, 0b11_11_00_01_10_11_11_11)
        // XSTATE_BV[1] = 0: XMM registers initialized, MXCSR still loaded; x87 from memory.
        let r = run64(model: Self.xsaveModel, cr4: Self.xsaveCR4, setup: { m in
            self.fillState(m)
            try! m.memory.store(UInt64(1), at: self.data + 512)
            try! m.memory.store(UInt32(0x1F80 | 0x6000), at: self.data + 24)
            try! m.memory.store(UInt16(0x037F), at: self.data)
        }) { a in
            a.mov(eax, 3); a.xor(edx, edx); a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD1)
            a.mov(rdi, Int64(data)); a.mov(eax, 3)
            a.db(0x0F, 0xAE, 0x2F)                                                      // xrstor [rdi]
        }
        XCTAssertNil(Env.recordedVector(r))
        XCTAssertEqual(r.cpu.extended.xmm[5], XMMRegister())
        XCTAssertEqual(r.cpu.extended.mxcsr, 0x7F80)
        XCTAssertEqual(r.cpu.extended.control.control, 0x037F)
        // Faults: misaligned (64), compacted/non-zero XCOMP_BV, XSTATE_BV beyond XCR0.
        for (offset, header) in [(UInt64(16), UInt64(0)), (0, 1 << 63), (0, 0)] {
            let f = run64(model: Self.xsaveModel, cr4: Self.xsaveCR4, setup: { m in
                try! m.memory.store(header, at: self.data + 520)
                try! m.memory.store(UInt64(offset == 0 && header == 0 ? 2 : 0), at: self.data + 512)
            }) { a in
                a.mov(rdi, Int64(data + offset)); a.mov(eax, 3); a.xor(edx, edx)
                a.db(0x0F, 0xAE, 0x2F)                                                  // XCR0 = 1: XSTATE_BV 2 is reserved
            }
            XCTAssertEqual(Env.recordedVector(f), 13, "offset \(offset) header \(header)")
        }
    }

    /// Throughput of a loop of packed integer, packed single and scalar double instructions
    /// (printed; the assertion only checks the loop ran).
    func testSSELoopThroughput() {
        let iterations: Int64 = 400_000
        let m = TestMachine(model: Self.sseModel)
        let a = Assembler(mode: .bits64, origin: code)
        a.mov(ecx, iterations)
        let top = a.boundLabel()
        let only = ProcessInfo.processInfo.environment["MATRYOSHKA_SSE_LOOP"] ?? ""
        let body: [[UInt8]] = [[0x66, 0x0F, 0xFE, 0xC1],        // paddd xmm0, xmm1
                               [0x0F, 0x58, 0xD3],              // addps xmm2, xmm3
                               [0xF2, 0x0F, 0x59, 0xE5],        // mulsd xmm4, xmm5
                               [0x66, 0x0F, 0x6F, 0xF0],        // movdqa xmm6, xmm0
                               [0x01, 0xD8]]                    // add eax, ebx (integer baseline)
        for (k, b) in body.enumerated() { a.db(only.isEmpty ? b : body[Int(only) ?? k]) }
        a.dec(ecx)
        a.jnz(top)
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        m.cpu.setControlRegisters(cr0: m.cpu.cr0, cr3: m.cpu.cr3, cr4: m.cpu.cr4 | CR4.osfxsr, efer: m.cpu.efer)
        m.cpu.extended.xmm[1] = XMMRegister(low: 0x0000_0001_0000_0001, high: 0x0000_0001_0000_0001)
        m.cpu.extended.xmm[3] = XMMRegister(low: 0x3F80_0000_3F80_0000, high: 0x3F80_0000_3F80_0000)
        m.cpu.extended.xmm[5] = XMMRegister(low: Double(1.0000001).bitPattern, high: 0)
        let start = DispatchTime.now().uptimeNanoseconds
        XCTAssertEqual(m.run(budget: 10_000_000), .halted)
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start)
        let instructions = Double(iterations * 6)
        print("SSE LOOP: \(Int(instructions)) instructions, \(String(format: "%.0f", instructions / ns * 1000)) MIPS")
        XCTAssertEqual(m.cpu.extended.xmm[0].low, UInt64(iterations) << 32 | UInt64(iterations))
    }
}
