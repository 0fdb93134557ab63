import XCTest
import X86Assembler
@testable import CPU

/// The VMX-preemption timer and the monitor trap flag in vmcs12: exits 52 and 37 at the
/// instruction boundaries the SDM gives them (SDM Vol. 3C §25.5.1, §25.5.2, §26.5.1, §26.5.2).
final class TimerAndMTFRoutingTests: XCTestCase {
    /// §25.5.1, §26.5.1: with "activate VMX-preemption timer" the timer counts down from
    /// vmcs12's value at the TSC rate divided by 2^IA32_VMX_MISC[4:0] (here 1 TSC cycle a
    /// tick) and exits with reason 52 at 0; "save VMX-preemption timer value" stores 0.
    func testPreemptionTimerExitsL2AndSavesZero() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, spin = a.label(), finish = a.label(), ticks: UInt32 = 100
        let code = p.l2Code {
            a.xor(ebx, ebx)
            a.bind(spin); a.inc(rbx); a.jmp(spin)
            a.bind(finish); p.l2Done()
        }
        var g = L2Guest(code: code)
        g.pin = [.activateVMXPreemptionTimer]
        g.exit = [.saveVMXPreemptionTimer]
        g.preemptionTimer = ticks
        p.enableVMX()
        let log = p.runL2(g) {
            p.ifExitReason(.preemptionTimer) {
                a.mov(rax, finish); p.set(.guestRIP, from: rax)
                p.set(.vmxPreemptionTimerValue, 1 << 20)
            }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.preemptionTimer, .vmcall], "\(exits)")
        guard let timer = exits.first else { return }
        XCTAssertEqual(timer[.preemptionTimer], 0)
        XCTAssertTrue(timer.guestRIP == spin.address! || timer.guestRIP == spin.address! + 3, "in the loop: \(timer)")
        // `ticks` decrements of 2^X TSC cycles (X = IA32_VMX_MISC[4:0]) at the model's 2 TSC
        // cycles per instruction, 2 instructions a round: the timer fired within the last tick.
        let x = VMXCapabilities().misc & 0x1F, tsc = UInt64(ticks) << x
        let rounds = timer[.rbx]
        XCTAssertGreaterThanOrEqual(rounds, (tsc - (1 << x)) / 4, "\(timer)")
        XCTAssertLessThanOrEqual(rounds, tsc / 4, "\(timer)")
        // The VMCALL right after L1 re-armed the timer with 2^20 saves what is left of it: the
        // few instructions from the loop's exit to the VMCALL, 2 TSC cycles each.
        let left = exits[1][.preemptionTimer]
        XCTAssertLessThanOrEqual(left, 1 << 20)
        XCTAssertGreaterThanOrEqual(left, (1 << 20) - (64 >> x))
    }

    /// §25.5.2, §26.5.2: with the monitor trap flag, L2 exits with reason 37 after each
    /// instruction, RIP at the next one; VMCALL's own exit comes instead of an MTF exit.
    func testMonitorTrapFlagExitsAfterEachInstruction() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, second = a.label(), third = a.label(), vmcall = a.label()
        let code = p.l2Code {
            a.nop()
            a.bind(second); a.nop()
            a.bind(third); a.mov(eax, Int64(L1Program.l2DoneMagic))
            a.bind(vmcall); a.vmcall()
        }
        var g = L2Guest(code: code)
        g.primary = [.monitorTrapFlag]
        p.enableVMX()
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.monitorTrapFlag, .monitorTrapFlag, .monitorTrapFlag, .vmcall], "\(exits)")
        XCTAssertEqual(exits.map(\.guestRIP), [second, third, vmcall, vmcall].map { $0.address! })
        XCTAssertEqual(exits.first?.qualification, 0)
    }

    /// §26.5.1: a VMX-preemption timer that is 0 at VM entry exits before L2's first
    /// instruction.
    func testPreemptionTimerOfZeroExitsBeforeTheFirstInstruction() throws {
        let m = try NestedMachine(), p = m.program()
        let code = p.l2Code { p.a.nop(); p.l2Done() }
        var g = L2Guest(code: code)
        g.pin = [.activateVMXPreemptionTimer]
        g.preemptionTimer = 0
        p.enableVMX()
        let log = p.runL2(g) {
            p.ifExitReason(.preemptionTimer) { p.set(.vmxPreemptionTimerValue, 1 << 20) }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.preemptionTimer, .vmcall], "\(exits)")
        XCTAssertEqual(exits.first?.guestRIP, code.address!)
    }

    /// §26.5.2: when VM entry injects an event, an MTF VM exit is pending after its delivery —
    /// the first exit is MTF with RIP at the handler's first instruction.
    func testMonitorTrapFlagExitsAfterDeliveringAnInjectedEvent() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, handler = a.label()
        let code = p.l2Code {
            p.l2Done()
            a.bind(handler)
            p.l2Done()
        }
        var g = L2Guest(code: code)
        g.primary = [.monitorTrapFlag]
        g.idt = p.l2IDT([0x70: handler])
        g.overrides = [(.guestRFLAGS, 0x202), (.entryInterruptionInformation, 0x8000_0070)]
        p.enableVMX()
        let log = p.runL2(g) {
            p.ifExitReason(.monitorTrapFlag) {
                p.set(.primaryProcessorBasedControls, p.adjusted(0, MSRIndex.vmxTrueProcbasedControls))
            }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.monitorTrapFlag, .vmcall], "\(exits)")
        XCTAssertEqual(exits.first?.guestRIP, handler.address!)
    }
}
