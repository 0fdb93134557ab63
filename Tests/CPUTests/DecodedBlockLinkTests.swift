import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Decoded-block links and self-modifying code. A link from one decoded block to the next is
/// followed only while the TLB still maps the successor's RIP to the code it was decoded from
/// (`Processor.linkedSuccessor`); a store that changes code bytes drops the page's blocks, and
/// one that rewrites the same bytes keeps them (SDM Vol. 3A §11.6).
final class DecodedBlockLinkTests: XCTestCase {
    typealias Bed = TLBTestBed
    /// Where in a frame the called routine sits.
    static let routine: UInt64 = 0x100

    /// Frame `f` gets `mov eax, imm; ret` at `routine`.
    func placeRoutine(_ bed: Bed, frame f: Int, returning imm: UInt8) throws {
        for (k, b) in [0xB8, imm, 0, 0, 0, 0xC3].enumerated() {
            try bed.memory.store(UInt8(b), at: Bed.frame(f) + Self.routine + UInt64(k))
        }
    }

    /// Calls the routine at RSI (linear page 0 of the bed), exits, then INVLPGs [RSI]; loops.
    static func callThenInvalidate(_ a: Assembler) {
        let top = a.boundLabel()
        a.call(rsi)
        a.vmcall()
        a.invlpg(byte[rsi])
        a.jmp(top)
    }

    func testALinkIsNotFollowedOnceTheCodePageIsRemapped() throws {
        let bed = try Bed(Self.callThenInvalidate)
        try placeRoutine(bed, frame: 6, returning: 1)
        try placeRoutine(bed, frame: 7, returning: 2)
        try bed.map(page: 0, frame: 6)
        let v = try bed.vmcs(vpid: 1)                        // the TLB and links persist across entries
        bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(0) + Self.routine
        XCTAssertEqual(bed.enter(v)[0], 1)
        XCTAssertEqual(bed.enter(v)[0], 1, "the call's block is now linked to the routine in frame 6")
        try bed.map(page: 0, frame: 7)
        XCTAssertEqual(bed.enter(v)[0], 2,
                       "after INVLPG the link to frame 6's routine must not be followed (§4.10.4.1)")
    }

    /// Stores DL over the routine's immediate byte, then calls it and exits; loops.
    static func patchThenCall(_ a: Assembler) {
        let top = a.boundLabel()
        a.mov(byte[rsi + 1], dl)
        a.call(rsi)
        a.vmcall()
        a.jmp(top)
    }

    func testRewritingCodeWithTheSameBytesKeepsItsDecodedBlocks() throws {
        let bed = try Bed(Self.patchThenCall)
        try placeRoutine(bed, frame: 6, returning: 1)
        try bed.map(page: 0, frame: 6)
        let v = try bed.vmcs(vpid: 1)
        bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(0) + Self.routine
        bed.cpu.gpr[GPR.rdx.rawValue] = 1
        XCTAssertEqual(bed.enter(v)[0], 1)
        XCTAssertEqual(bed.enter(v)[0], 1)                   // the resumption path is decoded too
        let cache = bed.cpu.decodeCache
        let (decoded, invalidated) = (cache.blocksDecoded, cache.blocksInvalidated)
        XCTAssertEqual(bed.enter(v)[0], 1)
        XCTAssertEqual(cache.blocksInvalidated, invalidated, "storing the byte already there changes no code")
        XCTAssertEqual(cache.blocksDecoded, decoded, "so nothing is decoded again")

        bed.cpu.gpr[GPR.rdx.rawValue] = 2
        XCTAssertEqual(bed.enter(v)[0], 2, "a store that changes code bytes takes effect (§11.6)")
        XCTAssertGreaterThan(cache.blocksInvalidated, invalidated)
    }

    /// RIP FFFFFFFF_FFFFFFFFH is canonical, so a 64-bit guest can jump there; a block's link
    /// slot that never held a link records that RIP, and it must not be taken for a link (the
    /// slot names no block: following it read outside the block table and crashed L0 — found
    /// by the hostile-L1 fuzz). The fetch there faults as the page tables say (§4.7: #PF with
    /// CR2 = the RIP), here a VM exit through the exception bitmap.
    func testAGuestAtTheLastLinearAddressFollowsNoLink() throws {
        let bed = try Bed { a in
            a.mov(rax, -1)
            a.jmp(rax)
        }
        let v = try bed.vmcs()
        v[.exceptionBitmap] = 1 << 14
        XCTAssertEqual(bed.cpu.run(vmcs: v, budget: 10_000), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v.exitInterruption.vector, 14)
        XCTAssertEqual(v[.guestRIP], ~0)
        XCTAssertEqual(v[.exitQualification], ~0, "the faulting linear address")
    }
}
