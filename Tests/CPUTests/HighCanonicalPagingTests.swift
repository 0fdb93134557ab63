import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Paging of the top of the 64-bit address space (PML4 index 511), where kvm-unit-tests maps
/// its vmalloc area.
final class HighCanonicalPagingTests: XCTestCase {
    func testReadModifyWriteThroughAHighKernelMapping() throws {
        let m = TestMachine()
        let code: UInt64 = 0x10_0000
        let a = Assembler(mode: .bits64, origin: code)
        a.mov(rbx, unsigned: 0xFFFF_FFFF_FFFF_B000)
        a.mov(dword[rbx], 0x10)
        a.or(dword[rbx], 0x3)
        a.add(dword[rbx + 4], 7)
        a.mov(eax, dword[rbx])
        a.mov(ecx, dword[rbx + 4])
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        // PML4[511] → PDPT at 0x50000, PDPT[511] → PD at 0x51000, PD[511] → PT at 0x52000,
        // PT[507] → frame 0x60000.
        try m.memory.store(UInt64(0x5_0003), at: 0x1000 + 511 * 8)
        try m.memory.store(UInt64(0x5_1003), at: 0x5_0000 + 511 * 8)
        try m.memory.store(UInt64(0x5_2003), at: 0x5_1000 + 511 * 8)
        try m.memory.store(UInt64(0x6_0003), at: 0x5_2000 + 507 * 8)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(m.reg(.rax), 0x13)
        XCTAssertEqual(m.reg(.rcx), 7)
        XCTAssertEqual(try m.memory.load(UInt32.self, at: 0x6_0000), 0x13)
    }
}
