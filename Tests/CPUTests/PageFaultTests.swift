import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// #PF error codes and CR2 under each paging mode and permission rule (SDM Vol. 3A §4.6
/// access rights, §4.7 page-fault exceptions: P 0, W/R 1, U/S 2, RSVD 3, I/D 4).
final class PageFaultTests: XCTestCase {
    typealias Env = LongModeEnvironment
    let code: UInt64 = 0x10_0000
    /// A 4 KiB-mapped test page at 1 GiB + 0x5000 (PDPT[1] → PD 0x40000 → PT 0x41000).
    let page: UInt64 = 0x4000_5000

    /// Runs `body` in 64-bit mode with the test page mapped by PTE `pte`; returns (vector, error code, CR2).
    func fault(pte: UInt64, user: Bool = false, cr4Extra: UInt64 = 0, efer: UInt64? = nil, wp: Bool = true,
               _ body: (Assembler) -> Void) -> (UInt32?, UInt64, UInt64) {
        let m = TestMachine()
        let a = Assembler(mode: .bits64, origin: code)
        a.mov(rbx, Int64(page))
        body(a)
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        Env.install(m)
        try! m.memory.store(UInt64(0x4_0007), at: 0x2000 + 8)       // PDPT[1] (enterLong64's PDPT is at 0x2000)
        try! m.memory.store(UInt64(0x4_1007), at: 0x4_0000)          // PD[0]
        try! m.memory.store(pte, at: 0x4_1000 + 5 * 8)               // PT[5]
        // With SMEP/SMAP the kernel's own code, handlers and records must be supervisor pages.
        if cr4Extra != 0 { try! m.memory.store(UInt64(0x83), at: 0x3000) }
        var cr0 = m.cpu.cr0
        if !wp { cr0 &= ~CR0.wp }
        m.cpu.setControlRegisters(cr0: cr0, cr3: m.cpu.cr3, cr4: m.cpu.cr4 | cr4Extra, efer: efer ?? m.cpu.efer)
        if user { Env.enterUser(m, entry: code, stack: 0x7_0000) }
        _ = m.run(budget: 1000)
        let v = Env.recordedVector(m)
        return (v, v == 14 ? Env.frame(m, count: 1)[0] : 0, m.cpu.cr2)
    }

    func testErrorCodesForEachRule() {
        let frame: UInt64 = 0x20_0000
        // Not present, read.
        XCTAssertTrue(fault(pte: 0) { a in a.mov(rax, qword[rbx]) } == (14, 0x0, page))
        // Not present, write.
        XCTAssertTrue(fault(pte: 0) { a in a.mov(qword[rbx], rax) } == (14, 0x2, page))
        // Read-only page, supervisor write with CR0.WP = 1 → protection fault.
        XCTAssertTrue(fault(pte: frame | 0x5) { a in a.mov(qword[rbx + 8], rax) } == (14, 0x3, page + 8))
        // …but allowed with CR0.WP = 0.
        XCTAssertEqual(fault(pte: frame | 0x5, wp: false) { a in a.mov(qword[rbx], rax) }.0, nil)
        // User read of a supervisor page.
        XCTAssertTrue(fault(pte: frame | 0x3, user: true) { a in a.mov(rax, qword[rbx]) } == (14, 0x5, page))
        // User write of a read-only user page.
        XCTAssertTrue(fault(pte: frame | 0x5, user: true) { a in a.mov(qword[rbx], rax) } == (14, 0x7, page))
        // Reserved bit (bit 51 beyond MAXPHYADDR 40) in the PTE: RSVD | P.
        XCTAssertTrue(fault(pte: frame | 0x3 | (1 << 51)) { a in a.mov(rax, qword[rbx]) } == (14, 0x9, page))
        // Instruction fetch from an NX page (EFER.NXE on by enterLong64): I/D | P.
        XCTAssertTrue(fault(pte: frame | 0x3 | (1 << 63)) { a in a.jmp(rbx) } == (14, 0x11, page))
        // SMEP: supervisor fetch from a user page.
        XCTAssertTrue(fault(pte: frame | 0x7, cr4Extra: CR4.smep) { a in a.jmp(rbx) } == (14, 0x11, page))
        // SMAP: supervisor data access to a user page with RFLAGS.AC = 0.
        XCTAssertTrue(fault(pte: frame | 0x7, cr4Extra: CR4.smap) { a in a.mov(rax, qword[rbx]) } == (14, 0x1, page))
        // …allowed after STAC.
        XCTAssertEqual(fault(pte: frame | 0x7, cr4Extra: CR4.smap) { a in a.stac(); a.mov(rax, qword[rbx]) }.0, nil)
    }

    /// A page that starts holding decoded code loses write permission in the TLB, so stores
    /// take the slow path and drop its blocks (SDM Vol. 3A §11.6). That path reuses the
    /// write permission the entry's walk granted — no paging-structure reads — and never
    /// grants one the walk did not: a read-only code page still faults (§4.6, CR0.WP = 1).
    func testStoresToAPageHoldingCodeReuseTheWalkThatFilledTheTLB() throws {
        for writable in [true, false] {
            let m = TestMachine()
            let a = Assembler(mode: .bits64, origin: code)
            a.mov(rbx, Int64(page))
            a.mov(rax, qword[rbx])                                         // fills the TLB entry
            a.call(rbx)                                                    // the page now holds code
            a.mov(byte[rbx], 0xC3)                                         // the same byte again
            a.mov(byte[rbx + 1], 0x90)                                     // a new byte after the RET
            a.hlt()
            m.load(a.assemble(), at: code)
            m.load([0xC3], at: 0x20_0000)
            m.enterLong64(entry: code, stack: 0x8_0000)
            Env.install(m)
            try m.memory.store(UInt64(0x4_0007), at: 0x2000 + 8)
            try m.memory.store(UInt64(0x4_1007), at: 0x4_0000)
            try m.memory.store(UInt64(0x20_0000 | (writable ? 0x63 : 0x21)), at: 0x4_1000 + 5 * 8)  // A (and D) set
            m.cpu.translationEnabled = false
            XCTAssertEqual(m.run(budget: 4), .budgetExhausted)
            XCTAssertEqual(m.cpu.rip, code + 7 + 3 + 2, "at the first store")
            let stall = m.cpu.stallTime
            _ = m.run(budget: 2)
            if writable {
                XCTAssertEqual(Env.recordedVector(m), nil)
                XCTAssertEqual(m.cpu.stallTime, stall, "no walk for either store")
                XCTAssertEqual(try m.memory.read(at: 0x20_0000, length: 2), [0xC3, 0x90])
            } else {
                XCTAssertEqual(Env.recordedVector(m), 14, "read-only: #PF")
                XCTAssertEqual(Env.frame(m, count: 1)[0], 0x3, "present, write")
                XCTAssertEqual(try m.memory.read(at: 0x20_0000, length: 2), [0xC3, 0x00])
            }
        }
    }

    func testAccessedAndDirtyBits() throws {
        let m = TestMachine()
        let a = Assembler(mode: .bits64, origin: code)
        a.mov(rbx, Int64(page))
        a.mov(rax, qword[rbx])
        a.mov(rcx, Int64(page + 0x1000))
        a.mov(qword[rcx], rax)
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        try m.memory.store(UInt64(0x4_0007), at: 0x2000 + 8)
        try m.memory.store(UInt64(0x4_1007), at: 0x4_0000)
        try m.memory.store(UInt64(0x20_0003), at: 0x4_1000 + 5 * 8)
        try m.memory.store(UInt64(0x21_0003), at: 0x4_1000 + 6 * 8)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(try m.memory.load(UInt64.self, at: 0x4_1000 + 5 * 8) & 0x60, 0x20, "read: A set, D clear")
        XCTAssertEqual(try m.memory.load(UInt64.self, at: 0x4_1000 + 6 * 8) & 0x60, 0x60, "write: A and D set")
        XCTAssertEqual(try m.memory.load(UInt64.self, at: 0x4_0000) & 0x20, 0x20, "PDE accessed")
    }

    func test32BitAndPAEPaging() throws {
        // 32-bit paging with a 4 MiB page and a not-present 4 KiB page; then PAE with PDPTEs.
        for pae in [false, true] {
            let m = TestMachine()
            let a = Assembler(mode: .bits32, origin: code)
            a.mov(eax, 0x12_3456)        // 4 MiB page identity mapping covers code and this address
            a.mov(ebx, dword[eax])
            a.mov(eax, 0x80_1000)        // not mapped
            a.mov(ecx, dword[eax])
            a.hlt()
            m.load(a.assemble(), at: code)
            try m.memory.store(UInt32(0xCAFE_F00D), at: 0x12_3456)
            m.enterProtected32(entry: code, stack: 0x9_0000)
            if pae {
                // PDPT at 0x20000 → PD at 0x21000: PDE[0] = 2 MiB page 0, PDE[4] → PT at 0x22000 (empty).
                try m.memory.store(UInt64(0x2_1001), at: 0x2_0000)
                try m.memory.store(UInt64(0x83), at: 0x2_1000)
                try m.memory.store(UInt64(0x2_2003), at: 0x2_1000 + 4 * 8)
                m.cpu.setControlRegisters(cr0: m.cpu.cr0 | CR0.pg, cr3: 0x2_0000, cr4: CR4.pae, efer: 0)
                try m.cpu.loadPDPTEs(cr3: 0x2_0000)
            } else {
                // PD at 0x20000: PDE[0] = 4 MiB page 0 (PS), PDE[2] → PT at 0x21000 (empty).
                try m.memory.store(UInt32(0x83), at: 0x2_0000)
                try m.memory.store(UInt32(0x2_1003), at: 0x2_0000 + 2 * 4)
                m.cpu.setControlRegisters(cr0: m.cpu.cr0 | CR0.pg, cr3: 0x2_0000, cr4: CR4.pse, efer: 0)
            }
            // IDT for protected mode: vector 14 → a handler that records the error code and halts.
            let h = Assembler(mode: .bits32, origin: 0x3_0000)
            h.pop(edx)          // error code
            h.hlt()
            m.load(h.assemble(), at: 0x3_0000)
            let gate: UInt64 = 0x3_0000 & 0xFFFF | (0x08 << 16) | (0x8E00 << 32) | ((0x3_0000 >> 16) << 48)
            try m.memory.store(gate, at: 0x4000 + 14 * 8)
            m.cpu.idtr = DescriptorTableRegister(base: 0x4000, limit: 0x7FF)
            m.cpu.gdtr = DescriptorTableRegister(base: 0x5000, limit: 0x17)
            try m.memory.store(UInt64(0x00CF_9B00_0000_FFFF), at: 0x5008)
            XCTAssertEqual(m.run(budget: 100), .halted, pae ? "PAE" : "32-bit")
            XCTAssertEqual(m.reg(.rbx), 0xCAFE_F00D, pae ? "PAE" : "32-bit")
            XCTAssertEqual(m.reg(.rdx), 0, "not present, read, supervisor")
            XCTAssertEqual(m.cpu.cr2, 0x80_1000)
        }
    }
}
