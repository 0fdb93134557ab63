import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// The classic boot sequence, entirely in guest code: real mode → LGDT → CR0.PE → far jump to
/// 32-bit code → PAE page tables, CR4.PAE, CR3, EFER.LME, CR0.PG → far jump to 64-bit code
/// (SDM Vol. 3A §9.9 "Mode Switching", §9.8.5 "Initializing IA-32e Mode").
final class ModeSwitchTests: XCTestCase {
    func testRealToProtectedToLongMode() throws {
        let m = TestMachine()
        let origin: UInt64 = 0x7C00
        let a = Assembler(mode: .bits16, origin: origin)
        let gdt = a.label(), gdtr = a.label(), prot = a.label(), long = a.label(), fill = a.label()
        a.cli()
        a.lgdt(mem[gdtr])
        a.mov(eax, cr0); a.or(eax, 1); a.mov(cr0, eax)
        a.jmpFar(selector: 0x08, prot, operandSize: 4)
        a.use32()
        a.bind(prot)
        a.mov(ax, 0x10); a.mov(SegmentRegister.ds, ax); a.mov(SegmentRegister.es, ax); a.mov(SegmentRegister.ss, ax)
        a.mov(esp, 0x9_0000)
        // Identity-map 1 GiB with 2 MiB pages: PML4 0x10000 → PDPT 0x11000 → PD 0x12000.
        a.mov(edi, 0x1_0000); a.xor(eax, eax); a.mov(ecx, 3 * 1024); a.cld(); a.rep(); a.stos(4)
        a.mov(dword[0x1_0000], 0x1_1003)
        a.mov(dword[0x1_1000], 0x1_2003)
        a.mov(edi, 0x1_2000); a.mov(eax, 0x83); a.mov(ecx, 512)
        a.bind(fill)
        a.mov(dword[edi], eax); a.add(eax, 0x20_0000); a.add(edi, 8); a.dec(ecx); a.jnz(fill)
        a.mov(eax, cr4); a.or(eax, 0x20); a.mov(cr4, eax)
        a.mov(eax, 0x1_0000); a.mov(cr3, eax)
        a.mov(ecx, 0xC000_0080); a.rdmsr(); a.or(eax, 0x100); a.wrmsr()
        a.mov(eax, cr0); a.or(eax, Int64(0x8000_0000)); a.mov(cr0, eax)
        a.jmpFar(selector: 0x18, long)
        a.use64()
        a.bind(long)
        a.mov(rax, unsigned: 0x1122_3344_5566_7788)
        a.mov(ecx, 0xC000_0080); a.rdmsr(); a.mov(r9, rax)
        a.mov(rax, unsigned: 0x1122_3344_5566_7788)
        a.hlt()
        a.align(8, fill: 0)
        a.bind(gdt)
        a.dq(0)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xC)   // 0x08: 32-bit code
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x92, flags: 0xC)   // 0x10: data
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xA)   // 0x18: 64-bit code
        a.bind(gdtr)
        a.dw(4 * 8 - 1); a.dd(gdt)
        m.load(a.assemble(), at: origin)
        m.enterReal(ip: origin)
        XCTAssertEqual(m.cpu.executionMode, .real)
        XCTAssertEqual(m.run(budget: 100_000), .halted)
        XCTAssertEqual(m.cpu.executionMode, .long64)
        XCTAssertEqual(m.reg(.rax), 0x1122_3344_5566_7788)
        XCTAssertEqual(m.reg(.r9) & 0x500, 0x500, "EFER.LME and LMA")
        XCTAssertEqual(m.cpu.cr0 & 0x8000_0001, 0x8000_0001)
        XCTAssertEqual(m.cpu.segment(.cs).selector, 0x18)
    }

    func testClearingPagingIn64BitModeIsGP() {
        let m = TestMachine()
        let a = Assembler(mode: .bits64, origin: 0x10_0000)
        a.mov(rax, cr0)
        a.and(eax, 0x7FFF_FFFF)
        a.mov(cr0, rax)
        a.hlt()
        m.load(a.assemble(), at: 0x10_0000)
        m.enterLong64(entry: 0x10_0000, stack: 0x8_0000)
        LongModeEnvironment.install(m)
        XCTAssertEqual(m.run(budget: 100), .halted)
        XCTAssertEqual(LongModeEnvironment.recordedVector(m), 13)
        XCTAssertEqual(m.cpu.executionMode, .long64)
    }
}
