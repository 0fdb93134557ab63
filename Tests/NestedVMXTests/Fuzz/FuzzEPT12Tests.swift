import XCTest

/// The contract `MemoryGuard` relies on: the EPT12 the fuzz writes never lets L2 write L1's own
/// memory. Seed 0x17F401 once broke it — `modify` flipped the rights of a read-only leaf onto
/// L1's PDPT to read/write, an L2 wrote it, and the guard reported L0 changing L1's page tables.
final class FuzzEPT12Tests: XCTestCase {
    /// Every entry, whatever level a walk (loops, shared tables) gives it: read and write
    /// (SDM Vol. 3C §29.3.2) only onto L2's regions or what is not L1 RAM.
    func testNoEntryGrantsWritingL1sOwnMemoryAcrossRebuildsAndEdits() {
        let ramTop = L1Layout.ramBytes
        var r = FuzzRandom(seed: 0x17F401)
        var ept12 = FuzzEPT12(ramTop: ramTop, physicalAddressBits: 39)
        for round in 0..<600 {
            if round % 20 == 0 { ept12.regenerate(&r) } else { ept12.modify(&r) }
            for (k, e) in ept12.image.enumerated() where e & 3 == 3 {
                let target = e & 0x000F_FFFF_FFFF_F000
                if target < ramTop && !FuzzLayout.l2Reachable.contains(target) {
                    return XCTFail("round \(round): entry 0x\(String(e, radix: 16)) at 0x\(String(FuzzLayout.ept12Arena + UInt64(k) * 8, radix: 16)) lets L2 write L1's own memory")
                }
            }
        }
    }
}
