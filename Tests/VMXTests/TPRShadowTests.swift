import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// "Use TPR shadow": CR8 accesses go to VTPR on the virtual-APIC page, and a TPR below the
/// threshold causes a trap-like "TPR below threshold" exit (SDM Vol. 3C §30.1.1, §30.1.2, §30.3;
/// entry checks §27.2.1.1).
final class TPRShadowTests: XCTestCase {
    let guest = VMXTestGuest()
    var cpu: Processor { guest.cpu }
    static let virtualAPIC: UInt64 = 0xB000

    func vmcs(threshold: UInt64 = 0, vtpr: UInt32 = 0, _ code: (Assembler) -> Void) throws -> VMCS {
        let v = try guest.vmcs(code)
        v[.primaryProcessorBasedControls] |= UInt64(PrimaryProcessorBasedControls.useTPRShadow.rawValue)
        v[.virtualAPICAddress] = Self.virtualAPIC
        v[.tprThreshold] = threshold
        try guest.memory.store(vtpr, at: Self.virtualAPIC + 0x80)
        return v
    }
    var vtpr: UInt32 { (try? guest.memory.load(UInt32.self, at: Self.virtualAPIC + 0x80)) ?? 0xDEAD }

    func testMOVToCR8WritesVTPRNotTheTPR() throws {
        let v = try vmcs(vtpr: 0xFFFF_FFFF) { a in a.mov(eax, 5); a.mov(cr8, rax); a.vmcall() }
        cpu.cr8 = 2
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(vtpr, 0x50, "VTPR[7:4] = 5, bits 3:0 and bytes 81H–83H cleared")
        XCTAssertEqual(cpu.cr8, 2, "the processor's TPR is untouched")
    }

    func testMOVFromCR8ReadsVTPR() throws {
        let v = try vmcs(vtpr: 0x9A) { a in a.mov(rax, unsigned: ~0); a.mov(rax, cr8); a.vmcall() }
        cpu.cr8 = 3
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(cpu.gpr[0], 9, "VTPR[7:4], upper bits 0")
    }

    func testTPRBelowThresholdIsATrapLikeExit() throws {
        let v = try vmcs(threshold: 4, vtpr: 0x40) { a in
            a.mov(eax, 4); a.mov(cr8, rax)       // not below: no exit
            a.mov(eax, 3); a.mov(cr8, rax)       // below 4: exit after the instruction
            a.nop()
            a.vmcall()
        }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.tprBelowThreshold))
        XCTAssertEqual(v[.exitReason], 43)
        XCTAssertEqual(v[.exitQualification], 0)
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code + 5 + 4 + 5 + 4, "RIP after the MOV to CR8")
        XCTAssertEqual(vtpr, 0x30)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields),
                       "re-entry with VTPR still below the threshold fails the §27.2.1.1 check")
        v[.tprThreshold] = 3                     // L0 lowers the threshold (as KVM does), then resumes
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall), "resumes at the next instruction")
    }

    func testCR8ExitingHasPriorityOverTheShadow() throws {
        let v = try vmcs(vtpr: 0x70) { a in a.mov(eax, 1); a.mov(cr8, rax) }
        v[.primaryProcessorBasedControls] |= UInt64(PrimaryProcessorBasedControls.cr8LoadExiting.rawValue)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.crAccess))
        XCTAssertEqual(vtpr, 0x70)
    }

    func testReservedCR8BitsFault() throws {
        let v = try vmcs { a in a.mov(eax, 0x10); a.mov(cr8, rax) }
        v[.exceptionBitmap] = 1 << 13
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation] & 0xFF, 13, "#GP(0)")
    }

    func testEntryChecks() throws {
        var v = try vmcs(threshold: 5, vtpr: 0x40) { a in a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields), "threshold 5 > VTPR[7:4] 4")
        v = try vmcs(threshold: 0x14, vtpr: 0xF0) { a in a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields), "threshold bits 31:4 set")
        v = try vmcs { a in a.vmcall() }
        v[.virtualAPICAddress] = Self.virtualAPIC | 0x80
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields), "virtual-APIC address unaligned")
        v = try vmcs(threshold: 4, vtpr: 0x40) { a in a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall), "threshold = VTPR[7:4] is allowed")
        XCTAssertNotEqual(cpu.vmxCapabilities.msr(0x482)! >> 32 & UInt64(PrimaryProcessorBasedControls.useTPRShadow.rawValue), 0)
    }
}
