import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Cached guest-physical mappings (SDM Vol. 3C §29.4.1): an EPT translation the processor
/// derived stays in use after the EPT paging structures change, across the invalidation of
/// linear and combined mappings (INVVPID), until INVEPT drops it (§29.4.3.1).
final class GuestPhysicalMappingTests: XCTestCase {
    func testEPTChangesTakeEffectAtINVEPTNotAtINVVPID() throws {
        let bed = try TLBTestBed(VPIDTLBTests.readPages)
        let v = try bed.vmcs(vpid: 1, eptp: TLBTestBed.eptpA)
        XCTAssertEqual(bed.enter(v), TLBTestBed.values(0, 1, 2))
        // EPT A now maps guest-physical 2–4 MiB (the data frames) to host 6–8 MiB, where other
        // values stand; everything else stays identity (2-MByte pages from a new PD).
        let pd: UInt64 = 0xC000
        for k in 0..<512 {
            let host: UInt64 = k == 2 ? 3 << 21 : UInt64(k) << 21
            try bed.memory.store(host | 7 | (6 << 3) | (1 << 7), at: pd + UInt64(k) * 8)
        }
        for f in 0..<3 { try bed.memory.store(TLBTestBed.value(frame: f + 4), at: (3 << 21) + UInt64(f) * 0x1000) }
        try bed.memory.store(pd | 7, at: TLBTestBed.eptA + 0x1000)
        // INVVPID drops VPID 1's linear and combined mappings; the guest-physical ones remain
        // where the direct-mapped cache kept them: frame 0's slot holds no other page (frames 1
        // and 2 share slots with the guest's paging structures, whose walks may evict them).
        try bed.cpu.invvpid(.singleContext, INVVPIDDescriptor(vpid: 1))
        XCTAssertEqual(bed.enter(v)[0], TLBTestBed.value(frame: 0), "guest-physical mapping survives INVVPID")
        try bed.cpu.invvpid(.singleContext, INVVPIDDescriptor(vpid: 1))
        try bed.cpu.invept(.singleContext, eptp: TLBTestBed.eptpA)
        XCTAssertEqual(bed.enter(v), TLBTestBed.values(4, 5, 6), "INVEPT makes the new EPT mapping visible")
    }

    func testCacheHoldsOnlyWhatWasInsertedUnderItsEP4TA() {
        let c = GuestPhysicalMappingCache()
        XCTAssertNil(c.lookup(0x1234_5000, ep4ta: 0x8000))
        c.insert(0x1234_5678, ep4ta: 0x8000, hostPhysical: 0x9_9000 | 0x678, rights: 5)
        XCTAssertEqual(c.lookup(0x1234_5FFF, ep4ta: 0x8000)?.hostPage, 0x9_9000)
        XCTAssertEqual(c.lookup(0x1234_5000, ep4ta: 0x8000)?.rights, 5)
        XCTAssertNil(c.lookup(0x1234_5000, ep4ta: 0xA000), "another EP4TA")
        XCTAssertNil(c.lookup(0x1234_6000, ep4ta: 0x8000), "another page")
        c.flushAll()
        XCTAssertNil(c.lookup(0x1234_5000, ep4ta: 0x8000))
        // A 2-MByte EPT page covers its whole region: other 4-KByte pages in it hit.
        c.insert(0x4020_3456, ep4ta: 0x8000, hostPhysical: 0x8_0020_3456, rights: 7, pageSize: 2 << 20)
        XCTAssertEqual(c.lookup(0x4021_F000, ep4ta: 0x8000)?.hostPage, 0x8_0021_F000)
        XCTAssertEqual(c.lookup(0x403F_FFFF, ep4ta: 0x8000)?.hostPage, 0x8_003F_F000)
        XCTAssertNil(c.lookup(0x4040_0000, ep4ta: 0x8000), "the next region")
        XCTAssertNil(c.lookup(0x401F_F000, ep4ta: 0x8000), "the previous region")
        c.flushAll()
        XCTAssertNil(c.lookup(0x4021_F000, ep4ta: 0x8000))
    }
}
