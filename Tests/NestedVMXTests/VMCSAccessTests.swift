import XCTest
import X86Assembler
@testable import CPU

/// VMREAD and VMWRITE of the current VMCS (SDM Vol. 3C ch. 31 "VMREAD", "VMWRITE"; §25.11.2
/// "VMREAD, VMWRITE, and Encodings of VMCS Fields"; Appendix A.6 for IA32_VMX_MISC[29]).
final class VMCSAccessTests: XCTestCase {
    /// §31: VMfailInvalid without a current VMCS — after VMXON, and after VMCLEAR of the
    /// current VMCS.
    func testVMREADAndVMWRITEWithoutACurrentVMCSAreVMfailInvalid() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        p.enableVMX()
        let readAfterVMXON = p.attempt { a.mov(ebx, 0x681E); a.vmread(rax, rbx) }
        let writeAfterVMXON = p.attempt { a.mov(ebx, 0x681E); a.vmwrite(rbx, rax) }
        p.makeCurrent(p.area.vmcs(0))
        p.vmclear(p.area.vmcs(0))
        let readAfterVMCLEAR = p.attempt { a.mov(ebx, 0x681E); a.vmread(rax, rbx) }
        let writeAfterVMCLEAR = p.attempt { a.mov(ebx, 0x681E); a.vmwrite(rbx, rax) }
        p.finish()
        try m.run(p)
        for r in [readAfterVMXON, writeAfterVMXON, readAfterVMCLEAR, writeAfterVMCLEAR] {
            XCTAssertEqual(m.outcome(r), .failInvalid)
        }
    }

    /// §31: VMfailValid(12) for an encoding that names no supported field — bits 63:32 set
    /// (they are part of the encoding in 64-bit mode), a field this processor does not
    /// implement (PML address, 200EH), the high half (access type 1) of a 32-bit field; the
    /// destination is not written.
    func testUnsupportedComponentIsVMfail12() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        XCTAssertEqual(VMCSFieldTable.entry(.pmlAddress)?.supported, false)
        p.enableVMX()
        p.makeCurrent(p.area.vmcs(0))
        let destination = p.slot()
        p.record(destination, 0x77)
        var cases: [(String, OutcomeRecord)] = []
        for (name, encoding) in [("bits 63:32", UInt64.max), ("PML address", 0x200E), ("high half of exit reason", 0x4403)] {
            cases.append(("VMREAD \(name)", p.attempt { a.mov(rbx, unsigned: encoding); a.vmread(destination.memory, rbx) }))
            cases.append(("VMWRITE \(name)", p.attempt { a.mov(rbx, unsigned: encoding); a.vmwrite(rbx, rax) }))
        }
        let lowBitsOfAHugeEncoding = p.attempt { a.mov(rbx, unsigned: 0xFFFF_FFFF); a.vmwrite(rbx, rax) }
        p.finish()
        try m.run(p)
        for (name, r) in cases { XCTAssertEqual(m.outcome(r), .failValid(.unsupportedComponent), name) }
        XCTAssertEqual(m.outcome(lowBitsOfAHugeEncoding), .failValid(.unsupportedComponent))
        XCTAssertEqual(m[destination], 0x77, "a failing VMREAD writes nothing")
    }

    /// §31 VMWRITE: VMfailValid(13) for a VM-exit information field (type 1) unless
    /// IA32_VMX_MISC[29] says VMWRITE may write any supported field — then the write sticks.
    func testExitInformationFieldsAreWritableOnlyWithIA32VMXMISC29() throws {
        for misc29 in [true, false] {
            var withheld = VMXFeatureMask()
            withheld.vmwriteAnyField = !misc29
            let m = try NestedMachine(withheld: withheld), p = m.program()
            let a = p.a
            let misc = p.slot()
            a.mov(ecx, Int64(MSRIndex.vmxMisc)); a.rdmsr(); p.record(misc, from: rax)
            p.enableVMX()
            p.makeCurrent(p.area.vmcs(0))
            var writes: [(VMCSField, OutcomeRecord, Slot)] = []
            for f in [VMCSField.exitReason, .exitQualification, .guestPhysicalAddress, .vmInstructionError] {
                let r = p.attempt { p.vmwrite(f, 0x1234) }
                let readBack = p.slot()
                p.vmread(f, into: readBack)
                writes.append((f, r, readBack))
            }
            p.finish()
            try m.run(p)
            XCTAssertEqual(m[misc] >> 29 & 1, misc29 ? 1 : 0, "IA32_VMX_MISC[29]")
            for (f, r, readBack) in writes where f != .vmInstructionError {
                XCTAssertEqual(m.outcome(r), misc29 ? .succeed : .failValid(.readOnlyComponent), "\(f), MISC[29] = \(misc29)")
                XCTAssertEqual(m[readBack], misc29 ? 0x1234 : 0, "\(f), MISC[29] = \(misc29)")
            }
            // The VM-instruction error field itself: the failure sets it to 13 after refusing the write.
            let (_, r, readBack) = writes.last!
            XCTAssertEqual(m.outcome(r), misc29 ? .succeed : .failValid(.readOnlyComponent))
            XCTAssertEqual(m[readBack], misc29 ? 0x1234 : 13)
        }
    }

    /// §25.11.2: access type 1 (encoding bit 0) reads and writes bits 63:32 of a 64-bit field;
    /// VMWRITE of the high half leaves bits 31:0.
    func testHighAccessToA64BitField() throws {
        let m = try NestedMachine(), p = m.program()
        p.enableVMX()
        p.makeCurrent(p.area.vmcs(0))
        p.set(.tscOffset, 0x0123_4567_89AB_CDEF)
        let high = p.slot(), full = p.slot()
        p.vmwrite(encoding: 0x2011, 0)
        p.vmwrite(encoding: 0x2011, 0x7654_3210)
        p.a.mov(rbx, 0x2011); p.a.vmread(rax, rbx); p.record(high, from: rax)
        p.vmread(.tscOffset, into: full)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m[high], 0x7654_3210)
        XCTAssertEqual(m[full], 0x7654_3210_89AB_CDEF)
    }
}
