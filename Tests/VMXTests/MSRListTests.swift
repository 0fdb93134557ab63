import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// VM-entry MSR-load, VM-exit MSR-store and VM-exit MSR-load lists (SDM Vol. 3C §27.2.1.2,
/// §27.2.1.3, §27.4, §27.8, §28.4, §28.6, §28.7).
final class MSRListTests: XCTestCase {
    let g = VMXTestGuest()
    var cpu: Processor { g.cpu }
    static let entryList: UInt64 = 0x7000, storeList: UInt64 = 0x7800, exitLoadList: UInt64 = 0xE000
    static let lstar: UInt32 = 0xC000_0082, star: UInt32 = 0xC000_0081, sysenterCS: UInt32 = 0x174

    func writeList(_ entries: [MSRListEntry], at base: UInt64) throws {
        for (k, e) in entries.enumerated() {
            let a = base + UInt64(k) * 16
            try g.memory.store(UInt64(e.index) | UInt64(e.reserved) << 32, at: a)
            try g.memory.store(e.value, at: a + 8)
        }
    }

    /// A guest whose RDMSR/WRMSR do not exit (MSR bitmaps all clear) and that ends at CPUID.
    func vmcs(_ build: (Assembler) -> Void) throws -> VMCS {
        let v = try g.vmcs { a in build(a); a.cpuid() }
        try g.memory.write([UInt8](repeating: 0, count: 4096), at: 0xA000)
        v.enable(Primary.useMSRBitmaps)
        v[.msrBitmaps] = 0xA000
        return v
    }

    func testEntryMSRLoadListTakesEffectInTheGuest() throws {
        let v = try vmcs { a in a.mov(ecx, Int64(Self.lstar)); a.rdmsr() }
        try writeList([MSRListEntry(index: Self.star, value: 0x0023_0010_0000_0000),
                       MSRListEntry(index: Self.lstar, value: 0xFFFF_8000_1234_5678)], at: Self.entryList)
        v[.entryMSRLoadAddress] = Self.entryList; v[.entryMSRLoadCount] = 2
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.cpuid))
        XCTAssertEqual(cpu.gpr[0], 0x1234_5678, "RDMSR in the guest reads the loaded LSTAR (EAX)")
        XCTAssertEqual(cpu.gpr[2], 0xFFFF_8000, "EDX")
        XCTAssertEqual(cpu.msr.star, 0x0023_0010_0000_0000)
    }

    func testExitMSRStoreListRecordsGuestValuesThenExitLoadListLoadsHostValues() throws {
        let v = try vmcs { a in
            a.mov(ecx, Int64(Self.lstar)); a.mov(eax, 0x0BAD_F00D); a.mov(edx, 0xFFFF_FFFF); a.wrmsr()
            a.mov(ecx, Int64(Self.sysenterCS)); a.mov(eax, 0x58); a.xor(edx, edx); a.wrmsr()
        }
        try writeList([MSRListEntry(index: Self.lstar, value: 0), MSRListEntry(index: Self.sysenterCS, value: 0)],
                      at: Self.storeList)
        try writeList([MSRListEntry(index: Self.lstar, value: 0xFFFF_FFFF_8100_0000)], at: Self.exitLoadList)
        v[.exitMSRStoreAddress] = Self.storeList; v[.exitMSRStoreCount] = 2
        v[.exitMSRLoadAddress] = Self.exitLoadList; v[.exitMSRLoadCount] = 1
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.cpuid))
        XCTAssertEqual(try g.memory.load(UInt64.self, at: Self.storeList + 8), 0xFFFF_FFFF_0BAD_F00D, "guest LSTAR stored")
        XCTAssertEqual(try g.memory.load(UInt64.self, at: Self.storeList + 24), 0x58, "guest SYSENTER_CS stored")
        XCTAssertEqual(try g.memory.load(UInt32.self, at: Self.storeList), Self.lstar, "index left as it was")
        XCTAssertEqual(cpu.msr.lstar, 0xFFFF_FFFF_8100_0000, "host LSTAR loaded after the store")
        XCTAssertEqual(v[.exitReason], 10)
    }

    func testBadEntryFailsVMEntryWithReason34AndItsNumber() throws {
        let cases: [(MSRListEntry, String)] = [
            (MSRListEntry(index: MSRIndex.fsBase, value: 0), "IA32_FS_BASE"),
            (MSRListEntry(index: MSRIndex.gsBase, value: 0), "IA32_GS_BASE"),
            (MSRListEntry(index: 0x808, value: 0), "x2APIC TPR"),
            (MSRListEntry(index: 0x9B, value: 0), "IA32_SMM_MONITOR_CTL"),
            (MSRListEntry(index: Self.star, reserved: 1, value: 0), "bits 63:32 set"),
            (MSRListEntry(index: 0x1234_5678, value: 0), "no such MSR (#GP)"),
            (MSRListEntry(index: Self.lstar, value: 0x8000_0000_0000_0000), "non-canonical LSTAR (#GP)"),
        ]
        for (bad, name) in cases {
            let v = try vmcs { a in a.nop() }
            try writeList([MSRListEntry(index: Self.star, value: 0x77), MSRListEntry(index: Self.sysenterCS, value: 0x10), bad],
                          at: Self.entryList)
            v[.entryMSRLoadAddress] = Self.entryList; v[.entryMSRLoadCount] = 3
            v[.entryInterruptionInformation] = 0x8000_0030; v[.guestRFLAGS] = 0x202
            XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.entryFailureMSRLoading), name)
            XCTAssertEqual(v[.exitReason], 34 | (1 << 31), name)
            XCTAssertEqual(v[.exitQualification], 3, "1-based number of the failing entry: \(name)")
            XCTAssertEqual(v[.guestRIP], VMXTestGuest.code, "guest-state area not modified")
            XCTAssertEqual(v[.entryInterruptionInformation], 0x8000_0030, "injection stays valid")
            XCTAssertEqual(cpu.msr.star, 0x77, "entries before the failing one were loaded")
            XCTAssertFalse(cpu.nonRoot)
        }
    }

    func testListsLongerThanTheAdvertisedMaximumFailPastIt() throws {
        XCTAssertEqual(Processor.maximumMSRListEntries, 512, "IA32_VMX_MISC[27:25] = 0")
        let v = try vmcs { a in a.nop() }
        try writeList([MSRListEntry](repeating: MSRListEntry(index: Self.star, value: 5), count: 513), at: 0x20000)
        v[.entryMSRLoadAddress] = 0x20000; v[.entryMSRLoadCount] = 513
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.entryFailureMSRLoading))
        XCTAssertEqual(v[.exitQualification], 513)
    }

    func testListAddressChecksAreControlFieldErrors() throws {
        var v = try vmcs { a in a.nop() }
        v[.entryMSRLoadAddress] = Self.entryList + 8; v[.entryMSRLoadCount] = 1
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10), .entryFailed(.invalidControlFields), "not 16-byte aligned")
        XCTAssertEqual(v[.vmInstructionError], 7)
        v = try vmcs { a in a.nop() }
        v[.exitMSRStoreAddress] = 1 << 40; v[.exitMSRStoreCount] = 1
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10), .entryFailed(.invalidControlFields), "beyond MAXPHYADDR")
        v = try vmcs { a in a.nop() }
        v[.exitMSRLoadAddress] = (1 << 40) - 16; v[.exitMSRLoadCount] = 2
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10), .entryFailed(.invalidControlFields), "last byte beyond MAXPHYADDR")
        v = try vmcs { a in a.nop() }
        v[.entryMSRLoadAddress] = 0x7003; v[.entryMSRLoadCount] = 0
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.cpuid), "address unchecked with count 0")
    }

    func testExitListFailuresAreVMXAborts() throws {
        var v = try vmcs { a in a.nop() }
        try writeList([MSRListEntry(index: Self.lstar, value: 0xFFFF_FFFF_8000_0000), MSRListEntry(index: MSRIndex.fsBase, value: 0)],
                      at: Self.exitLoadList)
        v[.exitMSRLoadAddress] = Self.exitLoadList; v[.exitMSRLoadCount] = 2
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmxAbort(.loadingHostMSRsFailed))
        XCTAssertEqual(v.abortIndicator, 4)
        XCTAssertEqual(cpu.activity, .shutdown)
        XCTAssertEqual(v[.exitReason], 10, "the exit itself was recorded before the abort")

        v = try vmcs { a in a.nop() }
        try writeList([MSRListEntry(index: Self.star, value: 0), MSRListEntry(index: 0x9E, value: 0)], at: Self.storeList)
        v[.exitMSRStoreAddress] = Self.storeList; v[.exitMSRStoreCount] = 2
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmxAbort(.savingGuestMSRsFailed), "IA32_SMBASE is readable only in SMM")
        XCTAssertEqual(v.abortIndicator, 1)

        // A VM-entry failure also processes the VM-exit MSR-load list (§27.8 step 4).
        v = try vmcs { a in a.nop() }
        try writeList([MSRListEntry(index: 0x1234, value: 0)], at: Self.entryList)
        try writeList([MSRListEntry(index: Self.lstar, value: 0xFFFF_FFFF_8200_0000)], at: Self.exitLoadList)
        v[.entryMSRLoadAddress] = Self.entryList; v[.entryMSRLoadCount] = 1
        v[.exitMSRLoadAddress] = Self.exitLoadList; v[.exitMSRLoadCount] = 1
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.entryFailureMSRLoading))
        XCTAssertEqual(cpu.msr.lstar, 0xFFFF_FFFF_8200_0000)
        XCTAssertEqual(v.abortIndicator, 0)
    }
}
