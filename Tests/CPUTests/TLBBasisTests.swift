import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// What the paging controls do to cached translations (SDM Vol. 3A §4.10.4.1: of CR0.WP and
/// CR4.PGE only a PGE change invalidates), the virtual time a page walk takes
/// (`CPUModel.pagingEntryLatency`), and protection keys (§4.6.2: PKRU for user-mode
/// addresses, IA32_PKRS for supervisor-mode ones, checked on data accesses only).
final class TLBBasisTests: XCTestCase {
    typealias Bed = TLBTestBed
    static let pke: UInt64 = 1 << 22, pks: UInt64 = 1 << 24, wp: UInt64 = 1 << 16

    /// Toggles CR0.WP (or CR4.PGE) twice, reads [RSI] into RAX, exits (VMCALL); loops.
    static func toggleThenRead(cr4PGE: Bool) -> (Assembler) -> Void {
        { a in
            let top = a.boundLabel()
            if cr4PGE {
                a.mov(rbx, cr4); a.xor(ebx, 1 << 7); a.mov(cr4, rbx); a.xor(ebx, 1 << 7); a.mov(cr4, rbx)
            } else {
                a.mov(rbx, cr0); a.xor(ebx, 1 << 16); a.mov(cr0, rbx); a.xor(ebx, 1 << 16); a.mov(cr0, rbx)
            }
            a.mov(rax, qword[rsi])
            a.vmcall()
            a.jmp(top)
        }
    }

    func testTogglingCR0WPInvalidatesNothing() throws {
        let bed = try Bed(Self.toggleThenRead(cr4PGE: false))
        let v = try bed.vmcs(vpid: 1)
        bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(3)
        XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: 3))
        try bed.map(page: 3, frame: 5)                       // no invalidation
        XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: 3),
                       "WP 0 → 1 → 0 kept the cached translation (it selects a TLB set, §4.10.4.1)")
    }

    func testTogglingCR4PGEInvalidatesEverything() throws {
        let bed = try Bed(Self.toggleThenRead(cr4PGE: true))
        let v = try bed.vmcs(vpid: 1)
        bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(3)
        XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: 3))
        try bed.map(page: 3, frame: 5)
        XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: 5), "a PGE change invalidates every translation")
    }

    func testEachPagingEntryReadTakesTheModelLatency() throws {
        let bed = try Bed(PagingStructureCacheTests.readAtRSI)
        let latency = bed.cpu.model.pagingEntryLatency
        XCTAssertEqual(latency, 6)
        let v = try bed.vmcs(vpid: 1)
        func read(_ k: Int) -> (UInt64, UInt64) {
            bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(k)
            let before = bed.cpu.stallTime, tsc = bed.cpu.timeStampCounter
            XCTAssertEqual(bed.enter(v)[0], Bed.value(frame: k))
            return (bed.cpu.stallTime - before, bed.cpu.timeStampCounter - tsc)
        }
        _ = read(0)                                          // code, PDE cache and page 0 cached
        let (miss, missTSC) = read(1)
        XCTAssertEqual(miss, latency, "one PTE read: the walk starts at the cached page table")
        let (hit, hitTSC) = read(1)
        XCTAssertEqual(hit, 0, "a TLB hit takes no walk")
        XCTAssertEqual(missTSC - hitTSC, latency * bed.cpu.model.tscPerInstruction, "the TSC counts the walk")
    }

    // MARK: Protection keys

    /// Loads PKRU from EDI (WRPKRU), then reads (or writes RAX to) [RSI], exits; loops.
    static func keyedAccess(write: Bool) -> (Assembler) -> Void {
        { a in
            let top = a.boundLabel()
            a.mov(eax, edi); a.xor(ecx, ecx); a.xor(edx, edx)
            a.db(0x0F, 0x01, 0xEF)                           // WRPKRU
            if write { a.mov(qword[rsi], rax) } else { a.mov(rax, qword[rsi]) }
            a.vmcall()
            a.jmp(top)
        }
    }

    /// Page `k` maps frame `k` with protection key `key`; `user` selects U/S.
    func mapKeyed(_ bed: Bed, page k: Int, key: UInt64, user: Bool = true) throws {
        try bed.memory.store(Bed.frame(k) | (user ? 7 : 3) | key << 59, at: Bed.pt + UInt64(k) * 8)
    }

    /// Runs a fresh VMCS (no VPID: every entry starts with an empty TLB) with PKRU = `pkru`
    /// against page `k`; returns the #PF error code, or nil when the access completed.
    func access(_ bed: Bed, page k: Int, pkru: UInt32, cr4: UInt64 = TLBBasisTests.pke, wp: Bool = false,
                file: StaticString = #filePath, line: UInt = #line) throws -> UInt64? {
        let v = try bed.vmcs()
        v[.guestCR4] |= cr4
        if wp { v[.guestCR0] |= Self.wp }
        v[.exceptionBitmap] = 1 << 14
        bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(k)
        bed.cpu.gpr[GPR.rdi.rawValue] = UInt64(pkru)
        switch bed.cpu.run(vmcs: v, budget: 1000) {
        case .vmExit(.vmcall): return nil
        case .vmExit(.exceptionOrNMI):
            XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0B0E, "#PF", file: file, line: line)
            XCTAssertEqual(v[.exitQualification], Bed.page(k), "the faulting address", file: file, line: line)
            return v[.exitInterruptionErrorCode]
        case let other:
            XCTFail("unexpected \(other)", file: file, line: line)
            return ~0
        }
    }

    func testPKRUAccessDisableFaultsDataReadsOfUserPages() throws {
        let bed = try Bed(Self.keyedAccess(write: false))
        bed.cpu.model.features.insert(.pku)
        try mapKeyed(bed, page: 1, key: 1)
        let adKey1: UInt32 = 1 << 2, adKey2: UInt32 = 1 << 4
        XCTAssertNil(try access(bed, page: 1, pkru: 0))
        XCTAssertEqual(try access(bed, page: 1, pkru: adKey1), 0x21, "P | PK: a supervisor read denied by the key")
        XCTAssertNil(try access(bed, page: 1, pkru: adKey2), "another key's rights do not apply")
    }

    func testPKRUWriteDisableStopsSupervisorWritesOnlyWithCR0WP() throws {
        let bed = try Bed(Self.keyedAccess(write: true))
        bed.cpu.model.features.insert(.pku)
        try mapKeyed(bed, page: 1, key: 1)
        let wdKey1: UInt32 = 2 << 2
        XCTAssertNil(try access(bed, page: 1, pkru: wdKey1, wp: false))
        XCTAssertEqual(try access(bed, page: 1, pkru: wdKey1, wp: true), 0x23, "P | W | PK")
        XCTAssertNil(try access(bed, page: 1, pkru: 0, wp: true))
    }

    /// §4.7: PK reports that the key denies the access even when paging denies it too.
    func testPKIsReportedAlongsideAPagingPermissionFault() throws {
        let bed = try Bed(Self.keyedAccess(write: true))
        bed.cpu.model.features.insert(.pku)
        try bed.memory.store(Bed.frame(1) | 5 | 1 << 59, at: Bed.pt + 8)     // read-only user page, key 1
        let adKey1: UInt32 = 1 << 2
        XCTAssertEqual(try access(bed, page: 1, pkru: 0, wp: true), 0x03, "P | W: read-only under CR0.WP")
        XCTAssertEqual(try access(bed, page: 1, pkru: adKey1, wp: true), 0x23, "P | W | PK")
    }

    func testPKRSGovernsSupervisorPagesAndPKRUDoesNot() throws {
        let bed = try Bed(Self.keyedAccess(write: true))
        bed.cpu.model.features.formUnion([.pku, .pks])
        try mapKeyed(bed, page: 2, key: 3, user: false)
        let adKey3: UInt32 = 1 << 6, wdKey3: UInt64 = 2 << 6
        XCTAssertNil(try access(bed, page: 2, pkru: adKey3, cr4: Self.pke | Self.pks), "PKRU: user-mode addresses only")
        XCTAssertTrue(bed.cpu.writeMSR(MSRIndex.pkrs, wdKey3))
        XCTAssertEqual(try access(bed, page: 2, pkru: 0, cr4: Self.pke | Self.pks, wp: true), 0x23)
        XCTAssertNil(try access(bed, page: 2, pkru: 0, cr4: Self.pke | Self.pks, wp: false))
        XCTAssertNil(try access(bed, page: 2, pkru: 0, cr4: Self.pke, wp: true), "CR4.PKS = 0")
        XCTAssertFalse(bed.cpu.writeMSR(MSRIndex.pkrs, 1 << 32), "bits 63:32 are reserved")
        bed.cpu.model.features.remove(.pks)
        XCTAssertNil(bed.cpu.readMSR(MSRIndex.pkrs), "no PKS: IA32_PKRS does not exist")
    }

    /// A bed on a PKU processor running `instruction` (3 bytes) then VMCALL.
    func pkuBed(_ setup: @escaping (Assembler) -> Void, _ instruction: [UInt8]) throws -> Bed {
        let bed = try Bed { a in setup(a); a.db(instruction); a.vmcall() }
        bed.cpu.model.features.insert(.pku)
        return bed
    }

    /// Enters a fresh VMCS with `cr4` added and #UD/#GP exiting, the GPRs set as `gprs` says.
    func runPKUInstruction(_ bed: Bed, cr4: UInt64, _ gprs: [(GPR, UInt64)]) throws -> (VMRunOutcome, VMCS) {
        let v = try bed.vmcs()
        v[.guestCR4] |= cr4
        v[.exceptionBitmap] = 1 << 6 | 1 << 13
        for (r, value) in gprs { bed.cpu.gpr[r.rawValue] = value }
        return (bed.cpu.run(vmcs: v, budget: 100), v)
    }

    func testRDPKRUAndWRPKRUFaults() throws {
        let bed = try pkuBed({ $0.mov(ecx, esi) }, [0x0F, 0x01, 0xEE])        // RDPKRU
        func run(cr4: UInt64, ecx: UInt64) throws -> (VMRunOutcome, VMCS) {
            try runPKUInstruction(bed, cr4: cr4, [(.rsi, ecx), (.rdx, 0xDEAD)])
        }
        var (outcome, v) = try run(cr4: 0, ecx: 0)
        XCTAssertEqual(outcome, .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0306, "#UD with CR4.PKE = 0")
        (outcome, v) = try run(cr4: Self.pke, ecx: 1)
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0B0D, "#GP(0) with ECX ≠ 0")
        bed.cpu.extended.pkru = 0x5555_0004
        (outcome, v) = try run(cr4: Self.pke, ecx: 0)
        XCTAssertEqual(outcome, .vmExit(.vmcall))
        XCTAssertEqual(bed.cpu.gpr[GPR.rax.rawValue], 0x5555_0004)
        XCTAssertEqual(bed.cpu.gpr[GPR.rdx.rawValue], 0, "RDPKRU clears EDX")
    }

    /// WRPKRU (SDM Vol. 2D): #UD unless CR4.PKE = 1, #GP(0) if ECX ≠ 0 or EDX ≠ 0 (PKRU kept),
    /// else PKRU ← EAX.
    func testWRPKRUFaultsAndLoads() throws {
        let bed = try pkuBed({ $0.mov(eax, edi) }, [0x0F, 0x01, 0xEF])        // WRPKRU
        func run(cr4: UInt64, ecx: UInt64, edx: UInt64) throws -> UInt64 {
            let (outcome, v) = try runPKUInstruction(bed, cr4: cr4, [(.rdi, 0x0000_000C), (.rcx, ecx), (.rdx, edx)])
            return outcome == .vmExit(.vmcall) ? 0 : v[.exitInterruptionInformation]
        }
        bed.cpu.extended.pkru = 0x5555_0000
        XCTAssertEqual(try run(cr4: 0, ecx: 0, edx: 0), 0x8000_0306, "#UD with CR4.PKE = 0")
        XCTAssertEqual(try run(cr4: Self.pke, ecx: 1, edx: 0), 0x8000_0B0D, "#GP(0) with ECX ≠ 0")
        XCTAssertEqual(try run(cr4: Self.pke, ecx: 0, edx: 1 << 31), 0x8000_0B0D, "#GP(0) with EDX ≠ 0")
        XCTAssertEqual(bed.cpu.extended.pkru, 0x5555_0000, "no fault changed PKRU")
        XCTAssertEqual(try run(cr4: Self.pke, ecx: 1 << 32, edx: 1 << 40), 0, "only ECX and EDX count")
        XCTAssertEqual(bed.cpu.extended.pkru, 0x0000_000C)
    }
}
