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

    /// §25.10 "VMCS Types: Ordinary and Shadow", ch. 31 VMREAD/VMWRITE in VMX non-root
    /// operation: L1 offers its guest VMCS shadowing — "VMCS shadowing" in vmcs12, the link
    /// pointer at a shadow VMCS (revision with bit 31 set), VMREAD/VMWRITE bitmaps. L2's
    /// accesses the bitmaps let through read and write the shadow VMCS without an exit
    /// (VMsucceed); one whose bit is set exits to L1 (reason 23); L1 sees L2's VMWRITE once it
    /// makes the shadow VMCS current.
    func testL2sVMREADAndVMWRITEUseTheShadowVMCSL1Provides() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, area = p.area
        let shadow = area.vmcs(1), readBitmap = area.shared, writeBitmap = area.shared + 0x1000
        let code = p.l2Code {
            a.mov(ebx, Int64(VMCSField.exceptionBitmap.encoding)); a.vmread(r13, rbx)
            a.pushf(); a.pop(r14)
            a.mov(eax, 0x5678); a.mov(ebx, Int64(VMCSField.guestRSP.encoding)); a.vmwrite(rbx, rax)
            a.mov(ebx, Int64(VMCSField.exitReason.encoding)); a.vmread(rcx, rbx)          // bit set: exits
            a.mov(rbx, r13); a.mov(rdx, r14)
            p.l2Done()
        }
        p.enableVMX()
        p.zeroPage(readBitmap); p.zeroPage(writeBitmap)
        p.setBit(readBitmap, UInt64(VMCSField.exitReason.encoding & 0x7FFF))
        p.writeRegionWord(at: shadow, VMXCapabilities.revisionIdentifier | 1 << 31)
        p.vmclear(shadow)
        p.vmptrld(shadow)
        p.set(.exceptionBitmap, 0x1234)
        var g = L2Guest(code: code)
        g.secondary = [.vmcsShadowing]
        g.overrides = [(.vmcsLinkPointer, shadow), (.vmreadBitmapAddress, readBitmap), (.vmwriteBitmapAddress, writeBitmap)]
        let log = p.runL2(g)
        let written = p.slot()
        p.vmptrld(shadow)
        p.vmread(.guestRSP, into: written)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmread, .vmcall], "\(exits)")
        guard exits.count == 2 else { return }
        XCTAssertEqual(exits[1][.rbx], 0x1234, "L2 read the shadow VMCS")
        XCTAssertEqual(exits[1][.rdx] & UInt64(vmxStatusFlags), 0, "VMsucceed")
        XCTAssertEqual(m[written], 0x5678, "L2's VMWRITE went to the shadow VMCS")
    }

    /// §27.3.1.5 checks the region the VMCS link pointer names at every VM entry, L0's entries
    /// of VMCS02 too. L2 (without EPT12, so it reaches all of L1's memory) overwrites the
    /// region word of its shadow VMCS, then makes an exit L0 handles itself (port I/O vmcs12
    /// does not intercept): L0's next entry of VMCS02 must not depend on that word — VMCS02
    /// names L0's own link page. (Found by the hostile-L1 fuzz: VMCS02 named the region in
    /// L1's memory and L0's re-entry failed.)
    func testL2RewritingItsShadowVMCSRegionDoesNotBreakL0sEntries() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, area = p.area
        let shadow = area.vmcs(1), readBitmap = area.shared, writeBitmap = area.shared + 0x1000
        let code = p.l2Code {
            a.mov(rcx, Int64(shadow)); a.mov(dword[rcx], 0)
            a.mov(al, 0); a.out(port: 0x80, al)
            p.l2Done()
        }
        p.enableVMX()
        p.zeroPage(readBitmap); p.zeroPage(writeBitmap)
        p.writeRegionWord(at: shadow, VMXCapabilities.revisionIdentifier | 1 << 31)
        p.vmclear(shadow)
        var g = L2Guest(code: code)
        g.secondary = [.vmcsShadowing]
        g.overrides = [(.vmcsLinkPointer, shadow), (.vmreadBitmapAddress, readBitmap), (.vmwriteBitmapAddress, writeBitmap)]
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.exits(log).reasons, [.vmcall])
    }

    /// Ch. 31 VMREAD in VMX non-root operation: with "VMCS shadowing" the VMREAD bitmap decides
    /// before the link pointer is looked at — a set bit exits to L1 even when the link pointer
    /// is FFFFFFFF_FFFFFFFFH, a clear bit is then VMfailInvalid in L2, without an exit. (The
    /// hostile-L1 fuzz found it too: VMCS02 had kept bitmap addresses 0 there, so L1's page 0
    /// decided.)
    func testL2sVMREADBitmapDecidesWithoutALinkPointer() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, area = p.area
        let readBitmap = area.shared, writeBitmap = area.shared + 0x1000
        let code = p.l2Code {
            a.mov(ebx, Int64(VMCSField.exceptionBitmap.encoding)); a.vmread(r13, rbx)      // bit clear
            a.pushf(); a.pop(r14)
            a.mov(ebx, Int64(VMCSField.guestRIP.encoding)); a.vmread(rcx, rbx)             // bit set: exits
            a.mov(rdx, r14)
            p.l2Done()
        }
        p.enableVMX()
        // L1's page 0 all ones: bitmaps read from there would make both VMREADs exit.
        a.xor(edi, edi); a.mov(rax, -1); a.mov(ecx, 512); a.cld(); a.rep(); a.stos(8)
        p.zeroPage(readBitmap); p.zeroPage(writeBitmap)
        p.setBit(readBitmap, UInt64(VMCSField.guestRIP.encoding & 0x7FFF))
        var g = L2Guest(code: code)
        g.secondary = [.vmcsShadowing]
        g.overrides = [(.vmcsLinkPointer, ~0), (.vmreadBitmapAddress, readBitmap), (.vmwriteBitmapAddress, writeBitmap)]
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmread, .vmcall], "\(exits)")
        guard exits.count == 2 else { return }
        XCTAssertEqual(exits[1][.rdx] & UInt64(vmxStatusFlags), 1, "VMfailInvalid: no shadow VMCS behind the link pointer")
    }
}
