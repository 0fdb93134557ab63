import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// VMREAD/VMWRITE in VMX non-root operation with "VMCS shadowing" (SDM Vol. 3C ch. 31 "VMREAD",
/// "VMWRITE"; §25.6.15 bitmaps; §25.10 shadow VMCSs; §27.2.1.1 and §27.3.1.5 entry checks).
final class VMCSShadowingTests: XCTestCase {
    let guest = VMXTestGuest()
    var cpu: Processor { guest.cpu }
    static let shadowRegion: UInt64 = 0x7000, readBitmap: UInt64 = 0xC000, writeBitmap: UInt64 = 0xD000
    static let status: UInt64 = RFLAGS.cf | RFLAGS.pf | RFLAGS.af | RFLAGS.zf | RFLAGS.sf | RFLAGS.of
    let shadow = VMCS(revision: VMXCapabilities.revisionIdentifier | 1 << 31)

    /// A VMCS running `code` with VMCS shadowing, the shadow VMCS at `shadowRegion`, and both
    /// bitmaps clear (every field shadowed) unless the test sets bits.
    func vmcs(_ code: (Assembler) -> Void) throws -> VMCS {
        let v = try guest.vmcs(code)
        v[.primaryProcessorBasedControls] |= UInt64(PrimaryProcessorBasedControls.activateSecondaryControls.rawValue)
        v[.secondaryProcessorBasedControls] = UInt64(SecondaryProcessorBasedControls.vmcsShadowing.rawValue)
        v[.vmreadBitmapAddress] = Self.readBitmap
        v[.vmwriteBitmapAddress] = Self.writeBitmap
        cpu.registerVMCS(shadow, at: Self.shadowRegion)
        v[.vmcsLinkPointer] = Self.shadowRegion
        return v
    }

    /// Sets the bitmap bit of `encoding` (bit x & 7 of byte x >> 3, x = encoding[14:0]).
    func setBit(_ bitmap: UInt64, _ encoding: UInt32) throws {
        let a = bitmap | UInt64((encoding & 0x7FFF) >> 3)
        let b = try guest.memory.load(UInt8.self, at: a)
        try guest.memory.store(b | UInt8(1 << (encoding & 7)), at: a)
    }

    func testCapabilityAdvertised() {
        let allowed1 = cpu.vmxCapabilities.msr(0x48B)! >> 32
        XCTAssertNotEqual(allowed1 & UInt64(SecondaryProcessorBasedControls.vmcsShadowing.rawValue), 0)
        XCTAssertNotEqual(cpu.vmxCapabilities.misc & (1 << 29), 0, "VMWRITE to any supported field")
    }

    func testVMREADAndVMWRITEReachTheShadowVMCSWithoutExiting() throws {
        shadow[.guestRIP] = 0x1234_5678_9ABC
        shadow[.guestCSSelector] = 0x77
        let v = try vmcs { a in
            a.mov(ecx, 0x681E)                  // guest RIP
            a.vmread(rax, rcx)
            a.mov(ecx, 0x0802)                  // guest CS selector (16 bits) into memory
            a.mov(qword[0x9000], -1)
            a.vmread(qword[0x9000], rcx)
            a.mov(ecx, 0x4002)                  // primary processor-based controls
            a.mov(rdx, unsigned: 0xFFFF_FFFF_0000_ABCD)
            a.vmwrite(rcx, rdx)
            a.mov(ecx, 0x4402)                  // exit reason: writable (IA32_VMX_MISC[29])
            a.mov(qword[0x9008], 0x30)
            a.vmwrite(rcx, qword[0x9008])
            a.vmcall()
        }
        v[.guestRFLAGS] = 2 | Self.status
        let primary = v[.primaryProcessorBasedControls]
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall), "no VMREAD/VMWRITE exit")
        XCTAssertEqual(cpu.gpr[0], 0x1234_5678_9ABC)
        XCTAssertEqual(try guest.memory.load(UInt64.self, at: 0x9000), 0x77, "16-bit field zero-extended to 64 bits")
        XCTAssertEqual(shadow[.primaryProcessorBasedControls], 0xABCD, "written to the shadow, truncated to 32 bits")
        XCTAssertEqual(shadow[.exitReason], 0x30)
        XCTAssertEqual(v[.primaryProcessorBasedControls], primary, "the ordinary VMCS is untouched")
        XCTAssertEqual(v[.exitReason], 18, "the ordinary VMCS records the VMCALL exit, not the VMWRITE")
        XCTAssertEqual(v[.guestRFLAGS] & Self.status, 0, "VMsucceed clears CF, PF, AF, ZF, SF, OF")
    }

    func testBitmapBitSetExits() throws {
        let v = try vmcs { a in a.mov(ecx, 0x681E); a.vmread(rax, rcx) }
        try setBit(Self.readBitmap, 0x681E)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmread))
        XCTAssertEqual(v[.exitInstructionLength], 3)
        XCTAssertEqual(v[.exitInstructionInformation], (1 << 28) | (1 << 10) | (2 << 7),
                       "register operands: RAX destination (bits 6:3 = 0), RCX field (31:28), 64-bit address size")

        let w = try vmcs { a in a.mov(ecx, 0x4002); a.vmwrite(rcx, rax) }
        try setBit(Self.writeBitmap, 0x4002)
        XCTAssertEqual(cpu.run(vmcs: w, budget: 100), .vmExit(.vmwrite))
        // The VMREAD bitmap does not govern VMWRITE: the same field read does not exit.
        let r = try vmcs { a in a.mov(ecx, 0x4002); a.vmread(rax, rcx); a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: r, budget: 100), .vmExit(.vmcall))
    }

    func testEncodingAbove14BitsExitsAndShadowingOffExits() throws {
        let v = try vmcs { a in a.mov(ecx, 0x8000); a.vmread(rax, rcx) }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmread), "bits 63:15 set → VM exit")
        let off = try vmcs { a in a.mov(ecx, 0x681E); a.vmread(rax, rcx) }
        off[.secondaryProcessorBasedControls] = 0
        off[.vmcsLinkPointer] = ~0
        XCTAssertEqual(cpu.run(vmcs: off, budget: 100), .vmExit(.vmread), "\"VMCS shadowing\" = 0 → VM exit")
    }

    func testLinkPointerAllOnesIsVMfailInvalid() throws {
        let v = try vmcs { a in a.mov(ecx, 0x681E); a.mov(eax, 5); a.vmread(rax, rcx); a.vmwrite(rcx, rax); a.vmcall() }
        v[.vmcsLinkPointer] = ~0
        v[.guestRFLAGS] = 2 | RFLAGS.zf
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(v[.guestRFLAGS] & Self.status, RFLAGS.cf, "VMfailInvalid: CF = 1, the others 0")
        XCTAssertEqual(cpu.gpr[0], 5, "destination unchanged")
    }

    func testUnsupportedFieldIsVMfailValid12() throws {
        let v = try vmcs { a in
            a.mov(ecx, 0x0002)                  // posted-interrupt notification vector: unsupported
            a.mov(eax, 5)
            a.vmread(rax, rcx)
            a.vmcall()
            a.mov(ecx, 0x0801)                  // high half of a 16-bit field
            a.vmwrite(rcx, rax)
            a.vmcall()
        }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(v[.guestRFLAGS] & Self.status, RFLAGS.zf, "VMfailValid: ZF = 1")
        XCTAssertEqual(v[.vmInstructionError], 12, "VMREAD/VMWRITE from/to unsupported VMCS component")
        XCTAssertEqual(cpu.gpr[0], 5)
        v[.vmInstructionError] = 0
        v[.guestRIP] = v[.guestRIP] &+ v[.exitInstructionLength]
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(v[.guestRFLAGS] & Self.status, RFLAGS.zf)
        XCTAssertEqual(v[.vmInstructionError], 12)
        XCTAssertEqual(shadow[.vmInstructionError], 0, "the error goes to the current (ordinary) VMCS")
    }

    func testReadOnlyFieldWithoutMISC29WouldBeError13() {
        // This processor reports IA32_VMX_MISC[29], so exit-information fields are writable
        // (see testVMREADAndVMWRITEReachTheShadowVMCSWithoutExiting); the rule VMWRITE applies
        // to the shadow VMCS is VMCS.write's.
        XCTAssertEqual(shadow.write(encoding: 0x4402, value: 1, anyFieldWritable: false), .readOnlyComponent)
        XCTAssertEqual(VMInstructionError.readOnlyComponent.rawValue, 13)
    }

    func testUnregisteredLinkPointerExits() throws {
        let v = try vmcs { a in a.mov(ecx, 0x681E); a.vmread(rax, rcx) }
        try guest.memory.store(VMXCapabilities.revisionIdentifier | 1 << 31, at: 0xE000)
        v[.vmcsLinkPointer] = 0xE000
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmread), "no VMCS object for the region: L0 handles it")
    }

    func testEntryChecksOnShadowing() throws {
        let ordinary = VMCS()
        let v = try vmcs { a in a.vmcall() }
        cpu.registerVMCS(ordinary, at: 0xF000)
        v[.vmcsLinkPointer] = 0xF000
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.entryFailureGuestState),
                       "with VMCS shadowing the link pointer must name a shadow VMCS (§27.3.1.5)")
        XCTAssertEqual(v[.exitQualification], 4)
        let w = try vmcs { a in a.vmcall() }
        w[.vmwriteBitmapAddress] = Self.writeBitmap | 0x10
        XCTAssertEqual(cpu.run(vmcs: w, budget: 100), .entryFailed(.invalidControlFields), "bitmap address alignment (§27.2.1.1)")
        let shadowless = try vmcs { a in a.vmcall() }
        shadowless[.secondaryProcessorBasedControls] = 0
        XCTAssertEqual(cpu.run(vmcs: shadowless, budget: 100), .vmExit(.entryFailureGuestState),
                       "without VMCS shadowing the link pointer must name an ordinary VMCS")
    }
}
