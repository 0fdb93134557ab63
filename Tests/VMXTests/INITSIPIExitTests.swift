import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// INIT and start-up IPIs in VMX non-root operation (SDM Vol. 3C §26.2; §27.7.4 activity-state
/// blocking; §28.2.1 exit qualification): INIT → exit 3 outside wait-for-SIPI, blocked in it;
/// SIPI → exit 4 with the vector in wait-for-SIPI, discarded in any other state.
final class INITSIPIExitTests: XCTestCase {
    let guest = VMXTestGuest()
    var cpu: Processor { guest.cpu }

    /// An endless loop counting in RCX.
    func spinning() throws -> VMCS {
        try guest.vmcs { a in let top = a.boundLabel(); a.inc(rcx); a.jmp(top, short: true) }
    }

    func testINITCausesAVMExitAtTheNextBoundary() throws {
        let v = try spinning()
        cpu.presentINIT()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .vmExit(.initSignal))
        XCTAssertEqual(v[.exitReason], 3)
        XCTAssertEqual(v[.exitQualification], 0)
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code, "taken before the first instruction; no register changes")
        XCTAssertEqual(v[.guestActivityState], 0)
        XCTAssertFalse(cpu.initPresented, "the INIT is consumed by the VM exit")
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .budgetExhausted, "one INIT, one exit")
    }

    func testINITArrivingDuringTheRunExitsAfterTheInstruction() throws {
        let out: (Assembler) -> Void = { a in a.mov(al, 1); a.out(port: 0x80, al) }
        let v = try guest.vmcs { a in out(a); let top = a.boundLabel(); a.inc(rcx); a.jmp(top, short: true) }
        guest.bus.onIOWrite = { [unowned self] _, _ in self.cpu.presentINIT() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .vmExit(.initSignal))
        let a = Assembler(mode: .bits64, origin: VMXTestGuest.code)
        out(a)
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code + UInt64(a.assemble().count), "RIP after the OUT")
        XCTAssertEqual(cpu.gpr[1], 0, "no instruction after the OUT ran")
    }

    func testINITExitsFromHLTAndKeepsTheActivityState() throws {
        let v = try guest.vmcs { a in a.hlt() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .halted, "HLT without HLT exiting returns to L0")
        XCTAssertEqual(v[.guestActivityState], 1)
        cpu.presentSIPI(vector: 0x12)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .halted, "the HLT state discards SIPIs")
        cpu.presentINIT()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.initSignal))
        XCTAssertEqual(v[.guestActivityState], 1, "the guest is still in HLT")
    }

    func testSIPIInWaitForSIPIExitsWithItsVector() throws {
        let v = try spinning()
        v[.guestActivityState] = 3
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .budgetExhausted,
                       "wait-for-SIPI returns to L0 only by a SIPI exit or the budget")
        XCTAssertEqual(cpu.gpr[1], 0, "no instruction ran")
        XCTAssertEqual(v[.guestActivityState], 3)
        cpu.presentSIPI(vector: 0x9A)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .vmExit(.startupIPI))
        XCTAssertEqual(v[.exitReason], 4)
        XCTAssertEqual(v[.exitQualification], 0x9A, "bits 7:0 the SIPI vector, 63:8 zero")
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code, "no register state changes")
        XCTAssertEqual(v[.guestActivityState], 3, "L0 decides what the SIPI does")
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .budgetExhausted, "the SIPI was consumed")
    }

    func testINITIsBlockedInWaitForSIPIUntilTheGuestLeavesIt() throws {
        let v = try spinning()
        v[.guestActivityState] = 3
        cpu.presentINIT()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .budgetExhausted, "INIT blocked by wait-for-SIPI")
        XCTAssertTrue(cpu.initPresented, "blocked, not discarded")
        cpu.presentSIPI(vector: 0x10)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .vmExit(.startupIPI), "the SIPI is not blocked")
        XCTAssertEqual(v[.exitQualification], 0x10)
        v[.guestActivityState] = 0                   // L0 starts the virtual processor
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .vmExit(.initSignal), "the held INIT exits at once")
        XCTAssertEqual(v[.guestRIP], VMXTestGuest.code)
    }

    func testSIPIWhileActiveIsDiscarded() throws {
        let v = try guest.vmcs { a in a.mov(ecx, 3); a.vmcall() }
        cpu.presentSIPI(vector: 0x55)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall), "no exit for a SIPI in the active state")
        XCTAssertEqual(cpu.gpr[1], 3)
        let w = try spinning()
        w[.guestActivityState] = 3
        XCTAssertEqual(cpu.run(vmcs: w, budget: 1000), .budgetExhausted, "the discarded SIPI does not wake it later")
    }

    func testINITHasPriorityOverTheMonitorTrapFlagAndThePreemptionTimer() throws {
        let v = try spinning()
        v.enable(Primary.monitorTrapFlag)
        v.enable(Pin.activateVMXPreemptionTimer)
        v[.vmxPreemptionTimerValue] = 0
        cpu.presentINIT()
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .vmExit(.initSignal))
        XCTAssertEqual(cpu.run(vmcs: v, budget: 1000), .vmExit(.preemptionTimer))
    }

    func testWaitForSIPIIsAnAdvertisedActivityState() {
        XCTAssertNotEqual(cpu.vmxCapabilities.misc & (1 << 8), 0, "IA32_VMX_MISC bit 8: wait-for-SIPI")
    }
}
