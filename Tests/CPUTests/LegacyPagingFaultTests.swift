import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// The #PF rules under 32-bit paging and PAE paging (protected mode), as `PageFaultTests`
/// checks them under 4-level paging: error codes (P, W/R, U/S, RSVD, I/D) and CR2.
final class LegacyPagingFaultTests: XCTestCase {
    enum Mode { case bits32, pae }
    let code: UInt64 = 0x10_0000
    let page: UInt64 = 0x40_5000          // 4 MiB + 0x5000: mapped through its own page table

    /// Runs `body` (32-bit code) with the test page's PTE = `pte`; low 4 MiB identity-mapped
    /// (user-accessible only when `user`). Returns (vector, error code, CR2).
    func fault(_ mode: Mode, pte: UInt64, user: Bool = false, cr4Extra: UInt64 = 0, nxe: Bool = false,
               wp: Bool = true, _ body: (Assembler) -> Void) throws -> (UInt32?, UInt32, UInt64) {
        let m = TestMachine()
        let a = Assembler(mode: .bits32, origin: code)
        a.mov(ebx, Int64(page))
        body(a)
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterProtected32(entry: code, stack: 0x9_0000)
        let us: UInt64 = user ? 4 : 0
        // GDT: null, ring-0 code 0x08, ring-0 data 0x10, ring-3 code 0x1B, ring-3 data 0x23, TSS 0x28.
        let gdt: [UInt64] = [0, 0x00CF_9B00_0000_FFFF, 0x00CF_9300_0000_FFFF, 0x00CF_FB00_0000_FFFF,
                             0x00CF_F300_0000_FFFF, 0x0000_8900_6000_0067]
        for (k, d) in gdt.enumerated() { try m.memory.store(d, at: 0x5000 + UInt64(k) * 8) }
        try m.memory.store(UInt32(0x8_0000), at: 0x6004)            // TSS ESP0
        try m.memory.store(UInt32(0x10), at: 0x6008)                // TSS SS0
        m.cpu.gdtr = DescriptorTableRegister(base: 0x5000, limit: 0x2F)
        m.cpu.tr = SegmentRegister(selector: 0x28, base: 0x6000, limit: 0x67, accessRights: 0x8B)
        // #PF handler: error code → EDX, then HLT (a supervisor page in every test).
        let h = Assembler(mode: .bits32, origin: 0x3_0000)
        h.pop(edx); h.mov(dword[0x3_1000], 14); h.hlt()
        m.load(h.assemble(), at: 0x3_0000)
        try m.memory.store(UInt32(0xFFFF_FFFF), at: 0x3_1000)
        let gate: UInt64 = (0x3_0000 & 0xFFFF) | (0x08 << 16) | (0x8E00 << 32) | ((0x3_0000 >> 16) << 48)
        try m.memory.store(gate, at: 0x4000 + 14 * 8)
        m.cpu.idtr = DescriptorTableRegister(base: 0x4000, limit: 0x7FF)
        var cr4 = cr4Extra
        switch mode {
        case .bits32:
            // PD at 0x20000: PDE[0] → PT 0x21000 (low 4 MiB), PDE[1] → PT 0x22000 (test page).
            try m.memory.store(UInt32(0x2_1003) | UInt32(us), at: 0x2_0000)
            try m.memory.store(UInt32(0x2_2007), at: 0x2_0004)
            for k in 0..<1024 { try m.memory.store(UInt32(k << 12 | 3) | UInt32(us), at: 0x2_1000 + UInt64(k) * 4) }
            try m.memory.store(UInt32(truncatingIfNeeded: pte), at: 0x2_2000 + 5 * 4)
            m.cpu.setControlRegisters(cr0: m.cpu.cr0 | CR0.pg | (wp ? CR0.wp : 0), cr3: 0x2_0000, cr4: cr4, efer: 0)
        case .pae:
            // PDPT 0x20000 → PD 0x21000: PDE[0] → PT 0x22000 (low 2 MiB), PDE[1] → PT 0x23000 (2–4 MiB),
            // PDE[2] → PT 0x24000 (test page at 4 MiB + 0x5000).
            try m.memory.store(UInt64(0x2_1001), at: 0x2_0000)
            try m.memory.store(UInt64(0x2_2003) | us, at: 0x2_1000)
            try m.memory.store(UInt64(0x2_3003) | us, at: 0x2_1008)
            try m.memory.store(UInt64(0x2_4007), at: 0x2_1010)
            for k in 0..<1024 { try m.memory.store(UInt64(k << 12 | 3) | us, at: 0x2_2000 + UInt64(k) * 8) }
            try m.memory.store(pte, at: 0x2_4000 + 5 * 8)
            cr4 |= CR4.pae
            m.cpu.setControlRegisters(cr0: m.cpu.cr0 | CR0.pg | (wp ? CR0.wp : 0), cr3: 0x2_0000, cr4: cr4,
                                      efer: nxe ? EFER.nxe : 0)
            try m.cpu.loadPDPTEs(cr3: 0x2_0000)
        }
        if user {
            m.cpu.setSegment(.ss, SegmentRegister(selector: 0x23, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC0F3))
            m.cpu.setSegment(.cs, SegmentRegister(selector: 0x1B, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC0FB))
            m.cpu.setSegment(.ds, SegmentRegister(selector: 0x23, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC0F3))
        }
        _ = m.run(budget: 1000)
        let v = try m.memory.load(UInt32.self, at: 0x3_1000)
        return (v == 0xFFFF_FFFF ? nil : v, UInt32(truncatingIfNeeded: m.reg(.rdx)), m.cpu.cr2)
    }

    func check(_ mode: Mode, _ expected: (UInt32?, UInt32, UInt64), _ got: (UInt32?, UInt32, UInt64), _ what: String,
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.0, expected.0, "\(mode) \(what): vector", file: file, line: line)
        if expected.0 != nil {
            XCTAssertEqual(got.1, expected.1, "\(mode) \(what): error code", file: file, line: line)
            XCTAssertEqual(got.2, expected.2, "\(mode) \(what): CR2", file: file, line: line)
        }
    }

    func testRulesUnder32BitAndPAEPaging() throws {
        let frame: UInt64 = 0x20_0000
        for mode in [Mode.bits32, .pae] {
            check(mode, (14, 0x0, page), try fault(mode, pte: 0) { $0.mov(eax, dword[ebx]) }, "not present, read")
            check(mode, (14, 0x2, page + 4), try fault(mode, pte: 0) { $0.mov(dword[ebx + 4], eax) }, "not present, write")
            check(mode, (14, 0x3, page), try fault(mode, pte: frame | 0x5) { $0.mov(dword[ebx], eax) }, "read-only, WP=1")
            check(mode, (nil, 0, 0), try fault(mode, pte: frame | 0x5, wp: false) { $0.mov(dword[ebx], eax) }, "read-only, WP=0")
            check(mode, (14, 0x5, page), try fault(mode, pte: frame | 0x3, user: true) { $0.mov(eax, dword[ebx]) }, "user read of supervisor page")
            check(mode, (14, 0x7, page), try fault(mode, pte: frame | 0x5, user: true) { $0.mov(dword[ebx], eax) }, "user write of read-only page")
            check(mode, (14, 0x11, page), try fault(mode, pte: frame | 0x7, cr4Extra: CR4.smep) { $0.jmp(ebx) }, "SMEP")
            check(mode, (14, 0x1, page), try fault(mode, pte: frame | 0x7, cr4Extra: CR4.smap) { $0.mov(eax, dword[ebx]) }, "SMAP")
            check(mode, (nil, 0, 0), try fault(mode, pte: frame | 0x7, cr4Extra: CR4.smap) { $0.stac(); $0.mov(eax, dword[ebx]) }, "SMAP after STAC")
        }
        // PAE only: execute-disable with EFER.NXE, and reserved bits (XD without NXE, bits above MAXPHYADDR).
        check(.pae, (14, 0x11, page), try fault(.pae, pte: frame | 0x3 | (1 << 63), nxe: true) { $0.jmp(ebx) }, "NX fetch")
        check(.pae, (14, 0x9, page), try fault(.pae, pte: frame | 0x3 | (1 << 63)) { $0.mov(eax, dword[ebx]) }, "XD reserved without NXE")
        check(.pae, (14, 0x9, page), try fault(.pae, pte: frame | 0x3 | (1 << 45)) { $0.mov(eax, dword[ebx]) }, "address bit above MAXPHYADDR")
    }
}
