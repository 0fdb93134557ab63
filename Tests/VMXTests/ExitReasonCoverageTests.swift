import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// One test guest per reachable exit reason not covered elsewhere (SDM Vol. 3C §26.1, §28.2).
final class ExitReasonCoverageTests: XCTestCase {
    let g = VMXTestGuest()
    typealias P = PrimaryProcessorBasedControls
    typealias S = SecondaryProcessorBasedControls

    func run(primary: P = [], secondary: S = [], _ build: (Assembler) -> Void,
             configure: (VMCS) -> Void = { _ in }) throws -> (VMRunOutcome, VMCS) {
        let v = try g.vmcs(build)
        var p = primary
        if !secondary.isEmpty { p.insert(.activateSecondaryControls) }
        v[.primaryProcessorBasedControls] |= UInt64(p.rawValue)
        v[.secondaryProcessorBasedControls] = UInt64(secondary.rawValue)
        configure(v)
        return (g.cpu.run(vmcs: v, budget: 200), v)
    }

    func testInstructionExits() throws {
        var (o, v) = try run(primary: .invlpgExiting) { $0.invlpg(mem[rbx + 0x40]) }
        XCTAssertEqual(o, .vmExit(.invlpg)); XCTAssertEqual(v[.exitQualification], 0x40)
        (o, _) = try run(primary: .rdtscExiting) { $0.rdtsc() }
        XCTAssertEqual(o, .vmExit(.rdtsc))
        (o, _) = try run(primary: .movDRExiting) { $0.mov(rax, dr7) }
        XCTAssertEqual(o, .vmExit(.drAccess))
        (o, _) = try run(primary: .pauseExiting) { $0.pause() }
        XCTAssertEqual(o, .vmExit(.pause))
        (o, _) = try run(secondary: .wbinvdExiting) { $0.wbinvd() }
        XCTAssertEqual(o, .vmExit(.wbinvd))
        (o, _) = try run { $0.invd() }
        XCTAssertEqual(o, .vmExit(.invd))
        (o, _) = try run { $0.db(0x0F, 0x37) }                      // GETSEC
        XCTAssertEqual(o, .vmExit(.getsec))
        (o, v) = try run { $0.vmptrld(qword[rax + 8]) }
        XCTAssertEqual(o, .vmExit(.vmptrld)); XCTAssertEqual(v[.exitQualification], 8)
        XCTAssertEqual(v[.exitInstructionInformation] & (1 << 10), 0, "memory operand")
    }

    /// Exit 55: XSETBV exits unconditionally in VMX non-root operation (SDM Vol. 3C §26.1.2),
    /// on a processor with XSAVE (`-cpu max`) once CR4.OSXSAVE is set; without it the #UD of
    /// §26.1.1 comes first. XCR0 is not written.
    func testXSETBVExitsUnconditionally() throws {
        let x = VMXTestGuest()
        var model = CPUModel.default
        model.features.insert(.xsave)
        x.cpu = Processor(memory: x.memory, bus: x.bus, model: model)
        let xsetbv: (Assembler) -> Void = { a in a.mov(eax, 3); a.xor(edx, edx); a.xor(ecx, ecx); a.db(0x0F, 0x01, 0xD1) }
        let v = try x.vmcs(xsetbv)
        v[.guestCR4] |= CR4.osxsave
        XCTAssertEqual(x.cpu.run(vmcs: v, budget: 200), .vmExit(.xsetbv))
        XCTAssertEqual(v[.exitInstructionLength], 3)
        XCTAssertEqual(x.cpu.xcr0, 1, "the exit replaces the write")
        let noOSXSAVE = try x.vmcs(xsetbv)
        noOSXSAVE[.exceptionBitmap] = 1 << 6
        XCTAssertEqual(x.cpu.run(vmcs: noOSXSAVE, budget: 200), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(noOSXSAVE[.exitInterruptionInformation] & 0xFF, 6, "#UD first")
    }

    func testControlRegisterExits() throws {
        // CR3 load: exits unless the value is in the CR3-target list.
        var (o, v) = try run(primary: .cr3LoadExiting, { $0.mov(cr3, rax) }, configure: { v in
            v[.cr3TargetCount] = 1; v[.cr3Target0] = 0x5000 })
        XCTAssertEqual(o, .vmExit(.crAccess)); XCTAssertEqual(v[.exitQualification] & 0xF, 3)
        (o, _) = try run(primary: .cr3LoadExiting, { $0.mov(eax, 0x1000); $0.mov(cr3, rax); $0.hlt() }, configure: { v in
            v[.cr3TargetCount] = 1; v[.cr3Target0] = 0x1000; v[.primaryProcessorBasedControls] |= UInt64(P.hltExiting.rawValue) })
        XCTAssertEqual(o, .vmExit(.hlt), "a CR3-target value does not exit")
        (o, v) = try run(primary: .cr3StoreExiting) { $0.mov(rbx, cr3) }
        XCTAssertEqual(o, .vmExit(.crAccess)); XCTAssertEqual(v[.exitQualification], 3 | (1 << 4) | (3 << 8))
        (o, _) = try run(primary: .cr8LoadExiting) { $0.mov(cr8, rax) }
        XCTAssertEqual(o, .vmExit(.crAccess))
        // Reads of masked CR4 bits return the read shadow.
        (o, v) = try run(primary: .hltExiting, { $0.mov(rax, cr4); $0.hlt() }, configure: { v in
            v[.cr4GuestHostMask] = 0x2000; v[.cr4ReadShadow] = 0 })
        XCTAssertEqual(o, .vmExit(.hlt)); XCTAssertEqual(g.cpu.gpr[0] & 0x2000, 0, "VMXE hidden by the shadow")
    }

    func testIOAndMSRBitmaps() throws {
        // I/O bitmap A at 0x8000 with only port 0x71 set: OUT 0x70 passes, OUT 0x71 exits.
        var (o, v) = try run(primary: [.useIOBitmaps, .hltExiting], { a in
            a.out(port: 0x70, al); a.out(port: 0x71, al)
        }, configure: { v in
            try? self.g.memory.write([UInt8](repeating: 0, count: 0x2000), at: 0x8000)
            try? self.g.memory.store(UInt8(1 << 1), at: 0x8000 + 0x71 / 8)
            v[.ioBitmapA] = 0x8000; v[.ioBitmapB] = 0x9000 })
        XCTAssertEqual(o, .vmExit(.ioInstruction)); XCTAssertEqual(v[.exitQualification] >> 16, 0x71)
        // MSR bitmaps: reading IA32_TSC (0x10) passes when its read bit is clear; WRMSR exits.
        (o, _) = try run(primary: [.useMSRBitmaps], { a in
            a.mov(ecx, 0x10); a.rdmsr(); a.wrmsr()
        }, configure: { v in
            try? self.g.memory.write([UInt8](repeating: 0, count: 0x400), at: 0xA000)
            try? self.g.memory.write([UInt8](repeating: 0xFF, count: 0x400), at: 0xA800)
            v[.msrBitmaps] = 0xA000 })
        XCTAssertEqual(o, .vmExit(.wrmsr))
    }

    func testDescriptorTableAndINVPCIDExits() throws {
        var (o, v) = try run(secondary: .descriptorTableExiting) { $0.sgdt(mem[rax]) }
        XCTAssertEqual(o, .vmExit(.gdtrIdtrAccess)); XCTAssertEqual((v[.exitInstructionInformation] >> 28) & 3, 0)
        (o, v) = try run(secondary: .descriptorTableExiting) { $0.str(ax) }
        XCTAssertEqual(o, .vmExit(.ldtrTrAccess)); XCTAssertEqual((v[.exitInstructionInformation] >> 28) & 3, 1)
        (o, _) = try run(primary: .invlpgExiting, secondary: .enableINVPCID) { $0.invpcid(rax, oword[rbx]) }
        XCTAssertEqual(o, .vmExit(.invpcid))
    }

    /// RDPMC with "RDPMC exiting" (reason 15) and RDTSCP with "RDTSC exiting" and "enable
    /// RDTSCP" (reason 51), each with its instruction length (SDM Vol. 3C §26.1.3, §28.2.4).
    func testCounterReadExits() throws {
        var (o, v) = try run(primary: .rdpmcExiting) { a in a.xor(ecx, ecx); a.db(0x0F, 0x33) }   // RDPMC
        XCTAssertEqual(o, .vmExit(.rdpmc)); XCTAssertEqual(v[.exitInstructionLength], 2)
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code + 2)
        (o, v) = try run(primary: .rdtscExiting, secondary: .enableRDTSCP) { $0.rdtscp() }
        XCTAssertEqual(o, .vmExit(.rdtscp)); XCTAssertEqual(v[.exitInstructionLength], 3)
        // Without "enable RDTSCP", RDTSCP is #UD before any exit (§26.3).
        (o, v) = try run(primary: .rdtscExiting, { $0.rdtscp() }, configure: { $0[.exceptionBitmap] = 1 << 6 })
        XCTAssertEqual(o, .vmExit(.exceptionOrNMI)); XCTAssertEqual(v[.exitInterruptionInformation] & 0xFF, 6)
    }

    func testInterruptWindowExit() throws {
        let (o, v) = try run(primary: .interruptWindowExiting) { a in a.nop(); a.sti(); a.nop(); a.nop() }
        XCTAssertEqual(o, .vmExit(.interruptWindow))
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code + 3, "after the instruction following STI")
    }

    func testEPTViolationThroughRun() throws {
        // EPT maps guest-physical 0–2 MiB only (identity); touching 0x40_0000 violates.
        let (o, v) = try run(secondary: .enableEPT, { a in a.mov(eax, 0x40_0000); a.mov(ebx, dword[rax]) }, configure: { v in
            let pml4: UInt64 = 0xB000, pdpt: UInt64 = 0xC000, pd: UInt64 = 0xD000
            try? self.g.memory.store(pdpt | 7, at: pml4)
            try? self.g.memory.store(pd | 7, at: pdpt)
            try? self.g.memory.store(UInt64(0x87) | (6 << 3), at: pd)       // 2 MiB page, RWX, WB
            v[.eptPointer] = EPTPointer.make(root: pml4).raw })
        XCTAssertEqual(o, .vmExit(.eptViolation))
        XCTAssertEqual(v[.guestPhysicalAddress], 0x40_0000)
        XCTAssertEqual(v[.exitQualification] & 0x187, 0x181, "data read, linear address valid, final translation")
    }
}
