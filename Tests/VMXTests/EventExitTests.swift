import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// VM exits during event delivery (IDT-vectoring information, SDM Vol. 3C §28.2.3), NMIs and
/// external interrupts in VMX non-root operation (§26.2, §26.3, §27.7.1, §27.7.6, §28.2.2).
final class EventExitTests: XCTestCase {
    let g = VMXTestGuest()
    var cpu: Processor { g.cpu }
    static let code = VMXTestGuest.code

    /// A guest with a GDT and an IDT whose handlers for `vectors` execute HLT (HLT exiting on).
    func vmcs(vectors: [UInt8] = [], _ build: (Assembler) -> Void) throws -> VMCS {
        let v = try g.vmcs(build)
        try g.installDescriptorTables(v, vectors: vectors)
        v.enable(Primary.hltExiting)
        return v
    }

    /// EPT mapping guest-physical 0–2 MiB only (identity, WB, RWX).
    func mapFirst2MiBWithEPT(_ v: VMCS) throws {
        let pml4: UInt64 = 0xB000, pdpt: UInt64 = 0xC000, pd: UInt64 = 0xD000
        try g.memory.store(pdpt | 7, at: pml4)
        try g.memory.store(pd | 7, at: pdpt)
        try g.memory.store(UInt64(0x87) | (6 << 3), at: pd)
        v.enable(SecondaryProcessorBasedControls.enableEPT)
        v[.eptPointer] = EPTPointer.make(root: pml4).raw
    }

    // MARK: IDT-vectoring information

    func testPageFaultWhileDeliveringAnInjectedInterruptRecordsIDTVectoring() throws {
        let v = try vmcs { a in a.nop() }
        v[.guestIDTRBase] = 0x4000_0000                      // beyond the 1 GiB the guest maps
        v[.guestRFLAGS] = 0x202
        v[.exceptionBitmap] = 1 << 14
        v[.entryInterruptionInformation] = 0x8000_0030       // external interrupt 0x30
        let cr2 = cpu.cr2
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0B0E, "#PF, hardware exception, error code valid")
        XCTAssertEqual(v[.exitInterruptionErrorCode], 0, "not present, read, supervisor")
        XCTAssertEqual(v[.exitQualification], 0x4000_0300, "the IDT entry of vector 0x30")
        XCTAssertEqual(v[.idtVectoringInformation], 0x8000_0030, "the interrupt being delivered")
        XCTAssertEqual(v[.guestRIP], Self.code)
        XCTAssertEqual(cpu.cr2, cr2, "a #PF that exits leaves CR2 alone")
    }

    func testEPTViolationWhileDeliveringAnExceptionRecordsIDTVectoring() throws {
        // #UD raised by UD2: its delivery pushes onto a stack EPT does not map.
        var v = try vmcs(vectors: [6]) { a in a.ud2() }
        try mapFirst2MiBWithEPT(v)
        v[.guestRSP] = 0x50_0000
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.eptViolation))
        XCTAssertEqual(v[.idtVectoringInformation], 0x8000_0306, "#UD, hardware exception, no error code")
        XCTAssertEqual(v[.guestPhysicalAddress], 0x4F_FFF8, "first stack write")
        XCTAssertEqual(v[.exitQualification] & 0x187, 0x182, "data write, linear address valid, final translation")
        XCTAssertEqual(v[.guestRIP], Self.code, "the faulting UD2")

        // An injected #GP with error code 0x10: IDT-vectoring carries the error code.
        v = try vmcs(vectors: [13]) { a in a.nop() }
        try mapFirst2MiBWithEPT(v)
        v[.guestRSP] = 0x50_0000
        v[.entryInterruptionInformation] = 0x8000_0B0D
        v[.entryExceptionErrorCode] = 0x10
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.eptViolation))
        XCTAssertEqual(v[.idtVectoringInformation], 0x8000_0B0D)
        XCTAssertEqual(v[.idtVectoringErrorCode], 0x10)

        // INT 0x80: the software interrupt's instruction length is reported with it.
        v = try vmcs(vectors: [0x80]) { a in a.int(0x80) }
        try mapFirst2MiBWithEPT(v)
        v[.guestRSP] = 0x50_0000
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.eptViolation))
        XCTAssertEqual(v[.idtVectoringInformation], 0x8000_0480, "vector 0x80, software interrupt")
        XCTAssertEqual(v[.exitInstructionLength], 2)
    }

    func testFaultDuringDeliveryIsCheckedAgainstTheBitmapBeforeDoubleFault() throws {
        // Delivering the injected #GP hits the IDT limit: #GP(13·8+2+EXT) — in the bitmap, so
        // it exits with the injected #GP as the event being delivered.
        var v = try vmcs { a in a.nop() }
        v[.guestIDTRLimit] = 0x7F
        v[.exceptionBitmap] = 1 << 13
        v[.entryInterruptionInformation] = 0x8000_0B0D
        v[.entryExceptionErrorCode] = 0
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0B0D)
        XCTAssertEqual(v[.exitInterruptionErrorCode], 13 * 8 + 2 + 1)
        XCTAssertEqual(v[.idtVectoringInformation], 0x8000_0B0D)
        XCTAssertEqual(v[.idtVectoringErrorCode], 0)

        // Only #DF in the bitmap: the double fault the original event produced exits directly,
        // which is not a VM exit during event delivery.
        v = try vmcs { a in a.nop() }
        v[.guestIDTRLimit] = 0x7F
        v[.exceptionBitmap] = 1 << 8
        v[.entryInterruptionInformation] = 0x8000_0B0D
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0B08)
        XCTAssertEqual(v[.idtVectoringInformation], 0, "invalid")

        // A triple fault is not a VM exit during event delivery either.
        v = try vmcs { a in a.nop() }
        v[.guestIDTRLimit] = 0
        v[.entryInterruptionInformation] = 0x8000_0B0D
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.tripleFault))
        XCTAssertEqual(v[.idtVectoringInformation], 0)
    }

    // MARK: NMIs

    func testNMIExitingTurnsAPresentedNMIIntoAVMExit() throws {
        var v = try vmcs { a in a.nop(); a.hlt() }
        v.enable(Pin.nmiExiting)
        cpu.presentNMI()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitReason], 0)
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0202, "vector 2, type NMI, valid")
        XCTAssertEqual(v[.guestRIP], Self.code, "before the first instruction")
        XCTAssertFalse(cpu.nmiPresented)

        // injectNMI() from a device while the guest runs: the exit follows the OUT.
        v = try vmcs { a in a.mov(al, 1); a.out(port: 0x80, al); a.nop(); a.hlt() }
        v.enable(Pin.nmiExiting)
        g.bus.onIOWrite = { [unowned self] _, _ in _ = self.cpu.injectNMI() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0202)
        XCTAssertEqual(v[.guestRIP], Self.code + 4, "after MOV AL and OUT")
    }

    func testNMIWithoutExitingIsDeliveredThroughTheGuestIDT() throws {
        let v = try vmcs(vectors: [2]) { a in a.nop() }
        cpu.presentNMI()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt))
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.handlerAddress(2))
        XCTAssertEqual(v[.guestInterruptibilityState] & 8, 8, "blocking by NMI after delivery")
        XCTAssertEqual(try g.memory.load(UInt64.self, at: 0x8_0000 - 40), Self.code, "interrupted RIP pushed")
    }

    func testBlockingByNMIAndVirtualNMIs() throws {
        // Without virtual NMIs, bit 3 blocks the NMI: the guest runs on to its HLT.
        var v = try vmcs { a in a.nop(); a.hlt() }
        v.enable(Pin.nmiExiting)
        v[.guestInterruptibilityState] = 8
        cpu.presentNMI()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt))
        XCTAssertTrue(cpu.nmiPresented, "still pending")
        // With virtual NMIs bit 3 is virtual-NMI blocking, which does not block NMIs.
        v = try vmcs { a in a.nop(); a.hlt() }
        v.enable([Pin.nmiExiting, Pin.virtualNMIs])
        v[.guestInterruptibilityState] = 8
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0202)
        XCTAssertEqual(v[.guestInterruptibilityState] & 8, 8, "virtual-NMI blocking saved")
    }

    /// Builds an IRETQ frame returning to `target` on the current stack, then IRETQ.
    func iretTo(_ a: Assembler, _ target: Label) {
        a.mov(rax, rsp)
        a.push(0x10); a.push(rax); a.pushf(); a.push(8)
        a.mov(rax, target); a.push(rax)
        a.iretq()
    }

    func testIRETAndNMIBlocking() throws {
        // NMI exiting without virtual NMIs: IRET leaves blocking by NMI in place (§26.3).
        var v = try vmcs { a in let l = a.label(); self.iretTo(a, l); a.bind(l); a.hlt() }
        v.enable(Pin.nmiExiting)
        v[.guestInterruptibilityState] = 8
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt))
        XCTAssertEqual(v[.guestInterruptibilityState] & 8, 8)
        // Without NMI exiting IRET unblocks NMIs as usual.
        v = try vmcs { a in let l = a.label(); self.iretTo(a, l); a.bind(l); a.hlt() }
        v[.guestInterruptibilityState] = 8
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt))
        XCTAssertEqual(v[.guestInterruptibilityState] & 8, 0)
    }

    func testNMIWindowExitingAfterIRETRemovesVirtualNMIBlocking() throws {
        var after: UInt64 = 0
        var v = try vmcs { a in
            let l = a.label(); self.iretTo(a, l); a.bind(l); after = a.here; a.nop(); a.hlt()
        }
        v.enable([Pin.nmiExiting, Pin.virtualNMIs]); v.enable(Primary.nmiWindowExiting)
        v[.guestInterruptibilityState] = 8
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.nmiWindow))
        XCTAssertEqual(v[.exitReason], 8)
        XCTAssertEqual(v[.guestRIP], after, "right after the IRET")
        XCTAssertEqual(v[.guestInterruptibilityState] & 8, 0)
        // No virtual-NMI blocking at entry: the exit comes before the first instruction.
        v = try vmcs { a in a.nop() }
        v.enable([Pin.nmiExiting, Pin.virtualNMIs]); v.enable(Primary.nmiWindowExiting)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.nmiWindow))
        XCTAssertEqual(v[.guestRIP], Self.code)
        // §27.2.1.1: NMI-window exiting needs virtual NMIs, virtual NMIs need NMI exiting.
        v = try vmcs { a in a.nop() }
        v.enable(Pin.nmiExiting); v.enable(Primary.nmiWindowExiting)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields))
        v = try vmcs { a in a.nop() }
        v.enable(Pin.virtualNMIs)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .entryFailed(.invalidControlFields))
    }

    // MARK: External interrupts

    func testExternalInterruptExitingWithAndWithoutAcknowledge() throws {
        // RFLAGS.IF = 0 does not block the exit; acknowledge reports and consumes the vector.
        var v = try vmcs { a in a.nop(); a.hlt() }
        v.enable(Pin.externalInterruptExiting); v.enable(ExitControls.acknowledgeInterruptOnExit)
        cpu.presentExternalInterrupt(vector: 0x41)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.externalInterrupt))
        XCTAssertEqual(v[.exitReason], 1)
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0041)
        XCTAssertEqual(v[.guestRIP], Self.code)
        XCTAssertNil(cpu.presentedExternalInterrupt)
        // Without acknowledge the information is invalid and the interrupt stays presented.
        v = try vmcs { a in a.nop(); a.hlt() }
        v.enable(Pin.externalInterruptExiting)
        cpu.presentExternalInterrupt(vector: 0x42)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.externalInterrupt))
        XCTAssertEqual(v[.exitInterruptionInformation], 0)
        XCTAssertEqual(cpu.presentedExternalInterrupt, 0x42)
        cpu.withdrawExternalInterrupt()
        // Blocking by STI holds it for one instruction.
        v = try vmcs { a in a.nop(); a.hlt() }
        v.enable(Pin.externalInterruptExiting)
        v[.guestRFLAGS] = 0x202; v[.guestInterruptibilityState] = 1
        cpu.presentExternalInterrupt(vector: 0x43)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.externalInterrupt))
        XCTAssertEqual(v[.guestRIP], Self.code + 1, "after the NOP in the STI shadow")
        cpu.withdrawExternalInterrupt()
    }

    func testInterruptWindowExitingTakesPriorityOverAnExternalInterruptExit() throws {
        let v = try vmcs { a in a.nop() }
        v.enable(Pin.externalInterruptExiting); v.enable(Primary.interruptWindowExiting)
        v[.guestRFLAGS] = 0x202
        cpu.presentExternalInterrupt(vector: 0x44)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.interruptWindow))
        XCTAssertEqual(cpu.presentedExternalInterrupt, 0x44)
        cpu.withdrawExternalInterrupt()
    }

    func testExternalInterruptWithoutExitingIsDeliveredWhenTheWindowOpens() throws {
        var sti: UInt64 = 0
        let v = try vmcs(vectors: [0x30]) { a in a.nop(); sti = a.here; a.sti(); a.nop(); a.nop() }
        cpu.presentExternalInterrupt(vector: 0x30)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt))
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.handlerAddress(0x30))
        XCTAssertEqual(try g.memory.load(UInt64.self, at: 0x8_0000 - 40), sti + 2, "delivered after the instruction following STI")
        XCTAssertNil(cpu.presentedExternalInterrupt)
    }
}
