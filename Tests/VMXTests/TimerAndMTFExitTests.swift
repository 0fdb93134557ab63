import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// The VMX-preemption timer (SDM Vol. 3C §26.5.1, §27.7.4, §28.3.4) and the monitor trap flag
/// (§26.5.2, §27.6.2).
final class TimerAndMTFExitTests: XCTestCase {
    let g = VMXTestGuest()
    var cpu: Processor { g.cpu }
    static let code = VMXTestGuest.code

    /// The timer arithmetic below counts instructions exactly, so the guest's TLB misses
    /// take no virtual time here (`PageWalkLatencyTests` covers that latency).
    func spinningGuest() throws -> VMCS {
        cpu.model.pagingEntryLatency = 0
        return try g.vmcs { a in let top = a.boundLabel(); a.inc(rcx); a.jmp(top, short: true) }
    }

    /// Instructions until the timer loaded with `value` reaches zero from TSC `tsc`: bit X of
    /// the TSC must change `value` times, X = IA32_VMX_MISC[4:0].
    func instructionsUntilExpiry(_ value: UInt64, tsc: UInt64) -> UInt64 {
        let x = VMXCapabilities().misc & 0x1F
        let target = ((tsc >> x) + value) << x
        let per = cpu.model.tscPerInstruction
        return (target - tsc + per - 1) / per
    }

    func testPreemptionTimerExpiresAtTheTSCRateAndSavesZero() throws {
        XCTAssertEqual(VMXCapabilities().misc & 0x1F, 0, "rate 0: a decrement per TSC tick")
        let v = try spinningGuest()
        v.enable(Pin.activateVMXPreemptionTimer); v.enable(ExitControls.saveVMXPreemptionTimer)
        v[.vmxPreemptionTimerValue] = 10
        cpu.timeStampOffset = 7                                  // an unaligned TSC phase
        let start = cpu.instructionsRetired, expected = instructionsUntilExpiry(10, tsc: cpu.timeStampCounter)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10_000), .vmExit(.preemptionTimer))
        XCTAssertEqual(v[.exitReason], 52)
        XCTAssertEqual(v[.exitQualification], 0)
        XCTAssertEqual(cpu.instructionsRetired - start, expected)
        XCTAssertEqual(expected, 5, "10 TSC ticks at 2 per instruction time")
        XCTAssertEqual(v[.vmxPreemptionTimerValue], 0)
    }

    func testPreemptionTimerResumesAcrossBudgetReturns() throws {
        let v = try spinningGuest()
        v.enable(Pin.activateVMXPreemptionTimer)
        v[.vmxPreemptionTimerValue] = 100
        let start = cpu.instructionsRetired, expected = instructionsUntilExpiry(100, tsc: cpu.timeStampCounter)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 40), .budgetExhausted)
        XCTAssertEqual(v[.vmxPreemptionTimerValue], 20, "80 decrements (TSC 0 → 80) remain counted")
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .vmExit(.preemptionTimer))
        XCTAssertEqual(cpu.instructionsRetired - start, expected)
        XCTAssertEqual(v[.vmxPreemptionTimerValue], 20, "without \"save VMX-preemption timer value\" the exit leaves the field")
    }

    func testPreemptionTimerValueZeroExitsBeforeTheFirstInstruction() throws {
        let v = try spinningGuest()
        v.enable(Pin.activateVMXPreemptionTimer)
        v[.vmxPreemptionTimerValue] = 0
        let start = cpu.instructionsRetired
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.preemptionTimer))
        XCTAssertEqual(cpu.instructionsRetired, start)
        XCTAssertEqual(v[.guestRIP], Self.code)
        // In HLT the timer keeps counting down in virtual time (§26.5.1: it counts in the HLT
        // state) and exits from it: 40,000 ticks are 40,000 TSC cycles (rate 0), a budget of
        // 20,000 instruction times covers them, 100 does not.
        let h = try g.vmcs { a in a.hlt() }
        h.enable(Pin.activateVMXPreemptionTimer); h.enable(ExitControls.saveVMXPreemptionTimer)
        h[.vmxPreemptionTimerValue] = 40_000
        XCTAssertEqual(cpu.run(vmcs: h, budget: 100), .budgetExhausted)
        XCTAssertEqual(h[.guestActivityState], 1)
        XCTAssertEqual(cpu.run(vmcs: h, budget: 20_000), .vmExit(.preemptionTimer))
        XCTAssertEqual(h[.guestActivityState], 1, "exit from the HLT state")
        XCTAssertEqual(h[.vmxPreemptionTimerValue], 0)
        // §27.2.1.2: saving the timer needs the timer.
        let bad = try spinningGuest()
        bad.enable(ExitControls.saveVMXPreemptionTimer)
        XCTAssertEqual(cpu.run(vmcs: bad, budget: 100), .entryFailed(.invalidControlFields))
    }

    func testBoundaryPriorities() throws {
        // Timer (value 0) above NMI-window exiting above an NMI (Vol. 3A Table 6-2 + §26.5.1).
        var v = try spinningGuest()
        v.enable([Pin.activateVMXPreemptionTimer, Pin.nmiExiting, Pin.virtualNMIs]); v.enable(Primary.nmiWindowExiting)
        v[.vmxPreemptionTimerValue] = 0
        cpu.presentNMI()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.preemptionTimer))
        v = try spinningGuest()
        v.enable([Pin.nmiExiting, Pin.virtualNMIs]); v.enable(Primary.nmiWindowExiting)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.nmiWindow))
        XCTAssertTrue(cpu.nmiPresented)
        v = try spinningGuest()
        v.enable([Pin.nmiExiting, Pin.virtualNMIs])
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertFalse(cpu.nmiPresented)
        // MTF above a single-step trap: the #DB is delivered after the MTF VM exit.
        let t = try g.vmcs { a in a.nop(); a.nop() }
        try g.installDescriptorTables(t, vectors: [1])
        t.enable(Primary.monitorTrapFlag)
        t[.guestRFLAGS] = 0x102                                  // TF
        XCTAssertEqual(cpu.run(vmcs: t, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(t[.guestRIP], Self.code + 1)
        XCTAssertEqual(cpu.run(vmcs: t, budget: 100), .vmExit(.monitorTrapFlag), "after delivering the single-step #DB")
        XCTAssertEqual(t[.guestRIP], VMXTestGuest.handlerAddress(1))
    }

    func testMonitorTrapFlagExitsAfterEachInstruction() throws {
        let v = try g.vmcs { a in a.nop(); a.mov(eax, 5); a.hlt() }
        v.enable(Primary.monitorTrapFlag)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(v[.exitReason], 37)
        XCTAssertEqual(v[.guestRIP], Self.code + 1)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(v[.guestRIP], Self.code + 6)
        XCTAssertEqual(cpu.gpr[0], 5)
        // HLT completes, then the MTF VM exit is taken from the HLT state.
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(v[.guestRIP], Self.code + 7)
        XCTAssertEqual(v[.guestActivityState], 1)
    }

    func testMonitorTrapFlagStopsREPStringsAfterOneIteration() throws {
        let v = try g.vmcs { a in a.mov(ecx, 5); a.mov(edi, 0x9000); a.rep(); a.stosb() }
        v.enable(Primary.monitorTrapFlag)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(cpu.gpr[1], 4, "one iteration done")
        XCTAssertEqual(v[.guestRIP], Self.code + 10, "still at REP STOSB")
    }

    func testMonitorTrapFlagAfterEventDelivery() throws {
        // An injected interrupt: the MTF VM exit comes before the handler's first instruction.
        var v = try g.vmcs { a in a.nop() }
        try g.installDescriptorTables(v, vectors: [0x30, 6])
        v.enable(Primary.monitorTrapFlag)
        v[.guestRFLAGS] = 0x202
        v[.entryInterruptionInformation] = 0x8000_0030
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.handlerAddress(0x30))
        // An interrupt L0 presents, delivered through the IDT at a boundary: same.
        v = try g.vmcs { a in a.nop() }
        try g.installDescriptorTables(v, vectors: [0x31])
        v.enable(Primary.monitorTrapFlag)
        v[.guestRFLAGS] = 0x202
        cpu.presentExternalInterrupt(vector: 0x31)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.handlerAddress(0x31))
        // A fault the instruction raises: the exit follows the delivery of the fault.
        v = try g.vmcs { a in a.ud2() }
        try g.installDescriptorTables(v, vectors: [6])
        v.enable(Primary.monitorTrapFlag)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag))
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.handlerAddress(6))
        // A fault-like VM exit (CPUID) leaves no MTF VM exit pending.
        v = try g.vmcs { a in a.cpuid() }
        v.enable(Primary.monitorTrapFlag)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.cpuid))
    }

    func testPendingMTFInjectionExitsBeforeTheFirstInstruction() throws {
        let v = try g.vmcs { a in a.nop(); a.hlt() }
        v[.entryInterruptionInformation] = 0x8000_0700          // type 7 (other event), vector 0
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.monitorTrapFlag), "even without the MTF control")
        XCTAssertEqual(v[.guestRIP], Self.code)
        XCTAssertEqual(v[.entryInterruptionInformation] >> 31, 0)
        // MTF outranks the preemption timer at the same boundary.
        let t = try g.vmcs { a in a.nop() }
        t.enable(Pin.activateVMXPreemptionTimer); t[.vmxPreemptionTimerValue] = 0
        t[.entryInterruptionInformation] = 0x8000_0700
        XCTAssertEqual(cpu.run(vmcs: t, budget: 100), .vmExit(.monitorTrapFlag))
    }
}
