import XCTest
@testable import CPU

/// `SoftwareTLB.revokeWrites`: when a page starts holding decoded code, every entry of every
/// context that grants writes to it loses them (stores then take the slow path that checks the
/// code, SDM Vol. 3A §11.6), found through the per-set filter of pages with writable entries.
final class TLBWriteRevocationTests: XCTestCase {
    static let p: UInt64 = 0x5000
    /// Another page in the same filter bucket as `p`.
    static let q: UInt64 = p + UInt64(SoftwareTLB.writableFilterCount) << 12
    static let other: UInt64 = 0x6000

    /// Fills the current set's entry for linear page `la` as `Processor.translate` does.
    func fill(_ t: SoftwareTLB, _ la: UInt64, _ page: UInt64, perms: UInt32 = TLBPerm.all) {
        t.slot(la).pointee = TLBEntry(tag: t.tag(la), hostDelta: 0, physical: page, perms: perms, global: false)
        if perms & TLBPerm.allWrite != 0 { t.noteWritableFill(physicalPage: page) }
    }

    func writable(_ t: SoftwareTLB, _ la: UInt64) -> Bool { t.slot(la).pointee.perms & TLBPerm.allWrite != 0 }

    func testEveryContextLosesWritesToThePageAndOnlyToIt() {
        let t = SoftwareTLB()
        let a = TranslationTag(vpid: 1, pcid: 0, ep4ta: TranslationTag.linear)
        let b = TranslationTag(vpid: 2, pcid: 0, ep4ta: TranslationTag.linear)
        t.activate(a, basis: TLBBasis())
        fill(t, 0x1000, Self.p)
        fill(t, 0x2000, Self.q)
        fill(t, 0x3000, Self.other)
        t.activate(b, basis: TLBBasis())
        fill(t, 0x7000, Self.p)
        fill(t, 0x8000, Self.p, perms: TLBPerm.readSupervisor | TLBPerm.execSupervisor)
        t.revokeWrites(toPhysicalPage: Self.p)
        XCTAssertFalse(writable(t, 0x7000))
        XCTAssertEqual(UInt32(t.slot(0x7000).pointee.codePageWrites), TLBPerm.allWrite, "the walk's rights are kept aside")
        XCTAssertEqual(t.slot(0x8000).pointee.codePageWrites, 0)
        t.activate(a, basis: TLBBasis())
        XCTAssertFalse(writable(t, 0x1000))
        XCTAssertTrue(writable(t, 0x2000), "same filter bucket, another page")
        XCTAssertTrue(writable(t, 0x3000))
        // The bucket stays marked while Q is writable, and is cleared once nothing is.
        let bucket = SoftwareTLB.writableBucket(Self.p)
        XCTAssertEqual(UInt64(t.sets[t.current].writableFills![bucket]), t.generation)
        t.revokeWrites(toPhysicalPage: Self.q)
        XCTAssertFalse(writable(t, 0x2000))
        XCTAssertEqual(t.sets[t.current].writableFills![bucket], 0)
    }

    /// After a flush the set's filter is stale (older generation): a new writable fill marks it
    /// again, and a revocation finds that entry.
    func testFillsAfterAFlushAreFound() {
        let t = SoftwareTLB()
        fill(t, 0x1000, Self.p)
        t.revokeWrites(toPhysicalPage: Self.p)
        for _ in 0..<5000 {                       // past the 12-bit generation's wrap
            t.flushAll()
            fill(t, 0x1000, Self.p)
            XCTAssertTrue(writable(t, 0x1000))
            t.revokeWrites(toPhysicalPage: Self.p)
            if writable(t, 0x1000) { return XCTFail("generation \(t.generation): the writable entry was missed") }
        }
    }
}
