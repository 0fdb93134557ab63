import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// The PDE cache (SDM Vol. 3A §4.10.3): a TLB miss in a 2-MByte region whose walk reached a
/// page table starts from the cached table; INVLPG-class invalidations drop every
/// paging-structure-cache entry of the context, whatever its address (§4.10.4.1).
final class PagingStructureCacheTests: XCTestCase {
    typealias Bed = TLBTestBed
    static let pt2: UInt64 = 0x7000

    /// Reads the quadword at [RSI] into RAX and exits (VMCALL); loops.
    static func readAtRSI(_ a: Assembler) {
        let top = a.boundLabel()
        a.mov(rax, qword[rsi])
        a.vmcall()
        a.jmp(top)
    }

    func read(_ bed: Bed, _ v: VMCS, page k: Int) -> UInt64 {
        bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(k)
        return bed.enter(v)[0]
    }

    func testMissesWalkFromTheCachedPageTableUntilInvalidated() throws {
        let bed = try Bed(Self.readAtRSI)
        try bed.map(page: 5, frame: 5)
        try bed.map(page: 6, frame: 4)
        // A second page table with other frames for pages 5 and 6.
        try bed.memory.store(Bed.frame(6) | 7, at: Self.pt2 + 5 * 8)
        try bed.memory.store(Bed.frame(7) | 7, at: Self.pt2 + 6 * 8)
        let v = try bed.vmcs(vpid: 1)
        XCTAssertEqual(read(bed, v, page: 3), Bed.value(frame: 3))
        // Point the PDE at the second table, without invalidating anything.
        try bed.memory.store(Self.pt2 | 7, at: Bed.pd)
        XCTAssertEqual(read(bed, v, page: 5), Bed.value(frame: 5),
                       "page 5 was never cached in the TLB: its walk started at the cached page table")
        // Single-address INVVPID of an unrelated page drops the context's PDE cache.
        try bed.cpu.invvpid(.individualAddress, INVVPIDDescriptor(vpid: 1, linearAddress: Bed.page(0)))
        XCTAssertEqual(read(bed, v, page: 6), Bed.value(frame: 7), "the walk read the new PDE")
        XCTAssertEqual(read(bed, v, page: 5), Bed.value(frame: 5), "page 5's own TLB entry is still cached")
    }
}
