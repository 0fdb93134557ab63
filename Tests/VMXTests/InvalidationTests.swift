import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// INVEPT and INVVPID as L0 executes them through `Processor.invept` / `Processor.invvpid`:
/// exactly the mappings SDM Vol. 3C ch. 31 "INVEPT"/"INVVPID" and §29.4.3.1 name drop; the
/// others stay cached (stale), which the architecture permits.
final class InvalidationTests: XCTestCase {
    typealias Bed = TLBTestBed

    func testINVVPIDIndividualAddressDropsOnePageOfOneVPID() throws {
        let bed = try Bed(VPIDTLBTests.readPages)
        try bed.map(page: 1, frame: 1, global: true)
        let v1 = try bed.vmcs(vpid: 1, pge: true), v2 = try bed.vmcs(vpid: 2, pge: true)
        bed.enter(v1); bed.enter(v2)
        try bed.map(page: 0, frame: 4)
        try bed.map(page: 1, frame: 5, global: true)
        try bed.map(page: 2, frame: 6)
        try bed.cpu.invvpid(.individualAddress, INVVPIDDescriptor(vpid: 1, linearAddress: Bed.page(0) + 0x123))
        try bed.cpu.invvpid(.individualAddress, INVVPIDDescriptor(vpid: 1, linearAddress: Bed.page(1)))
        XCTAssertEqual(bed.enter(v1), Bed.values(4, 5, 2), "pages 0 and 1 (global too) of VPID 1 dropped, page 2 kept")
        XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2), "VPID 2 untouched")
    }

    func testINVVPIDAllContextDropsEveryVPIDButZero() throws {
        let bed = try Bed(VPIDTLBTests.readPages)
        let v1 = try bed.vmcs(vpid: 1), v2 = try bed.vmcs(vpid: 2)
        bed.enter(v1); bed.enter(v2)
        // A linear mapping of VPID 0000H, made outside VMX non-root operation.
        _ = try bed.cpu.translate(Bed.page(3), AccessType.read)
        let vpid0 = TranslationTag(vpid: 0, pcid: 0, ep4ta: TranslationTag.linear)
        XCTAssertTrue(bed.cpu.tlb.holds(Bed.page(3), for: vpid0))
        try bed.map(page: 0, frame: 4)
        try bed.cpu.invvpid(.allContext, INVVPIDDescriptor(vpid: 0))
        XCTAssertTrue(bed.cpu.tlb.holds(Bed.page(3), for: vpid0), "VPID 0000H is not invalidated by all-context")
        XCTAssertEqual(bed.enter(v1), Bed.values(4, 1, 2))
        XCTAssertEqual(bed.enter(v2), Bed.values(4, 1, 2))
    }

    func testINVVPIDSingleContextRetainingGlobalsKeepsGlobalTranslations() throws {
        let bed = try Bed(VPIDTLBTests.readPages)
        try bed.map(page: 1, frame: 1, global: true)
        let v1 = try bed.vmcs(vpid: 1, pge: true), v2 = try bed.vmcs(vpid: 2, pge: true)
        bed.enter(v1); bed.enter(v2)
        try bed.map(page: 0, frame: 4)
        try bed.map(page: 1, frame: 5, global: true)
        try bed.cpu.invvpid(.singleContextRetainingGlobals, INVVPIDDescriptor(vpid: 1))
        XCTAssertEqual(bed.enter(v1), Bed.values(4, 1, 2), "non-global pages dropped, the global one kept")
        XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2), "VPID 2 untouched")
        try bed.cpu.invvpid(.singleContext, INVVPIDDescriptor(vpid: 1))
        XCTAssertEqual(bed.enter(v1), Bed.values(4, 5, 2), "single-context drops global translations too")
    }

    func testINVVPIDOperandChecks() throws {
        let cpu = try Bed(VPIDTLBTests.readPages).cpu
        for type in [INVVPIDType.individualAddress, .singleContext, .singleContextRetainingGlobals] {
            XCTAssertThrowsError(try cpu.invvpid(type, INVVPIDDescriptor(vpid: 0))) { e in
                XCTAssertEqual(e as? VMInstructionError, .invalidINVEPTOrINVVPIDOperand, "VPID 0 with type \(type)")
            }
        }
        XCTAssertNoThrow(try cpu.invvpid(.allContext, INVVPIDDescriptor(vpid: 0)))
        XCTAssertThrowsError(try cpu.invvpid(.singleContext, INVVPIDDescriptor(low: 1 | (1 << 16), linearAddress: 0)))
        XCTAssertThrowsError(try cpu.invvpid(.individualAddress, INVVPIDDescriptor(vpid: 1, linearAddress: 0x0000_8000_0000_0000)))
        XCTAssertNoThrow(try cpu.invvpid(.individualAddress, INVVPIDDescriptor(vpid: 1, linearAddress: 0xFFFF_8000_0000_0000)))
        XCTAssertEqual(VMInstructionError.invalidINVEPTOrINVVPIDOperand.rawValue, 28)
    }

    /// Combined mappings are tagged by EP4TA: single-context INVEPT drops those of one EPTP for
    /// every VPID; all-context drops every combined mapping; neither touches linear mappings.
    func testINVEPTDropsCombinedMappingsOfTheEP4TAOnly() throws {
        let bed = try Bed(VPIDTLBTests.readPages)
        let a1 = try bed.vmcs(vpid: 1, eptp: Bed.eptpA), a2 = try bed.vmcs(vpid: 2, eptp: Bed.eptpA)
        let b1 = try bed.vmcs(vpid: 1, eptp: Bed.eptpB)
        let linear1 = try bed.vmcs(vpid: 1)
        for v in [a1, a2, b1, linear1] { XCTAssertEqual(bed.enter(v), Bed.values(0, 1, 2)) }
        try bed.map(page: 0, frame: 4)
        for v in [a1, a2, b1, linear1] { XCTAssertEqual(bed.enter(v), Bed.values(0, 1, 2), "all stale before INVEPT") }
        // Accessed/dirty and memory-type bits of the EPTP do not matter: bits 51:12 name the EP4TA.
        try bed.cpu.invept(.singleContext, eptp: EPTPointer.make(root: Bed.eptA, accessedDirty: true))
        XCTAssertEqual(bed.enter(a1), Bed.values(4, 1, 2), "EP4TA A, VPID 1 dropped")
        XCTAssertEqual(bed.enter(a2), Bed.values(4, 1, 2), "EP4TA A, VPID 2 dropped")
        XCTAssertEqual(bed.enter(b1), Bed.values(0, 1, 2), "EP4TA B kept")
        XCTAssertEqual(bed.enter(linear1), Bed.values(0, 1, 2), "linear mappings kept")
        try bed.cpu.invept(.allContext, eptp: EPTPointer(0))
        XCTAssertEqual(bed.enter(b1), Bed.values(4, 1, 2), "all-context drops EP4TA B")
        XCTAssertEqual(bed.enter(linear1), Bed.values(0, 1, 2), "all-context keeps linear mappings")
    }

    /// INVLPG in a guest using EPT drops the page's combined mappings of its VPID for every
    /// EP4TA (§29.4.3.1), and no other VPID's.
    func testINVLPGDropsCombinedMappingsOfEveryEP4TAOfTheVPID() throws {
        let bed = try Bed { a in
            let top = a.boundLabel()
            a.mov(rax, qword[Int64(Bed.page(0))])
            a.mov(rbx, qword[Int64(Bed.page(1))])
            a.mov(rdx, qword[Int64(Bed.page(2))])
            a.vmcall()
            a.invlpg(mem[Int64(Bed.page(0))])
            a.vmcall()
            a.jmp(top)
        }
        let a1 = try bed.vmcs(vpid: 1, eptp: Bed.eptpA), b1 = try bed.vmcs(vpid: 1, eptp: Bed.eptpB)
        let b2 = try bed.vmcs(vpid: 2, eptp: Bed.eptpB)
        let top = a1[.guestRIP]
        for v in [a1, b1, b2] { XCTAssertEqual(bed.enter(v), Bed.values(0, 1, 2)) }
        try bed.map(page: 0, frame: 4)
        try bed.map(page: 1, frame: 5)
        bed.enter(a1)                                     // INVLPG page 0 under (VPID 1, EP4TA A)
        b1[.guestRIP] = top
        XCTAssertEqual(bed.enter(b1), Bed.values(4, 1, 2), "(VPID 1, EP4TA B) lost page 0 too")
        b2[.guestRIP] = top
        XCTAssertEqual(bed.enter(b2), Bed.values(0, 1, 2), "VPID 2 untouched")
        a1[.guestRIP] = top
        XCTAssertEqual(bed.enter(a1), Bed.values(4, 1, 2))
    }

    func testINVEPTOperandChecks() throws {
        let cpu = try Bed(VPIDTLBTests.readPages).cpu
        XCTAssertNoThrow(try cpu.invept(.singleContext, eptp: Bed.eptpA))
        XCTAssertThrowsError(try cpu.invept(.singleContext, eptp: EPTPointer(Bed.eptA | 1 | (3 << 3))), "memory type 1")
        XCTAssertThrowsError(try cpu.invept(.singleContext, eptp: EPTPointer(Bed.eptA | 6 | (2 << 3))), "3-level walk")
        XCTAssertThrowsError(try cpu.invept(.singleContext, eptp: EPTPointer(Bed.eptA | 6 | (3 << 3) | 0x100)), "reserved bit 8")
        XCTAssertNoThrow(try cpu.invept(.allContext, eptp: EPTPointer(0)), "all-context ignores the descriptor")
    }
}
