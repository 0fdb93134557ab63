import XCTest
import X86Assembler
@testable import CPU

/// L1's VMLAUNCH and VMRESUME: the instruction's own checks, the checks on the VMX controls
/// and host-state area (VMfailValid 7 and 8), and the VM-entry failures that are VM exits to
/// L1 (SDM Vol. 3C ch. 31 "VMLAUNCH/VMRESUME"; ch. 27 "VM Entries": §27.2, §27.3, §27.4, §27.8).
final class VMEntryTests: XCTestCase {
    /// An L2 that reports 0x1234 in RBX and is done.
    static func doneGuest(_ p: L1Program) -> L2Guest {
        L2Guest(code: p.l2Code {
            p.a.mov(ebx, 0x1234)
            p.l2Done()
        })
    }

    /// §27.1, ch. 31: VMLAUNCH needs a clear VMCS (else VMfail 4), VMRESUME a launched one
    /// (else VMfail 5); a successful VMLAUNCH makes it launched and VMCLEAR clear again. L1
    /// resumes at the host RIP after L2's VMCALL, with L2's RBX in its register.
    func testLaunchStateDecidesBetweenVMLAUNCHAndVMRESUME() throws {
        let m = try NestedMachine(), p = m.program()
        let vmcs = p.area.vmcs(0)
        p.enableVMX()
        let withoutCurrent = p.enter(launch: true)
        p.makeCurrent(vmcs)
        p.setUpVMCS(Self.doneGuest(p))
        let resumeClear = p.enter(launch: false)
        let launch = p.enter(launch: true)
        let l2RBX = p.slot(), reason = p.slot()
        p.record(l2RBX, from: rbx)
        p.vmread(.exitReason, into: reason)
        let launchLaunched = p.enter(launch: true)
        p.vmclear(vmcs)
        p.vmptrld(vmcs)
        let resumeCleared = p.enter(launch: false)
        let relaunch = p.enter(launch: true)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.entry(withoutCurrent), .failInvalid)
        XCTAssertEqual(m.entry(resumeClear), .failValid(.vmresumeNonLaunchedVMCS))
        XCTAssertNil(m.entry(launch), "VMLAUNCH of a clear VMCS enters L2")
        XCTAssertEqual(m[reason], UInt64(ExitReason.vmcall.rawValue))
        XCTAssertEqual(m[l2RBX], 0x1234)
        XCTAssertEqual(m.entry(launchLaunched), .failValid(.vmlaunchNonClearVMCS))
        XCTAssertEqual(m.entry(resumeCleared), .failValid(.vmresumeNonLaunchedVMCS))
        XCTAssertNil(m.entry(relaunch))
    }

    /// ch. 31 VMLAUNCH: VMfailValid(26) when events are blocked by MOV SS (the instruction
    /// right after MOV SS) — before the launch state is looked at.
    func testVMLAUNCHAfterMOVSSIsVMfail26() throws {
        let m = try NestedMachine(), p = m.program()
        p.enableVMX()
        p.makeCurrent(p.area.vmcs(0))
        p.setUpVMCS(Self.doneGuest(p))
        let afterMOVSS = p.enter(launch: true) { p.a.mov(ax, Int64(L1Boot.data)); p.a.mov(SegmentRegister.ss, ax) }
        let launch = p.enter(launch: true)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.entry(afterMOVSS), .failValid(.entryWithEventsBlockedByMOVSS))
        XCTAssertNil(m.entry(launch), "the failed VMLAUNCH left the VMCS clear")
    }

    /// §27.2.1: VMfailValid(7) for a control the offered capabilities do not allow; §27.2.2–
    /// §27.2.4: VMfailValid(8) for bad host state — host CS selector 0, "host address-space
    /// size" 0 while L1 runs in IA-32e mode, a non-canonical host RIP. Nothing of L2 runs.
    func testInvalidControlsAreVMfail7AndInvalidHostStateVMfail8() throws {
        let m = try NestedMachine(), p = m.program()
        p.enableVMX()
        let guest = Self.doneGuest(p)
        let hostSize = UInt32(p.adjusted(VMExitControls.loadEFER.rawValue, MSRIndex.vmxTrueExitControls))
        let cases: [(String, [(VMCSField, UInt64)], VMInstructionError)] = [
            ("CR3-target count 5", [(.cr3TargetCount, 5)], .invalidControlFields),
            ("reserved pin-based control 31", [(.pinBasedControls, 0x8000_0016)], .invalidControlFields),
            ("I/O bitmap A not aligned", [(.primaryProcessorBasedControls, p.adjusted(PrimaryProcessorBasedControls.useIOBitmaps.rawValue, MSRIndex.vmxTrueProcbasedControls)),
                                          (.ioBitmapA, p.area.ioBitmapA + 8)], .invalidControlFields),
            ("host CS selector 0", [(.hostCSSelector, 0)], .invalidHostState),
            ("host address-space size 0", [(.exitControls, UInt64(hostSize)), (.entryControls, p.adjusted(VMEntryControls.loadEFER.rawValue, MSRIndex.vmxTrueEntryControls))], .invalidHostState),
            ("host RIP not canonical", [(.hostRIP, 0x0000_8000_0000_0000)], .invalidHostState),
        ]
        var records: [(String, EntryRecord, VMInstructionError)] = []
        for (k, (name, overrides, error)) in cases.enumerated() {
            p.makeCurrent(p.area.vmcs(k % 4))
            var g = guest
            g.overrides = overrides
            p.setUpVMCS(g)
            records.append((name, p.enter(launch: true), error))
        }
        p.finish()
        try m.run(p)
        for (name, r, error) in records { XCTAssertEqual(m.entry(r), .failValid(error), name) }
        XCTAssertTrue(m.vmxLog.contains { $0.contains("'cr3-target-count'") }, "the log names the rule: \(m.vmxLog)")
    }

    /// §27.3, §27.8: a guest-state check failing is a VM exit to L1 at the host RIP with exit
    /// reason 33 and bit 31 set, the qualification of §27.8 (0, or 4 for the VMCS link
    /// pointer); the launch state stays clear and the guest-state area is not touched.
    func testInvalidGuestStateIsAnEntryFailureExitWithReason33() throws {
        let m = try NestedMachine(), p = m.program()
        p.enableVMX()
        var records: [(EntryRecord, reason: Slot, qualification: Slot, rip: Slot, rflags: Slot, resume: EntryRecord)] = []
        let guest = Self.doneGuest(p)
        for (k, broken) in [(VMCSField.guestRFLAGS, UInt64(0)), (.vmcsLinkPointer, 0x1001)].enumerated() {
            p.makeCurrent(p.area.vmcs(k))
            var g = guest
            g.overrides = [broken]
            p.setUpVMCS(g)
            let r = p.enter(launch: true)
            let reason = p.slot(), qualification = p.slot(), rip = p.slot(), rflags = p.slot()
            p.a.pushf(); p.a.pop(rax); p.record(rflags, from: rax)
            p.vmread(.exitReason, into: reason)
            p.vmread(.exitQualification, into: qualification)
            p.vmread(.guestRIP, into: rip)
            records.append((r, reason, qualification, rip, rflags, p.enter(launch: false)))
        }
        p.finish()
        try m.run(p)
        for ((r, reason, qualification, rip, rflags, resume), expected) in zip(records, [UInt64(0), 4]) {
            XCTAssertNil(m.entry(r), "a VM-entry failure is a VM exit to the host RIP")
            XCTAssertEqual(m[reason], 0x8000_0000 | UInt64(ExitReason.entryFailureGuestState.rawValue))
            XCTAssertEqual(m[qualification], expected)
            XCTAssertEqual(m[rip], guest.code.address!, "guest state unchanged")
            XCTAssertEqual(m[rflags] & 0x3F_FFFF, 2, "host RFLAGS: 2 (§28.5.3)")
            XCTAssertEqual(m.entry(resume), .failValid(.vmresumeNonLaunchedVMCS), "launch state still clear")
        }
    }

    /// §27.4, §27.8: a VM-entry MSR-load entry that fails (IA32_FS_BASE may not be loaded this
    /// way; reserved bits 63:32 of the first quadword) is exit reason 34 with bit 31 and the
    /// entry's number (from 1) as qualification.
    func testMSRLoadFailureIsExit34WithTheEntryNumber() throws {
        let m = try NestedMachine(), p = m.program()
        let list = p.area.entryMSRLoadList, a = p.a
        p.enableVMX()
        let guest = Self.doneGuest(p)
        // Entry 1: IA32_KERNEL_GS_BASE (fine); entry 2: IA32_FS_BASE.
        a.mov(rax, Int64(0xC000_0102)); a.mov(qword[Int64(list)], rax); a.mov(qword[Int64(list + 8)], 0x1000)
        a.mov(rax, Int64(0xC000_0100)); a.mov(qword[Int64(list + 16)], rax); a.mov(qword[Int64(list + 24)], 0)
        var results: [(EntryRecord, Slot, Slot)] = []
        for (k, overrides) in [[(VMCSField.entryMSRLoadAddress, list), (.entryMSRLoadCount, 2)],
                               [(VMCSField.entryMSRLoadAddress, list + 32), (.entryMSRLoadCount, 1)]].enumerated() {
            if k == 1 {   // entry 1 with reserved bits 63:32 set
                a.mov(rax, unsigned: 0x1_C000_0102); a.mov(qword[Int64(list + 32)], rax); a.mov(qword[Int64(list + 40)], 0)
            }
            p.makeCurrent(p.area.vmcs(k))
            var g = guest
            g.overrides = overrides
            p.setUpVMCS(g)
            let r = p.enter(launch: true)
            let reason = p.slot(), qualification = p.slot()
            p.vmread(.exitReason, into: reason)
            p.vmread(.exitQualification, into: qualification)
            results.append((r, reason, qualification))
        }
        p.finish()
        try m.run(p)
        for ((r, reason, qualification), number) in zip(results, [UInt64(2), 1]) {
            XCTAssertNil(m.entry(r))
            XCTAssertEqual(m[reason], 0x8000_0000 | UInt64(ExitReason.entryFailureMSRLoading.rawValue))
            XCTAssertEqual(m[qualification], number)
        }
    }

    /// §27.4, §28.4, §28.6: the VM-entry MSR-load list loads in L2's context, the VM-exit
    /// MSR-store list saves L2's values, the VM-exit MSR-load list loads L1's.
    func testMSRListsLoadAndStoreAcrossEntryAndExit() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, area = p.area
        let kernelGSBase: Int64 = 0xC000_0102
        p.enableVMX()
        p.makeCurrent(area.vmcs(0))
        for (list, value) in [(area.entryMSRLoadList, Int64(0x2222_0000)), (area.exitMSRStoreList, Int64(0)),
                              (area.exitMSRLoadList, Int64(0x3333_0000))] {
            a.mov(rax, kernelGSBase); a.mov(qword[Int64(list)], rax); a.mov(rax, value); a.mov(qword[Int64(list + 8)], rax)
        }
        var g = Self.doneGuest(p)
        g.overrides = [(.entryMSRLoadAddress, area.entryMSRLoadList), (.entryMSRLoadCount, 1),
                       (.exitMSRStoreAddress, area.exitMSRStoreList), (.exitMSRStoreCount, 1),
                       (.exitMSRLoadAddress, area.exitMSRLoadList), (.exitMSRLoadCount, 1)]
        p.setUpVMCS(g)
        let r = p.enter(launch: true)
        let afterExit = p.slot()
        a.mov(ecx, kernelGSBase); a.rdmsr(); a.shl(rdx, 32); a.or(rax, rdx); p.record(afterExit, from: rax)
        p.finish()
        try m.run(p)
        XCTAssertNil(m.entry(r))
        XCTAssertEqual(m.qword(at: area.exitMSRStoreList + 8), 0x2222_0000, "L2's value, stored at the exit")
        XCTAssertEqual(m[afterExit], 0x3333_0000, "loaded for L1 at the exit")
    }

    /// §28.7 "VMX Aborts": a VM-exit MSR-load entry that fails (IA32_FS_BASE) when L2 exits is
    /// a VMX abort — indicator 4 in bytes 4–7 of the vmcs12 region, L1's processor in the
    /// shutdown state (the run ends, as with a triple fault and -no-reboot).
    func testAFailingVMExitMSRLoadIsAVMXAbort() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, list = p.area.exitMSRLoadList, vmcs = p.area.vmcs(0)
        p.enableVMX()
        a.mov(rax, Int64(0xC000_0100)); a.mov(qword[Int64(list)], rax); a.mov(qword[Int64(list + 8)], 0)
        p.makeCurrent(vmcs)
        var g = Self.doneGuest(p)
        g.overrides = [(.exitMSRLoadAddress, list), (.exitMSRLoadCount, 1)]
        p.setUpVMCS(g)
        let entered = p.enter(launch: true)
        p.finish()
        XCTAssertEqual(try m.runToEnd(p), .shutdown(cpu: 0), "\(m.vmxLog)")
        XCTAssertEqual(m[entered.exited], 0, "L1 never got past the VM exit")
        XCTAssertEqual(m.qword(at: vmcs + 4) & 0xFFFF_FFFF, UInt64(VMXAbortIndicator.loadingHostMSRsFailed.rawValue))
    }
}
