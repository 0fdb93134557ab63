import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// The pending-debug-exceptions field at VM entry (SDM Vol. 3C §27.7.3) and exit (§28.3.4),
/// the shutdown activity state after VM entry (§27.7.4), and bit 12 "NMI unblocking due to
/// IRET" of the VM-exit interruption information (§28.2.2).
final class PendingDebugAndActivityTests: XCTestCase {
    let g = VMXTestGuest()
    var cpu: Processor { g.cpu }
    static let code = VMXTestGuest.code
    static let bs: UInt64 = 1 << 14

    func nops() throws -> VMCS { try g.vmcs { a in a.nop(); a.nop(); a.nop(); a.hlt() } }

    func testPendingSingleStepIsDeliveredBeforeTheFirstInstruction() throws {
        let v = try nops()
        v[.exceptionBitmap] = 1 << 1
        v[.guestPendingDebugExceptions] = Self.bs | 0x2          // BS and B1
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0301, "#DB, hardware exception, valid")
        XCTAssertEqual(v[.exitQualification], Self.bs | 0x2, "the qualification carries BS and B1")
        XCTAssertEqual(v[.guestRIP], Self.code, "no instruction executed")
        XCTAssertEqual(v[.guestPendingDebugExceptions], 0, "delivered: nothing pending at the exit")
    }

    func testPendingDebugThroughTheGuestIDTWakesHLT() throws {
        let v = try nops()
        try g.installDescriptorTables(v, vectors: [1])
        v[.guestActivityState] = 1                                // HLT: BS = TF (§27.3.1.5)
        v[.guestRFLAGS] = 0x102
        v[.guestPendingDebugExceptions] = Self.bs
        v.enable(Primary.hltExiting)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt))
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.handlerAddress(1), "the #DB woke the HLT; its handler's HLT exits")
        XCTAssertEqual(cpu.dr6 & 0x4000, 0x4000, "DR6.BS as for a single-step trap")
    }

    func testMovSSBlockingHoldsThePendingTrapForOneInstruction() throws {
        let v = try nops()
        v[.exceptionBitmap] = 1 << 1
        v[.guestInterruptibilityState] = 2                        // blocking by MOV SS
        v[.guestRFLAGS] = 0x102                                   // TF = 1 → BS = 1 (§27.3.1.5)
        v[.guestPendingDebugExceptions] = Self.bs
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.guestRIP], Self.code + 1, "the trap follows the instruction in the MOV-SS shadow")
        XCTAssertEqual(v[.exitQualification] & Self.bs, Self.bs)
    }

    func testVectoringEntryLosesPendingDebugExceptions() throws {
        let v = try nops()
        try g.installDescriptorTables(v, vectors: [0x30])
        v[.exceptionBitmap] = 1 << 1
        v[.guestPendingDebugExceptions] = Self.bs
        v[.entryInterruptionInformation] = (1 << 31) | 0x30        // external interrupt 30H
        v[.guestRFLAGS] = 0x202
        v.enable(Primary.hltExiting)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt), "no #DB exit: the handler ran to its HLT")
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.handlerAddress(0x30))
    }

    func testMTFExitSavesTheSingleStepTrapAndReentryDeliversIt() throws {
        let v = try nops()
        v.enable(Primary.monitorTrapFlag)
        v[.guestRFLAGS] = 0x102
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(v[.guestRIP], Self.code + 1)
        XCTAssertEqual(v[.guestPendingDebugExceptions], Self.bs, "MTF is above the #DB trap: the trap is saved")
        // L0 can drop it: clearing the field (and TF) re-enters without a #DB.
        v[.exceptionBitmap] = 1 << 1
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI), "the saved trap is delivered on re-entry")
        XCTAssertEqual(v[.guestRIP], Self.code + 1)
        v[.guestPendingDebugExceptions] = 0
        v[.guestRFLAGS] = 2
        v[.exceptionBitmap] = 0
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(v[.guestRIP], Self.code + 2, "no #DB: one more instruction, then MTF")
    }

    func testInstructionExitSavesNoPendingTrap() throws {
        let v = try g.vmcs { a in a.cpuid() }
        v[.guestRFLAGS] = 0x102
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.cpuid))
        XCTAssertEqual(v[.guestPendingDebugExceptions], 0, "CPUID did not complete: it owes no trap")
        // In a MOV-SS shadow the trap of the MOV SS itself is still held at the exit.
        let m = try g.vmcs { a in a.mov(X86Assembler.SegmentRegister.ss, ax); a.cpuid() }
        try g.installDescriptorTables(m, vectors: [])
        m[.guestRFLAGS] = 0x102
        m.enable(Primary.monitorTrapFlag)
        cpu.gpr[0] = 0x10
        XCTAssertEqual(cpu.run(vmcs: m, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(m[.guestInterruptibilityState], 2)
        XCTAssertEqual(m[.guestPendingDebugExceptions], Self.bs)
        m[.primaryProcessorBasedControls] &= ~UInt64(Primary.monitorTrapFlag.rawValue)
        XCTAssertEqual(cpu.run(vmcs: m, budget: 100), .vmExit(.cpuid))
        XCTAssertEqual(m[.guestPendingDebugExceptions], Self.bs, "the exit came inside the MOV-SS shadow")
    }

    func testEntryInShutdownStateIsNotATripleFault() throws {
        let v = try nops()
        v[.guestActivityState] = 2
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .halted, "inactive, no exit")
        XCTAssertEqual(v[.guestActivityState], 2)
        XCTAssertEqual(v[.guestRIP], Self.code)
        // External interrupts are blocked in it (§27.7.4), even with external-interrupt exiting.
        v.enable(Pin.externalInterruptExiting)
        cpu.presentExternalInterrupt(vector: 0x40)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .halted)
        // An NMI is not: with NMI exiting it is a VM exit from the shutdown state.
        v.enable(Pin.nmiExiting)
        cpu.presentNMI()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0202)
        XCTAssertEqual(v[.guestActivityState], 2, "the exit saves the state the NMI arrived in")
        // The preemption timer operates in the shutdown state (§26.5.1).
        v.enable(Pin.activateVMXPreemptionTimer)
        v[.vmxPreemptionTimerValue] = 3
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.preemptionTimer))
    }

    func testNMIThroughTheIDTEndsTheShutdownState() throws {
        let v = try nops()
        try g.installDescriptorTables(v, vectors: [2])
        v[.guestActivityState] = 2
        v.enable(Primary.hltExiting)
        cpu.presentNMI()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt))
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.handlerAddress(2))
        XCTAssertEqual(v[.guestActivityState], 0)
    }

    func testFaultingIRETReportsNMIUnblocking() throws {
        // IRETQ pops RIP from a stack whose frame names a null CS → #GP(0).
        let v = try g.vmcs { a in a.iretq() }
        try g.installDescriptorTables(v, vectors: [])
        try g.memory.store(UInt64(Self.code), at: 0x8_0000)
        try g.memory.store(UInt64(0), at: 0x8_0008)              // CS = 0
        try g.memory.store(UInt64(2), at: 0x8_0010)
        try g.memory.store(UInt64(0x8_0000), at: 0x8_0018)
        try g.memory.store(UInt64(0x10), at: 0x8_0020)
        v[.exceptionBitmap] = 1 << 13
        v.enable([Pin.nmiExiting, Pin.virtualNMIs])
        v[.guestInterruptibilityState] = 8                        // virtual-NMI blocking
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation] & 0xFFF, 0xB0D, "#GP with an error code")
        XCTAssertEqual(v[.exitInterruptionInformation] & (1 << 12), 1 << 12, "NMI unblocking due to IRET")
        XCTAssertEqual(v[.guestInterruptibilityState] & 8, 0, "the faulting IRET still ended the blocking")
        // Without blocking, or with "NMI exiting" and no virtual NMIs, bit 12 stays 0.
        let w = try g.vmcs { a in a.iretq() }
        try g.installDescriptorTables(w, vectors: [])
        w[.exceptionBitmap] = 1 << 13
        w.enable(Pin.nmiExiting)
        w[.guestInterruptibilityState] = 8
        XCTAssertEqual(cpu.run(vmcs: w, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(w[.exitInterruptionInformation] & (1 << 12), 0)
        XCTAssertEqual(w[.guestInterruptibilityState] & 8, 8, "NMI blocking lasts while NMI exiting is on")
    }
}
