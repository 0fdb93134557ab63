import XCTest
@testable import CPU

/// EPT translation, permissions, large pages, A/D flags and misconfigurations
/// (SDM Vol. 3C §29.3.2 – §29.3.5).
final class EPTWalkerTests: XCTestCase {
    let pml4: UInt64 = 0x10_0000, pdpt: UInt64 = 0x10_1000, pd: UInt64 = 0x10_2000, pt: UInt64 = 0x10_3000
    var memory: PhysicalMemory!

    override func setUpWithError() throws {
        memory = try PhysicalMemory(size: 8 << 20)
        try memory.store(pdpt | 7, at: pml4)          // PML4E[0] → PDPT, RWX
        try memory.store(pd | 7, at: pdpt)            // PDPTE[0] → PD
        try memory.store(pt | 7, at: pd)              // PDE[0] → PT
    }

    private func walk(_ gpa: UInt64, _ access: EPTAccess, ad: Bool = false, features: EPTFeatures = EPTFeatures()) -> EPTWalkResult {
        EPTWalker(memory: memory, features: features, physicalAddressBits: 40)
            .translate(gpa, access, eptp: .make(root: pml4, accessedDirty: ad))
    }

    private static let r = EPTAccess(read: true), w = EPTAccess(write: true), x = EPTAccess(fetch: true)

    func testEveryPermissionCombinationOnA4KPage() throws {
        for perm: UInt64 in 0...7 {
            try memory.store(0x5000 | perm | (6 << 3), at: pt + 8)   // PTE[1] maps GPA 0x1000 → 0x5000, WB
            let misconfigured = perm & 3 == 2                         // W without R
            for (access, bit) in [(Self.r, UInt64(1)), (Self.w, 2), (Self.x, 4)] {
                let got = walk(0x1234, access)
                if perm == 0 {
                    XCTAssertEqual(got, .violation(rights: 0), "perm \(perm)")
                } else if misconfigured {
                    XCTAssertEqual(got, .misconfiguration(entryAddress: pt + 8), "perm \(perm)")
                } else if perm & bit != 0 {
                    XCTAssertEqual(got, .translated(hostPhysical: 0x5234, rights: UInt8(perm), pageSize: 4096), "perm \(perm)")
                } else {
                    XCTAssertEqual(got, .violation(rights: UInt8(perm)), "perm \(perm) access \(bit)")
                }
            }
        }
    }

    func testRightsAreTheAndOverAllLevels() throws {
        try memory.store(pd | 1, at: pdpt)                      // PDPTE read-only
        try memory.store(0x5000 | 7 | (6 << 3), at: pt + 8)
        XCTAssertEqual(walk(0x1000, Self.r), .translated(hostPhysical: 0x5000, rights: 1, pageSize: 4096))
        XCTAssertEqual(walk(0x1000, Self.w), .violation(rights: 1))
    }

    func testExecuteOnlyFollowsTheCapability() throws {
        try memory.store(0x5000 | 4 | (6 << 3), at: pt + 8)
        XCTAssertEqual(walk(0x1000, Self.x), .translated(hostPhysical: 0x5000, rights: 4, pageSize: 4096))
        var noXO = EPTFeatures(); noXO.executeOnly = false
        XCTAssertEqual(walk(0x1000, Self.x, features: noXO), .misconfiguration(entryAddress: pt + 8))
    }

    func testTwoMegabyteAndOneGigabytePages() throws {
        try memory.store(0x60_0000 | 7 | (6 << 3) | (1 << 7), at: pd + 8)        // PDE[1]: GPA 2M → 6M
        XCTAssertEqual(walk(0x2A_BCDE, Self.w), .translated(hostPhysical: 0x6A_BCDE, rights: 7, pageSize: 2 << 20))
        try memory.store(0x4000_0000 | 3 | (6 << 3) | (1 << 7), at: pdpt + 8)   // PDPTE[1]: GPA 1G → 1G
        XCTAssertEqual(walk(0x4123_4567, Self.r), .translated(hostPhysical: 0x4123_4567, rights: 3, pageSize: 1 << 30))
        var no1G = EPTFeatures(); no1G.pages1G = false
        XCTAssertEqual(walk(0x4123_4567, Self.r, features: no1G), .misconfiguration(entryAddress: pdpt + 8))
    }

    func testMisconfigurations() throws {
        // Reserved memory types 2, 3, 7 in a leaf.
        for type: UInt64 in [2, 3, 7] {
            try memory.store(0x5000 | 7 | (type << 3), at: pt + 8)
            XCTAssertEqual(walk(0x1000, Self.r), .misconfiguration(entryAddress: pt + 8), "type \(type)")
        }
        // Address bits above MAXPHYADDR (40).
        try memory.store((1 << 45) | 0x5000 | 7 | (6 << 3), at: pt + 8)
        XCTAssertEqual(walk(0x1000, Self.r), .misconfiguration(entryAddress: pt + 8))
        // Bits 20:12 of a 2-MByte page frame.
        try memory.store(0x60_1000 | 7 | (6 << 3) | (1 << 7), at: pd + 8)
        XCTAssertEqual(walk(0x20_0000, Self.r), .misconfiguration(entryAddress: pd + 8))
        // PS (bit 7) in a PML4E is reserved.
        try memory.store(pdpt | 7 | (1 << 7), at: pml4)
        XCTAssertEqual(walk(0x1000, Self.r), .misconfiguration(entryAddress: pml4))
        // Bits 6:3 in a non-leaf entry.
        try memory.store(pdpt | 7 | (1 << 4), at: pml4)
        XCTAssertEqual(walk(0x1000, Self.r), .misconfiguration(entryAddress: pml4))
    }

    func testNotPresentAtEachLevelIsAViolation() throws {
        try memory.store(0x5000 | 7 | (6 << 3), at: pt + 8)
        XCTAssertEqual(walk(0x8000_0000_00, Self.r), .violation(rights: 0))   // PML4E[1] absent
        XCTAssertEqual(walk(0x8000_0000, Self.r), .violation(rights: 0))      // PDPTE[2] absent
        XCTAssertEqual(walk(0x40_0000, Self.r), .violation(rights: 0))        // PDE[2] absent
        XCTAssertEqual(walk(0x2000, Self.r), .violation(rights: 0))           // PTE[2] absent
    }

    func testAccessedAndDirtyFlags() throws {
        try memory.store(0x5000 | 7 | (6 << 3), at: pt + 8)
        _ = walk(0x1000, Self.r, ad: false)
        XCTAssertEqual(try memory.load(UInt64.self, at: pt + 8) & 0x300, 0, "no A/D without EPTP bit 6")
        _ = walk(0x1000, Self.r, ad: true)
        for e in [pml4, pdpt, pd, pt + 8] {
            XCTAssertEqual(try memory.load(UInt64.self, at: e) & 0x100, 0x100, "accessed at 0x\(String(e, radix: 16))")
        }
        XCTAssertEqual(try memory.load(UInt64.self, at: pt + 8) & 0x200, 0, "read leaves dirty clear")
        _ = walk(0x1000, Self.w, ad: true)
        XCTAssertEqual(try memory.load(UInt64.self, at: pt + 8) & 0x200, 0x200, "write sets dirty")
        // A denied access sets nothing.
        try memory.store(0x6000 | 1 | (6 << 3), at: pt + 16)
        _ = walk(0x2000, Self.w, ad: true)
        XCTAssertEqual(try memory.load(UInt64.self, at: pt + 16) & 0x300, 0)
    }
}
