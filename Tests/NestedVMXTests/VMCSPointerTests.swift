import XCTest
import X86Assembler
@testable import CPU
@testable import NestedVMX

/// VMCLEAR, VMPTRLD, VMPTRST and the VMCS region (SDM Vol. 3C ch. 31 "VMCLEAR", "VMPTRLD",
/// "VMPTRST"; §25.1 "VMCS States"; §25.2 "Format of the VMCS Region"; §25.11.1 "Software Use
/// of Virtual-Machine Control Structures").
final class VMCSPointerTests: XCTestCase {
    static let maxPhysicalAddressBit: UInt64 = 1 << UInt64(VMXCapabilities.defaultPhysicalAddressBits)

    /// §31 VMCLEAR: VMfail(2) for an operand not 4-KByte aligned or beyond MAXPHYADDR,
    /// VMfail(3) for the VMXON pointer — VMfailInvalid while there is no current VMCS; no
    /// check of the region's revision identifier.
    func testVMCLEARErrors() throws {
        let m = try NestedMachine(), p = m.program()
        let area = p.area
        p.enableVMX()
        let unalignedWithoutCurrent = p.attempt { p.vmclear(area.vmcs(0) + 8) }
        p.makeCurrent(area.vmcs(0))
        let unaligned = p.attempt { p.vmclear(area.vmcs(1) + 8) }
        let wide = p.attempt { p.vmclear(area.vmcs(1) | Self.maxPhysicalAddressBit) }
        let vmxonPointer = p.attempt { p.vmclear(area.vmxonRegion) }
        p.writeRegionWord(at: area.vmcs(1), 0)
        let revisionZero = p.attempt { p.vmclear(area.vmcs(1)) }
        let current = p.slot()
        p.vmptrst(into: current)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(unalignedWithoutCurrent), .failInvalid)
        XCTAssertEqual(m.outcome(unaligned), .failValid(.vmclearInvalidAddress))
        XCTAssertEqual(m.outcome(wide), .failValid(.vmclearInvalidAddress))
        XCTAssertEqual(m.outcome(vmxonPointer), .failValid(.vmclearVMXONPointer))
        XCTAssertEqual(m.outcome(revisionZero), .succeed, "VMCLEAR does not check the revision identifier")
        XCTAssertEqual(m[current], area.vmcs(0), "a failing VMCLEAR leaves the current VMCS")
    }

    /// §31 VMPTRLD: VMfail(9) not aligned / beyond MAXPHYADDR, VMfail(10) the VMXON pointer,
    /// VMfail(11) a revision identifier other than IA32_VMX_BASIC[30:0]; the current VMCS
    /// stays what it was.
    func testVMPTRLDErrors() throws {
        let m = try NestedMachine(), p = m.program()
        let area = p.area
        p.enableVMX()
        let unalignedWithoutCurrent = p.attempt { p.vmptrld(area.vmcs(0) + 8) }
        p.makeCurrent(area.vmcs(0))
        let unaligned = p.attempt { p.vmptrld(area.vmcs(1) + 8) }
        let wide = p.attempt { p.vmptrld(area.vmcs(1) | Self.maxPhysicalAddressBit) }
        let vmxonPointer = p.attempt { p.vmptrld(area.vmxonRegion) }
        p.writeRegionWord(at: area.vmcs(1), 0xBA_9DA9)
        let badRevision = p.attempt { p.vmptrld(area.vmcs(1)) }
        let current = p.slot()
        p.vmptrst(into: current)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(unalignedWithoutCurrent), .failInvalid)
        XCTAssertEqual(m.outcome(unaligned), .failValid(.vmptrldInvalidAddress))
        XCTAssertEqual(m.outcome(wide), .failValid(.vmptrldInvalidAddress))
        XCTAssertEqual(m.outcome(vmxonPointer), .failValid(.vmptrldVMXONPointer))
        XCTAssertEqual(m.outcome(badRevision), .failValid(.vmptrldIncorrectRevision))
        XCTAssertEqual(m[current], area.vmcs(0))
    }

    /// §31 VMPTRLD: a region whose shadow-VMCS indicator (bit 31) is 1 may be made current only
    /// when "VMCS shadowing" is allowed-1 (IA32_VMX_PROCBASED_CTLS2[46]); otherwise VMfail(11).
    /// §25.10, ch. 31 VMLAUNCH: a current shadow VMCS cannot be entered (VMfailInvalid).
    func testVMPTRLDOfAShadowVMCSNeedsVMCSShadowing() throws {
        for shadowing in [true, false] {
            var withheld = VMXFeatureMask()
            if !shadowing { withheld.secondary = [.vmcsShadowing] }
            let m = try NestedMachine(withheld: withheld), p = m.program()
            let area = p.area
            p.enableVMX()
            p.makeCurrent(area.vmcs(0))
            p.writeRegionWord(at: area.vmcs(1), VMXCapabilities.revisionIdentifier | 1 << 31)
            let shadow = p.attempt { p.vmptrld(area.vmcs(1)) }
            let launch = p.enter(launch: true)
            p.finish()
            try m.run(p)
            XCTAssertEqual(m.outcome(shadow), shadowing ? .succeed : .failValid(.vmptrldIncorrectRevision),
                           "VMCS shadowing offered: \(shadowing)")
            if shadowing { XCTAssertEqual(m.entry(launch), .failInvalid, "VMLAUNCH of a shadow VMCS") }
        }
    }

    /// §31 VMPTRST: the current-VMCS pointer, FFFFFFFF_FFFFFFFFH when there is none — after
    /// VMXON and after VMCLEAR of the current VMCS (§25.11.3).
    func testVMPTRSTStoresTheCurrentVMCSPointer() throws {
        let m = try NestedMachine(), p = m.program()
        let area = p.area
        p.enableVMX()
        let afterVMXON = p.slot(), afterVMPTRLD = p.slot(), afterVMCLEAR = p.slot()
        let status = p.attempt { p.vmptrst(into: afterVMXON) }
        p.makeCurrent(area.vmcs(2))
        p.vmptrst(into: afterVMPTRLD)
        p.vmclear(area.vmcs(2))
        p.vmptrst(into: afterVMCLEAR)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(status), .succeed)
        XCTAssertEqual(m[afterVMXON], ~0)
        XCTAssertEqual(m[afterVMPTRLD], area.vmcs(2))
        XCTAssertEqual(m[afterVMCLEAR], ~0)
    }

    /// Fields of each width written to one VMCS, and the value each gets.
    static let sample: [(VMCSField, UInt64)] = [
        (.guestESSelector, 0x1234), (.tscOffset, 0x0123_4567_89AB_CDEF), (.exceptionBitmap, 0x8_4042),
        (.guestRIP, 0xFFFF_8000_1234_5678), (.guestIA32PAT, 0x0007_0406_0007_0406), (.cr0ReadShadow, 0xDEAD_BEEF_0068_0042),
    ]

    /// §25.11.1: a VMCS's data lives in its region once VMCLEAR has made it inactive, so a copy
    /// of the region made current with VMPTRLD has every field — and the region has the
    /// documented format (Sources/NestedVMX/State/VMCS12.swift: launch state at offset 8, field
    /// k of the field table at 16 + 8k). The two VMCSs are independent afterwards.
    func testAVMCSSurvivesVMCLEARAndACopyOfItsRegion() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, original = p.area.vmcs(0), copy = p.area.vmcs(1)
        p.enableVMX()
        p.makeCurrent(original)
        for (f, v) in Self.sample { p.set(f, v) }
        p.vmclear(original)
        a.mov(rsi, Int64(original)); a.mov(rdi, Int64(copy)); a.mov(ecx, 512); a.cld(); a.rep(); a.movs(8)
        p.vmptrld(copy)
        let fromCopy = Self.sample.map { f, _ in (f, p.slot()) }
        for (f, s) in fromCopy { p.vmread(f, into: s) }
        p.set(.guestRIP, 0x5555)                                   // the copy only
        p.vmptrld(original)
        let originalRIP = p.slot()
        p.vmread(.guestRIP, into: originalRIP)
        p.finish()
        try m.run(p)
        for ((f, v), (_, s)) in zip(Self.sample, fromCopy) { XCTAssertEqual(m[s], v, "\(f) read from the copy") }
        XCTAssertEqual(m[originalRIP], 0xFFFF_8000_1234_5678)
        // The region's format, as L1 left it after VMCLEAR (the copy is the same bytes).
        let entries = VMCSFieldTable.entries
        XCTAssertEqual(m.qword(at: original + VMCS12.launchStateOffset) & 0xFFFF_FFFF, 0, "launch state clear")
        for (f, v) in Self.sample {
            let k = try XCTUnwrap(entries.firstIndex { $0.field == f })
            XCTAssertEqual(m.qword(at: copy + VMCS12.fieldsOffset + 8 * UInt64(k)), v, "\(f) at offset 16 + 8 × \(k)")
        }
        XCTAssertLessThanOrEqual(VMCS12.imageSize, m.capabilities.basic >> 32 & 0x1FFF, "within IA32_VMX_BASIC's region size")
    }

    /// §25.11.1: switching the current VMCS with VMPTRLD keeps each one's fields, and a VMPTRLD
    /// of the VMCS that is already current discards nothing.
    func testVMPTRLDSwitchesBetweenVMCSsThatKeepTheirFields() throws {
        let m = try NestedMachine(), p = m.program()
        let first = p.area.vmcs(0), second = p.area.vmcs(1)
        p.enableVMX()
        p.makeCurrent(first)
        p.set(.guestRSP, 0x1111)
        p.makeCurrent(second)
        p.set(.guestRSP, 0x2222)
        p.vmptrld(first)
        let firstRSP = p.slot()
        p.vmread(.guestRSP, into: firstRSP)
        p.set(.guestRSP, 0x3333)
        p.vmptrld(first)
        let again = p.slot()
        p.vmread(.guestRSP, into: again)
        p.vmptrld(second)
        let secondRSP = p.slot()
        p.vmread(.guestRSP, into: secondRSP)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m[firstRSP], 0x1111)
        XCTAssertEqual(m[again], 0x3333, "VMPTRLD of the current VMCS keeps its VMWRITEs")
        XCTAssertEqual(m[secondRSP], 0x2222)
    }
}
