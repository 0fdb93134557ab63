import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// "Virtualize APIC accesses" with the APIC-access page: APIC-access VM exits (reason 44) with
/// the exit qualification of SDM Vol. 3C §28.2.1 Table 28-6, VTPR virtualization with "use TPR
/// shadow" (§30.4.2, §30.4.3, APIC-write emulation and TPR virtualization §30.1.2), and the
/// §27.2.1.1 entry checks.
final class APICAccessTests: XCTestCase {
    let guest = VMXTestGuest()
    var cpu: Processor { guest.cpu }
    static let apicAccess: UInt64 = 0xC000
    static let virtualAPIC: UInt64 = 0xB000

    /// A guest with "virtualize APIC accesses" (and optionally "use TPR shadow") on.
    func vmcs(tprShadow: Bool = false, threshold: UInt64 = 0, vtpr: UInt32 = 0,
              _ code: (Assembler) -> Void) throws -> VMCS {
        let v = try guest.vmcs(code)
        v.enable(SecondaryProcessorBasedControls.virtualizeAPICAccesses)
        v[.apicAccessAddress] = Self.apicAccess
        if tprShadow {
            v.enable(Primary.useTPRShadow)
            v[.virtualAPICAddress] = Self.virtualAPIC
            v[.tprThreshold] = threshold
        }
        try guest.memory.store(vtpr, at: Self.virtualAPIC + 0x80)
        // The APIC-access page's own bytes, which no virtualized access may reach.
        for k in stride(from: UInt64(0), to: 0x1000, by: 8) {
            try guest.memory.store(UInt64(0xA5A5_A5A5_A5A5_A5A5), at: Self.apicAccess + k)
        }
        return v
    }

    func length(_ code: (Assembler) -> Void) -> UInt64 {
        let a = Assembler(mode: .bits64, origin: VMXTestGuest.code)
        code(a)
        return UInt64(a.assemble().count)
    }

    var vtpr: UInt32 { (try? guest.memory.load(UInt32.self, at: Self.virtualAPIC + 0x80)) ?? 0xDEAD }

    // MARK: APIC-access VM exits

    func testReadExitsWithOffsetAndTypeLinearRead() throws {
        let v = try vmcs { a in a.mov(ecx, 7); a.mov(eax, dword[Int64(Self.apicAccess + 0x300)]); a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitReason], 44)
        XCTAssertEqual(v[.exitQualification], 0x300, "offset 300H, access type 0 (linear read)")
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code + length { a in a.mov(ecx, 7) }, "fault-like: RIP of the MOV")
        XCTAssertEqual(v[.idtVectoringInformation] >> 31, 0, "not during event delivery")
        XCTAssertEqual(v[.exitInstructionLength], length { a in a.mov(eax, dword[Int64(Self.apicAccess + 0x300)]) })
    }

    func testWriteExitsWithOffsetAndTypeLinearWrite() throws {
        let v = try vmcs { a in a.mov(eax, 0x1234); a.mov(dword[Int64(Self.apicAccess + 0xB0)], eax); a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0x10B0, "offset 0B0H (EOI), access type 1 (linear write)")
        XCTAssertEqual(try guest.memory.load(UInt32.self, at: Self.apicAccess + 0xB0), 0xA5A5_A5A5, "nothing written")
    }

    func testReadModifyWriteReportsAWrite() throws {
        let v = try vmcs { a in a.add(dword[Int64(Self.apicAccess + 0x310)], 1); a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0x1310, "bit 12 is the W/R bit a page fault would report")
    }

    func testREPStringStoreExitsBeforeItsFirstIteration() throws {
        let setup: (Assembler) -> Void = { a in a.mov(edi, Int64(Self.apicAccess + 0x300)); a.mov(ecx, 4); a.mov(eax, 0) }
        let v = try vmcs { a in setup(a); a.rep(); a.stos(4); a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0x1300)
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code + length(setup), "RIP of the REP STOSD")
        XCTAssertEqual(cpu.gpr[1], 4, "RCX: no iteration completed")
        XCTAssertEqual(cpu.gpr[7], Self.apicAccess + 0x300, "RDI unchanged")
        XCTAssertEqual(try guest.memory.load(UInt32.self, at: Self.apicAccess + 0x300), 0xA5A5_A5A5)
    }

    func testInstructionFetchExitsWithTypeFetch() throws {
        let v = try vmcs { a in a.mov(eax, Int64(Self.apicAccess + 0x10)); a.jmp(rax) }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0x2010, "offset 010H, access type 2 (instruction fetch)")
        XCTAssertEqual(v[.guestRIP], Self.apicAccess + 0x10)
    }

    func testFetchExitsEvenWithTPRShadowAtOffset80H() throws {
        let v = try vmcs(tprShadow: true) { a in a.mov(eax, Int64(Self.apicAccess + 0x80)); a.jmp(rax) }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0x2080)
    }

    func testAccessDuringEventDeliveryReportsType3AndIDTVectoring() throws {
        // The stack is at the top of the APIC-access page: delivering #UD pushes onto it.
        let v = try vmcs { a in a.ud2() }
        try guest.installDescriptorTables(v, vectors: [6])
        v[.guestRSP] = Self.apicAccess + 0x1000
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0x3FF8, "offset FF8H (the first push), type 3 (event delivery)")
        XCTAssertEqual(v[.idtVectoringInformation], 0x8000_0306, "#UD, hardware exception, valid")
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code)
    }

    func testPagesAroundTheAPICAccessPageAreOrdinaryRAM() throws {
        let v = try vmcs { a in
            a.mov(eax, dword[Int64(Self.apicAccess + 0x1000)]); a.mov(dword[Int64(Self.apicAccess - 4)], eax); a.vmcall()
        }
        try guest.memory.store(UInt32(0x600D), at: Self.apicAccess + 0x1000)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(try guest.memory.load(UInt32.self, at: Self.apicAccess - 4), 0x600D)
    }

    func testTranslationsCachedAsRAMAreNotUsedOnceThePageIsTheAPICAccessPage() throws {
        // With a VPID the guest's translations survive VM exits and entries; the page read as
        // RAM under the first entry must still exit once it is the APIC-access page.
        let v = try vmcs { a in a.mov(eax, dword[Int64(Self.apicAccess + 0x20)]); a.vmcall() }
        v.enable(SecondaryProcessorBasedControls.enableVPID)
        v[.virtualProcessorIdentifier] = 1
        v[.secondaryProcessorBasedControls] &= ~UInt64(SecondaryProcessorBasedControls.virtualizeAPICAccesses.rawValue)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(UInt32(truncatingIfNeeded: cpu.gpr[0]), 0xA5A5_A5A5, "read as RAM without the control")
        v[.guestRIP] = VMXTestGuest.code
        v[.secondaryProcessorBasedControls] |= UInt64(SecondaryProcessorBasedControls.virtualizeAPICAccesses.rawValue)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0x20)
    }

    func testGuestPagingStructureOnTheAPICAccessPageIsAGuestPhysicalAccess() throws {
        // EPT identity-maps 0–16 MiB; the guest's page directory (0x3000) is the APIC-access
        // page, so the walk for the first instruction fetch reads it through EPT (§30.4.6.2).
        let v = try vmcs { a in a.vmcall() }
        let pml4: UInt64 = 0x20000, pdpt: UInt64 = 0x21000, pd: UInt64 = 0x22000
        try guest.memory.store(pdpt | 7, at: pml4)
        try guest.memory.store(pd | 7, at: pdpt)
        for k in 0..<8 { try guest.memory.store(UInt64(k) << 21 | 0x87 | (6 << 3), at: pd + UInt64(k) * 8) }
        v.enable(SecondaryProcessorBasedControls.enableEPT)
        v[.eptPointer] = EPTPointer.make(root: pml4).raw
        v[.apicAccessAddress] = 0x3000
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0xF000, "access type 15: guest-physical, during instruction execution")
        XCTAssertEqual(v[.guestPhysicalAddress], 0x3000 + 8 * (VMXTestGuest.code >> 21), "the PDE read")
        v[.apicAccessAddress] = Self.apicAccess
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall), "the same guest runs with another APIC-access page")
    }

    func testGuestPhysicalAccessDuringEventDeliveryReportsType10() throws {
        // Linear 1–2 GiB goes through a second page directory at 0x4000, the APIC-access page;
        // the stack is there, so delivering #UD walks it through EPT while pushing.
        let v = try vmcs { a in a.ud2() }
        try guest.installDescriptorTables(v, vectors: [6])
        let pml4: UInt64 = 0x20000, pdpt: UInt64 = 0x21000, pd: UInt64 = 0x22000
        try guest.memory.store(pdpt | 7, at: pml4)
        try guest.memory.store(pd | 7, at: pdpt)
        for k in 0..<8 { try guest.memory.store(UInt64(k) << 21 | 0x87 | (6 << 3), at: pd + UInt64(k) * 8) }
        v.enable(SecondaryProcessorBasedControls.enableEPT)
        v[.eptPointer] = EPTPointer.make(root: pml4).raw
        try guest.memory.store(UInt64(0x4007), at: 0x2008)            // PDPTE 1 → PD at 0x4000
        try guest.memory.store(UInt64(0x87), at: 0x4000)              // 1 GiB → physical 0 (2 MiB)
        v[.apicAccessAddress] = 0x4000
        v[.guestRSP] = 0x4000_0000 + 0x9_0000
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess))
        XCTAssertEqual(v[.exitQualification], 0xA000, "access type 10: guest-physical, during event delivery")
        XCTAssertEqual(v[.guestPhysicalAddress], 0x4000, "the PDE for the stack")
        XCTAssertEqual(v[.idtVectoringInformation], 0x8000_0306, "#UD was being delivered")
    }

    // MARK: VTPR virtualization with "use TPR shadow" (§30.4.2, §30.4.3)

    func testVTPRReadAndWriteAreVirtualizedWithoutExit() throws {
        let v = try vmcs(tprShadow: true, vtpr: 0x20) { a in
            a.mov(ecx, dword[Int64(Self.apicAccess + 0x80)])          // reads VTPR: 20H
            a.mov(dword[Int64(Self.apicAccess + 0x80)], 0x5F)          // writes VTPR
            a.mov(edx, dword[Int64(Self.apicAccess + 0x80)])          // reads it back
            a.mov(bl, byte[Int64(Self.apicAccess + 0x81)])            // a byte within 080H–083H
            a.vmcall()
        }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(cpu.gpr[1], 0x20, "ECX: VTPR from the virtual-APIC page")
        XCTAssertEqual(cpu.gpr[2], 0x5F, "EDX: the value written, on the virtual-APIC page")
        XCTAssertEqual(cpu.gpr[3] & 0xFF, 0, "BL: byte 081H of the virtual-APIC page")
        XCTAssertEqual(vtpr, 0x5F)
        XCTAssertEqual(try guest.memory.load(UInt32.self, at: Self.apicAccess + 0x80), 0xA5A5_A5A5,
                       "the APIC-access page itself is untouched")
    }

    func testVTPRWriteClearsBytes81To83() throws {
        let v = try vmcs(tprShadow: true) { a in
            a.mov(eax, unsigned: 0xFFFF_FF60); a.mov(dword[Int64(Self.apicAccess + 0x80)], eax)
            a.mov(word[Int64(Self.apicAccess + 0x82)], ax)             // bytes 082H–083H only
            a.vmcall()
        }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(vtpr, 0x60, "APIC-write emulation clears 081H–083H after each write (§30.4.3.2)")
    }

    func testVTPRWriteBelowThresholdIsATrapLikeExit() throws {
        let store: (Assembler) -> Void = { a in a.mov(dword[Int64(Self.apicAccess + 0x80)], 0x30) }
        let v = try vmcs(tprShadow: true, threshold: 4, vtpr: 0x40) { a in
            a.mov(dword[Int64(Self.apicAccess + 0x80)], 0x45)         // 4 is not below 4
            store(a)                                                  // 3 < 4: trap-like exit
            a.nop()
            a.vmcall()
        }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.tprBelowThreshold))
        XCTAssertEqual(v[.exitReason], 43)
        XCTAssertEqual(v[.exitQualification], 0)
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code + 2 * length(store), "RIP after the store")
        XCTAssertEqual(vtpr, 0x30)
        v[.tprThreshold] = 3
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall), "resumes at the NOP")
    }

    func testOtherTPRShadowAccessesStillExit() throws {
        // Offsets other than 080H–083H, accesses over 32 bits, accesses crossing into bytes 4–15.
        let cases: [((Assembler) -> Void, UInt64)] = [
            ({ a in a.mov(eax, dword[Int64(Self.apicAccess + 0x300)]) }, 0x300),
            ({ a in a.mov(rax, qword[Int64(Self.apicAccess + 0x80)]) }, 0x080),
            ({ a in a.mov(eax, dword[Int64(Self.apicAccess + 0x82)]) }, 0x082),
            ({ a in a.mov(qword[Int64(Self.apicAccess + 0x80)], rax) }, 0x1080),
            ({ a in a.mov(dword[Int64(Self.apicAccess + 0xB0)], eax) }, 0x10B0),
        ]
        for (k, (code, qualification)) in cases.enumerated() {
            let v = try vmcs(tprShadow: true, vtpr: 0x70) { a in code(a); a.vmcall() }
            XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.apicAccess), "case \(k)")
            XCTAssertEqual(v[.exitQualification], qualification, "case \(k)")
            XCTAssertEqual(vtpr, 0x70, "case \(k): VTPR unchanged")
        }
    }

    // MARK: Entry checks (§27.2.1.1) and the capability

    func testEntryChecksOnTheAPICAccessAddress() throws {
        var v = try vmcs { a in a.vmcall() }
        v[.apicAccessAddress] = Self.apicAccess | 0x80
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields), "not 4-KByte aligned")
        XCTAssertEqual(v[.vmInstructionError], 7)
        v = try vmcs { a in a.vmcall() }
        v[.apicAccessAddress] = UInt64(1) << UInt64(cpu.model.physicalAddressBits)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields), "beyond MAXPHYADDR")
        v = try vmcs { a in a.vmcall() }
        v.enable(SecondaryProcessorBasedControls.virtualizeX2APICMode)
        v.enable(Primary.useTPRShadow)
        v[.virtualAPICAddress] = Self.virtualAPIC
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields),
                       "virtualize x2APIC mode with virtualize APIC accesses")
        XCTAssertFalse(VMEntryChecks.apicAccessControlsValid(v, cpu.vmxCapabilities))
        v = try vmcs { a in a.vmcall() }
        v[.apicAccessAddress] = 0xFFFF_F000
        v[.secondaryProcessorBasedControls] &= ~UInt64(SecondaryProcessorBasedControls.virtualizeAPICAccesses.rawValue)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall), "the address is not checked with the control off")
        v = try vmcs { a in a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
    }

    func testTheControlIsAdvertised() {
        let allowed1 = cpu.vmxCapabilities.msr(0x48B)! >> 32
        XCTAssertEqual(allowed1 & UInt64(SecondaryProcessorBasedControls.virtualizeAPICAccesses.rawValue), 1)
        XCTAssertEqual(allowed1 & UInt64(SecondaryProcessorBasedControls.apicRegisterVirtualization.rawValue
                                         | SecondaryProcessorBasedControls.virtualInterruptDelivery.rawValue
                                         | SecondaryProcessorBasedControls.virtualizeX2APICMode.rawValue), 0)
    }
}
