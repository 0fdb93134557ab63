import XCTest
import X86Assembler
@testable import CPU
import Hypervisor

/// Entering and leaving VMX operation, and the faults every VMX instruction checks before
/// anything else (SDM Vol. 3C §24.7, §24.8; ch. 31, the Operation section of each instruction).
final class VMXONTests: XCTestCase {
    /// Every VMX instruction other than VMXON, each emitted with its operands ready.
    static func otherInstructions(_ p: L1Program) -> [(String, () -> Void)] {
        let a = p.a, operand = qword[Int64(p.area.operands)]
        return [
            ("VMCLEAR", { a.vmclear(operand) }), ("VMPTRLD", { a.vmptrld(operand) }), ("VMPTRST", { a.vmptrst(operand) }),
            ("VMREAD", { a.mov(ebx, 0x681E); a.vmread(rax, rbx) }), ("VMWRITE", { a.mov(ebx, 0x681E); a.vmwrite(rbx, rax) }),
            ("VMLAUNCH", { a.vmlaunch() }), ("VMRESUME", { a.vmresume() }), ("VMXOFF", { a.vmxoff() }),
            ("INVEPT", { a.mov(eax, 2); a.invept(rax, oword[Int64(p.area.operands)]) }),
            ("INVVPID", { a.mov(eax, 2); a.invvpid(rax, oword[Int64(p.area.operands)]) }),
        ]
    }

    /// SDM Vol. 3D Appendix A: IA32_VMX_BASIC … IA32_VMX_VMFUNC (480H–491H) answer every
    /// RDMSR path of the vCPU — an exiting RDMSR, L0's instruction emulation, VM-entry and exit
    /// MSR lists — with what nested VMX offers, are read-only, and are absent without VMX.
    func testVMXCapabilityMSRsAreThePlatformsOnEveryPathAndReadOnly() throws {
        let m = try NestedMachine(), cpu = m.vm.bootProcessor
        for index in MSRIndex.vmxBasic...MSRIndex.vmxVMFunc {
            XCTAssertEqual(cpu.readMSR(index), m.capabilities.msr(index), "MSR \(String(index, radix: 16))")
            XCTAssertFalse(cpu.writeMSR(index, cpu.readMSR(index) ?? 0), "MSR \(String(index, radix: 16)) is read-only")
        }
        let plain = try VirtualMachine(MachineConfiguration())
        XCTAssertNil(plain.bootProcessor.readMSR(MSRIndex.vmxBasic), "no VMX offered: #GP")
    }

    /// §31 VMXON: #UD if CR4.VMXE = 0 — before IA32_FEATURE_CONTROL or the operand is looked
    /// at; the other VMX instructions: #UD outside VMX operation, whatever CR4.VMXE.
    func testVMXONWithCR4VMXEClearAndEveryOtherInstructionOutsideVMXOperationAreUD() throws {
        let m = try NestedMachine(), p = m.program()
        p.writeFeatureControl(5)
        p.writeRevision(at: p.area.vmxonRegion)
        _ = p.pointer(p.area.vmxonRegion)
        let vmxonWithoutVMXE = p.attempt { p.a.vmxon(qword[Int64(p.area.operands)]) }
        let withoutVMXE = Self.otherInstructions(p).map { ($0.0, p.attempt($0.1)) }
        p.setCR4VMXE()
        _ = p.pointer(p.area.vmxonRegion)
        let withVMXE = Self.otherInstructions(p).map { ($0.0, p.attempt($0.1)) }
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(vmxonWithoutVMXE), .ud)
        for (name, r) in withoutVMXE + withVMXE { XCTAssertEqual(m.outcome(r), .ud, name) }
    }

    /// §31 (each instruction): #GP(0) at CPL > 0 — for VMXON outside VMX operation, for every
    /// instruction in VMX root operation (VMXON included), with a current VMCS (VMREAD and
    /// VMWRITE then do not exit to L0: L0 shadows vmcs12, and the CPL check comes first).
    func testEveryVMXInstructionAtCPL3IsGP0() throws {
        let m = try NestedMachine(), p = m.program()
        p.setCR4VMXE()
        p.writeFeatureControl(5)
        p.writeRevision(at: p.area.vmxonRegion)
        _ = p.pointer(p.area.vmxonRegion)
        let vmxonOutside = p.attemptAtCPL3 { p.a.vmxon(qword[Int64(p.area.operands)]) }
        p.vmxon(p.area.vmxonRegion)
        p.makeCurrent(p.area.vmcs(0))
        _ = p.pointer(p.area.vmcs(0))
        let vmxonInside = p.attemptAtCPL3 { p.a.vmxon(qword[Int64(p.area.operands)]) }
        let others = Self.otherInstructions(p).map { ($0.0, p.attemptAtCPL3($0.1)) }
        let vmptrst = p.slot()
        p.vmptrst(into: vmptrst)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(vmxonOutside), .gp0)
        XCTAssertEqual(m.outcome(vmxonInside), .gp0)
        for (name, r) in others { XCTAssertEqual(m.outcome(r), .gp0, name) }
        XCTAssertEqual(m[vmptrst], p.area.vmcs(0), "the faulting instructions changed nothing")
    }

    /// §24.7, §31 VMXON: #GP(0) unless IA32_FEATURE_CONTROL has the lock bit (0) and "VMX
    /// outside SMX" (2); a locked IA32_FEATURE_CONTROL cannot be written (SDM Vol. 4 Table 2-2).
    func testVMXONNeedsIA32FeatureControlLockedWithVMXOutsideSMX() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        p.setCR4VMXE()
        p.writeRevision(at: p.area.vmxonRegion)
        let initial = p.slot()
        a.mov(ecx, Int64(L1Program.featureControl)); a.rdmsr(); p.record(initial, from: rax)
        _ = p.pointer(p.area.vmxonRegion)
        let unlockedZero = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        p.writeFeatureControl(4)
        let unlockedEnabled = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        p.writeFeatureControl(5)
        let locked = p.slot()
        a.mov(ecx, Int64(L1Program.featureControl)); a.rdmsr(); p.record(locked, from: rax)
        let writeLocked = p.attempt { p.writeFeatureControl(0) }
        let vmxon = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        p.finish()
        try m.run(p)
        XCTAssertEqual(m[initial], 0, "reset value: unlocked, VMX disabled")
        XCTAssertEqual(m.outcome(unlockedZero), .gp0)
        XCTAssertEqual(m.outcome(unlockedEnabled), .gp0, "VMX outside SMX without the lock bit")
        XCTAssertEqual(m[locked], 5)
        XCTAssertEqual(m.outcome(writeLocked), .gp0)
        XCTAssertEqual(m.outcome(vmxon), .succeed)
    }

    /// §24.7: locked with "VMX outside SMX" = 0 — VMXON is #GP(0) until reset.
    func testVMXONWithIA32FeatureControlLockedWithoutVMXIsGP0() throws {
        let m = try NestedMachine(), p = m.program()
        p.setCR4VMXE()
        p.writeRevision(at: p.area.vmxonRegion)
        p.writeFeatureControl(1)
        _ = p.pointer(p.area.vmxonRegion)
        let vmxon = p.attempt { p.a.vmxon(qword[Int64(p.area.operands)]) }
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(vmxon), .gp0)
    }

    /// §24.8, §31 VMXON: CR0 and CR4 must have the bits IA32_VMX_CR0/CR4_FIXED0 fix — L1
    /// clearing CR0.NE (which L0 owns in VMCS01 and shows L1 through the read shadow) makes
    /// VMXON #GP(0).
    func testVMXONWithCR0NEClearIsGP0() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        p.setCR4VMXE()
        p.writeFeatureControl(5)
        p.writeRevision(at: p.area.vmxonRegion)
        a.mov(rax, cr0); a.and(rax, ~0x20); a.mov(cr0, rax)
        _ = p.pointer(p.area.vmxonRegion)
        let withoutNE = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        a.mov(rax, cr0); a.or(rax, 0x20); a.mov(cr0, rax)
        let withNE = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(withoutNE), .gp0)
        XCTAssertEqual(m.outcome(withNE), .succeed)
    }

    /// §31 VMXON: VMfailInvalid when the VMXON pointer is not 4-KByte aligned, sets a bit at
    /// or above MAXPHYADDR, or the region's first word is not the revision identifier with
    /// bit 31 clear.
    func testVMXONRegionChecksAreVMfailInvalid() throws {
        let m = try NestedMachine(), p = m.program()
        let region = p.area.vmxonRegion, a = p.a
        p.setCR4VMXE()
        p.writeFeatureControl(5)
        p.writeRevision(at: region)
        _ = p.pointer(region + 1)
        let unaligned = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        _ = p.pointer(region | 1 << UInt64(m.capabilities.physicalAddressBits))
        let wide = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        p.writeRegionWord(at: region, 0xBA_9DA9)
        _ = p.pointer(region)
        let badRevision = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        p.writeRegionWord(at: region, VMXCapabilities.revisionIdentifier | 1 << 31)
        let shadowIndicator = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        p.writeRevision(at: region)
        let good = p.attempt { a.vmxon(qword[Int64(p.area.operands)]) }
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(unaligned), .failInvalid)
        XCTAssertEqual(m.outcome(wide), .failInvalid)
        XCTAssertEqual(m.outcome(badRevision), .failInvalid)
        XCTAssertEqual(m.outcome(shadowIndicator), .failInvalid)
        XCTAssertEqual(m.outcome(good), .succeed)
    }

    /// §31 VMXON in VMX root operation: VMfail(15) — VMfailInvalid without a current VMCS,
    /// VMfailValid(15) with one.
    func testVMXONInVMXRootIsVMfail15() throws {
        let m = try NestedMachine(), p = m.program()
        p.enableVMX()
        _ = p.pointer(p.area.vmxonRegion)
        let withoutCurrent = p.attempt { p.a.vmxon(qword[Int64(p.area.operands)]) }
        p.makeCurrent(p.area.vmcs(0))
        _ = p.pointer(p.area.vmxonRegion)
        let withCurrent = p.attempt { p.a.vmxon(qword[Int64(p.area.operands)]) }
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(withoutCurrent), .failInvalid)
        XCTAssertEqual(m.outcome(withCurrent), .failValid(.vmxonInVMXRoot))
    }

    /// §24.8: in VMX operation CR4.VMXE cannot be cleared (#GP(0)); §31 VMXOFF leaves VMX
    /// operation — VMX instructions are #UD again and CR4.VMXE may be cleared.
    func testVMXOFFLeavesVMXOperation() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        p.enableVMX()
        let clearVMXE = { a.mov(rax, cr4); a.and(rax, ~(1 << 13)); a.mov(cr4, rax) }
        let clearInside = p.attempt(clearVMXE)
        let vmxoff = p.attempt { a.vmxoff() }
        let vmptrstAfter = p.attempt { a.vmptrst(qword[Int64(p.area.operands)]) }
        let clearAfter = p.attempt(clearVMXE)
        let cr4After = p.slot()
        a.mov(rax, cr4); p.record(cr4After, from: rax)
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(clearInside), .gp0)
        XCTAssertEqual(m.outcome(vmxoff), .succeed)
        XCTAssertEqual(m.outcome(vmptrstAfter), .ud)
        XCTAssertEqual(m.outcome(clearAfter).isFault, false)
        XCTAssertEqual(m[cr4After] & (1 << 13), 0)
    }
}

extension VMXOutcome {
    var isFault: Bool { if case .fault = self { return true } else { return false } }
}
