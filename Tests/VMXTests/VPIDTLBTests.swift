import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Cached translations tagged by VPID across VM entries and exits (SDM Vol. 3C §29.1 "Virtual
/// Processor Identifiers", §29.4 "Caching Translation Information", §27.3.2.5, §28.5.5).
/// A translation that stays stale after the page tables change shows it was cached; one that
/// follows the change shows it was invalidated.
final class VPIDTLBTests: XCTestCase {
    typealias Bed = TLBTestBed

    /// Reads pages 0, 1, 2 into RAX, RBX, RDX and exits (VMCALL); loops.
    static func readPages(_ a: Assembler) {
        let top = a.boundLabel()
        a.mov(rax, qword[Int64(Bed.page(0))])
        a.mov(rbx, qword[Int64(Bed.page(1))])
        a.mov(rdx, qword[Int64(Bed.page(2))])
        a.vmcall()
        a.jmp(top)
    }

    func testEntryWithSameVPIDKeepsCachedTranslation() throws {
        let bed = try Bed(Self.readPages)
        let v = try bed.vmcs(vpid: 1)
        XCTAssertEqual(bed.enter(v), Bed.values(0, 1, 2))
        try bed.map(page: 0, frame: 5)
        XCTAssertEqual(bed.enter(v), Bed.values(0, 1, 2), "VM exit and entry with VPID 1 invalidate nothing (§29.1)")
        XCTAssertEqual(bed.enter(v), Bed.values(0, 1, 2))
        try bed.cpu.invvpid(.singleContext, INVVPIDDescriptor(vpid: 1))
        XCTAssertEqual(bed.enter(v), Bed.values(5, 1, 2), "INVVPID single-context drops the stale translation")
    }

    func testEntryWithoutVPIDInvalidatesVPIDZero() throws {
        let bed = try Bed(Self.readPages)
        let v = try bed.vmcs()
        XCTAssertEqual(bed.enter(v), Bed.values(0, 1, 2))
        try bed.map(page: 0, frame: 5)
        try bed.map(page: 2, frame: 6)
        XCTAssertEqual(bed.enter(v), Bed.values(5, 1, 6), "\"enable VPID\" = 0: entry/exit invalidate VPID 0000H (§27.3.2.5)")
    }

    func testVPIDZeroTransitionsDoNotTouchOtherVPIDs() throws {
        let bed = try Bed(Self.readPages)
        let tagged = try bed.vmcs(vpid: 7), untagged = try bed.vmcs()
        XCTAssertEqual(bed.enter(tagged), Bed.values(0, 1, 2))
        try bed.map(page: 1, frame: 4)
        XCTAssertEqual(bed.enter(untagged), Bed.values(0, 4, 2))
        XCTAssertEqual(bed.enter(tagged), Bed.values(0, 1, 2), "VPID 7 keeps its translations across VPID-0 transitions")
    }

    func testSwitchingBetweenTwoVPIDsKeepsBothSets() throws {
        let bed = try Bed(Self.readPages)
        let v1 = try bed.vmcs(vpid: 1), v2 = try bed.vmcs(vpid: 2)
        XCTAssertEqual(bed.enter(v1), Bed.values(0, 1, 2))
        XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2))
        try bed.map(page: 0, frame: 4)
        try bed.map(page: 1, frame: 5)
        for _ in 0..<3 {
            XCTAssertEqual(bed.enter(v1), Bed.values(0, 1, 2), "VPID 1's translations survive VPID 2 running")
            XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2), "VPID 2's translations survive VPID 1 running")
        }
        try bed.cpu.invvpid(.singleContext, INVVPIDDescriptor(vpid: 2))
        XCTAssertEqual(bed.enter(v1), Bed.values(0, 1, 2))
        XCTAssertEqual(bed.enter(v2), Bed.values(4, 5, 2))
    }

    /// INVLPG and MOV to CR3 in the guest act on its own VPID only (§29.4.3.1); MOV to CR3
    /// keeps global translations (Vol. 3A §4.10.4.1).
    func testINVLPGAndMOVToCR3ActOnTheCurrentVPIDOnly() throws {
        let bed = try Bed { a in
            let top = a.boundLabel()
            a.mov(rax, qword[Int64(Bed.page(0))])
            a.mov(rbx, qword[Int64(Bed.page(1))])
            a.mov(rdx, qword[Int64(Bed.page(2))])
            a.vmcall()                                    // exit 1: what is cached
            a.invlpg(mem[Int64(Bed.page(0))])
            a.mov(rax, qword[Int64(Bed.page(0))])
            a.mov(rbx, qword[Int64(Bed.page(1))])
            a.mov(rdx, qword[Int64(Bed.page(2))])
            a.vmcall()                                    // exit 2: after INVLPG page 0
            a.mov(rcx, cr3)
            a.mov(cr3, rcx)
            a.mov(rax, qword[Int64(Bed.page(0))])
            a.mov(rbx, qword[Int64(Bed.page(1))])
            a.mov(rdx, qword[Int64(Bed.page(2))])
            a.vmcall()                                    // exit 3: after MOV to CR3
            a.jmp(top)
        }
        try bed.map(page: 2, frame: 2, global: true)
        let v1 = try bed.vmcs(vpid: 1, pge: true), v2 = try bed.vmcs(vpid: 2, pge: true)
        let top = v2[.guestRIP]
        XCTAssertEqual(bed.enter(v1), Bed.values(0, 1, 2))
        XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2))
        try bed.map(page: 0, frame: 4)
        try bed.map(page: 1, frame: 5)
        try bed.map(page: 2, frame: 6, global: true)
        XCTAssertEqual(bed.enter(v1), Bed.values(4, 1, 2), "INVLPG drops page 0 only")
        v2[.guestRIP] = top
        XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2), "VPID 2 is untouched by VPID 1's INVLPG")
        XCTAssertEqual(bed.enter(v1), Bed.values(4, 5, 2), "MOV to CR3 drops non-global translations, keeps the global one")
        v2[.guestRIP] = top
        XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2), "VPID 2 is untouched by VPID 1's MOV to CR3")
    }

    /// INVPCID in the guest (Vol. 2A "INVPCID"), for its own VPID only: type 0 drops one
    /// page's non-global translation, type 3 every non-global one, type 2 every one.
    func testINVPCIDTypesActOnTheCurrentVPIDOnly() throws {
        func reads(_ a: Assembler) {
            a.mov(rax, qword[Int64(Bed.page(0))])
            a.mov(rbx, qword[Int64(Bed.page(1))])
            a.mov(rdx, qword[Int64(Bed.page(2))])
            a.vmcall()
        }
        let bed = try Bed { a in
            let top = a.boundLabel()
            reads(a)                                              // exit 1
            a.mov(ecx, 0); a.invpcid(rcx, oword[0x9000])          // type 0, page 1 (global): kept
            a.mov(ecx, 0); a.invpcid(rcx, oword[0x9010])          // type 0, page 0: dropped
            reads(a)                                              // exit 2
            a.mov(ecx, 3); a.invpcid(rcx, oword[0x9000])          // all non-global
            reads(a)                                              // exit 3
            a.mov(ecx, 2); a.invpcid(rcx, oword[0x9000])          // all, globals too
            reads(a)                                              // exit 4
            a.jmp(top)
        }
        try bed.memory.store(UInt64(0), at: 0x9000); try bed.memory.store(Bed.page(1), at: 0x9008)
        try bed.memory.store(UInt64(0), at: 0x9010); try bed.memory.store(Bed.page(0), at: 0x9018)
        try bed.map(page: 1, frame: 1, global: true)
        let v1 = try bed.vmcs(vpid: 1, pge: true), v2 = try bed.vmcs(vpid: 2, pge: true)
        for v in [v1, v2] { v[.secondaryProcessorBasedControls] |= UInt64(SecondaryProcessorBasedControls.enableINVPCID.rawValue) }
        let top = v2[.guestRIP]
        XCTAssertEqual(bed.enter(v1), Bed.values(0, 1, 2))
        XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2))
        try bed.map(page: 0, frame: 4)
        try bed.map(page: 1, frame: 5, global: true)
        try bed.map(page: 2, frame: 6)
        let expected = [Bed.values(4, 1, 2), Bed.values(4, 1, 6), Bed.values(4, 5, 6)]
        for (step, values) in expected.enumerated() {
            XCTAssertEqual(bed.enter(v1), values, "VPID 1 after INVPCID step \(step + 1)")
            v2[.guestRIP] = top
            XCTAssertEqual(bed.enter(v2), Bed.values(0, 1, 2), "VPID 2 untouched after step \(step + 1)")
        }
    }

    /// PCIDs: a MOV to CR3 with bit 63 set switches PCID without invalidating, and the
    /// translations of each PCID are used only under it (Vol. 3A §4.10.1, §4.10.4.1).
    func testPCIDsTagTranslations() throws {
        let bed = try Bed { a in
            let top = a.boundLabel()
            a.mov(rax, qword[Int64(Bed.page(0))])
            a.vmcall()                                    // exit: value of page 0 under PCID 1
            a.mov(rcx, unsigned: 0x1000 | 2 | (1 << 63))  // CR3 = same tables, PCID 2, no flush
            a.mov(cr3, rcx)
            a.mov(rax, qword[Int64(Bed.page(0))])
            a.vmcall()                                    // exit: under PCID 2
            a.mov(rcx, unsigned: 0x1000 | 1 | (1 << 63))  // back to PCID 1, no flush
            a.mov(cr3, rcx)
            a.jmp(top)
        }
        let v = try bed.vmcs(vpid: 1)
        v[.guestCR4] |= 1 << 17                           // CR4.PCIDE
        v[.guestCR3] = 0x1000 | 1
        XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: 0))
        try bed.map(page: 0, frame: 4)
        XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: 4), "PCID 2 has no cached translation: walks the new PTE")
        try bed.map(page: 0, frame: 5)
        XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: 0), "PCID 1 still has its translation")
        XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: 4), "PCID 2 still has its translation")
    }

    /// A page fault invalidates the faulting page's translations (Vol. 3A §4.10.4.1), even
    /// with a VPID (nothing else would drop the stale read-only entry here).
    func testPageFaultInvalidatesTheFaultingPage() throws {
        let bed = try Bed { a in
            let top = a.boundLabel()
            a.mov(rax, qword[Int64(Bed.page(0))])
            a.mov(rbx, qword[Int64(Bed.page(1))])
            a.vmcall()
            a.mov(qword[Int64(Bed.page(0))], rbx)     // page 0 is read-only: #PF
            a.jmp(top)
        }
        try bed.memory.store(Bed.frame(0) | 5, at: Bed.pt)      // page 0 → frame 0, read-only
        let v = try bed.vmcs(vpid: 1)
        v[.exceptionBitmap] = 1 << 14
        v[.guestCR0] |= 1 << 16                        // CR0.WP: supervisor writes honour R/W
        let top = v[.guestRIP]
        XCTAssertEqual(bed.enter(v)[0...1], Bed.values(0, 1)[0...1])
        try bed.memory.store(Bed.frame(4) | 5, at: Bed.pt)
        try bed.map(page: 1, frame: 5)
        XCTAssertEqual(bed.cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation] & 0xFF, 14)
        v[.guestRIP] = top
        let r = bed.enter(v)
        XCTAssertEqual(r[0], Bed.value(frame: 4), "the #PF dropped page 0's stale translation")
        XCTAssertEqual(r[1], Bed.value(frame: 1), "page 1 is still cached (stale)")
    }

    /// Code written through a translation another VPID cached before the page held decoded code
    /// still invalidates the decoded blocks (write permission is revoked in every context).
    func testSelfModifyingCodeAcrossVPIDs() throws {
        let bed = try Bed { a in
            a.mov(qword[Int64(Bed.page(3) + 0x800)], rax)   // caches a writable (dirty) translation, VPID 2
            a.vmcall()
            a.mov(dword[Int64(Bed.page(3) + 1)], ebx)   // patches VPID 1's MOV EAX immediate
            a.vmcall()
        }
        try bed.memory.write([0xB8, 0x11, 0, 0, 0, 0x0F, 0x01, 0xC1], at: Bed.frame(3))   // mov eax, 0x11; vmcall
        let v1 = try bed.vmcs(vpid: 1), v2 = try bed.vmcs(vpid: 2)
        v1[.guestRIP] = Bed.page(3)
        bed.enter(v2)
        XCTAssertEqual(bed.enter(v1)[0], 0x11)
        bed.cpu.gpr[3] = 0x22
        bed.enter(v2)
        v1[.guestRIP] = Bed.page(3)
        XCTAssertEqual(bed.enter(v1)[0], 0x22, "VPID 1 runs the patched code")
    }

    /// 1,000,000 entries and CPUID exits with "enable VPID" (MATRYOSHKA_VMX_EXITS scales it);
    /// prints exits/s. Compare with `VMExitTests.testCPUIDExitLoopThroughput` (VPID off: every
    /// entry and exit invalidates VPID 0000H).
    func testCPUIDExitLoopThroughputWithVPID() throws {
        let n = Int(ProcessInfo.processInfo.environment["MATRYOSHKA_VMX_EXITS"] ?? "") ?? 100_000
        let bed = try Bed { a in
            let top = a.boundLabel()
            a.cpuid()
            a.jmp(top, short: true)
        }
        let v = try bed.vmcs(vpid: 1)
        try VMExitTests.runCPUIDExitLoop(bed.cpu, v, n, label: "VMX CPUID EXIT LOOP (VPID 1)")
    }
}
