import XCTest
import X86Assembler
@testable import CPU

/// Exit routing for events and VMX features: exceptions through vmcs12's exception bitmap,
/// external interrupts with and without "acknowledge interrupt on exit", the VMX-preemption
/// timer and the monitor trap flag (SDM Vol. 3C §25.6.1, §25.6.3, §25.7.1, §26.2, §26.5,
/// §28.2.2).
final class EventExitRoutingTests: XCTestCase {
    static func reasons(_ exits: [ObservedExit]) -> [ExitReason?] { exits.map(\.reason) }

    /// §25.6.3, §26.2: an exception whose bit is set in vmcs12's exception bitmap exits to L1
    /// (reason 0) with the VM-exit interruption information of §28.2.2 (vector, type 3 =
    /// hardware exception, error code valid for #GP) and the error code; with its bit clear
    /// it is delivered through L2's own IDT, and L1 hears only of what L2's handler does.
    func testExceptionBitmapDecidesWhereL2sExceptionsGo() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let udHandler = a.label(), gpHandler = a.label(), ud2 = a.label(), load = a.label()
        let code = p.l2Code {
            a.bind(ud2); a.ud2()
            a.mov(rcx, unsigned: 0x8000_0000_0000_0000)
            a.bind(load); a.mov(rax, qword[rcx])                                 // #GP(0): not canonical
            p.l2Done()
            a.bind(udHandler)                                                     // L2's #UD handler
            a.mov(ebx, 0x600); a.vmcall()
            a.add(qword[rsp], 2); a.iretq()
            a.bind(gpHandler)                                                     // L2's #GP handler
            a.mov(rbx, qword[rsp]); a.or(rbx, 0xD00); a.vmcall()
            a.add(rsp, 8); a.add(qword[rsp], 3); a.iretq()
        }
        var g = L2Guest(code: code)
        g.exceptionBitmap = 1 << 6 | 1 << 13
        g.idt = p.l2IDT([6: udHandler, 13: gpHandler])
        p.enableVMX()
        p.makeCurrent(p.area.vmcs(0))
        p.setUpVMCS(g)
        let log = p.exitLog()
        p.runGuest(log) {
            // The first two exits are the intercepted exceptions: L1 stops intercepting and
            // lets L2 retry the instruction.
            p.ifExit(number: 1, of: log) { p.set(.exceptionBitmap, 1 << 13) }
            p.ifExit(number: 3, of: log) { p.set(.exceptionBitmap, 0) }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(Self.reasons(exits), [.exceptionOrNMI, .vmcall, .exceptionOrNMI, .vmcall, .vmcall], "\(exits)")
        guard exits.count == 5 else { return }
        XCTAssertEqual(exits[0].interruptionInformation, 0x8000_0306, "#UD: vector 6, hardware exception, valid")
        XCTAssertEqual(exits[0].guestRIP, ud2.address!)
        XCTAssertEqual(exits[1][.rbx], 0x600, "L2's #UD handler ran")
        XCTAssertEqual(exits[2].interruptionInformation, 0x8000_0B0D, "#GP: vector 13, type 3, error code valid")
        XCTAssertEqual(exits[2][.interruptionErrorCode], 0)
        XCTAssertEqual(exits[2].guestRIP, load.address!)
        XCTAssertEqual(exits[3][.rbx], 0xD00, "L2's #GP handler ran with error code 0")
        for e in exits { XCTAssertEqual(e[.idtVectoring] >> 31, 0, "no event was being delivered: \(e)") }
    }

    /// §25.6.1 "external-interrupt exiting", §28.2.2: an interrupt for L1 that arrives while L2
    /// runs is exit reason 1 whatever L2's RFLAGS.IF. With "acknowledge interrupt on exit" the
    /// exit acknowledges the local APIC (the vector moves from IRR to ISR) and the interruption
    /// information holds it (0x80000000 | vector, type 0); without, the interruption
    /// information is invalid and the interrupt stays requested until L1 enables interrupts.
    func testExternalInterruptExitsWithAndWithoutAcknowledgeInterruptOnExit() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, vector: UInt64 = 0x51
        let isr = L1Layout.localAPIC + 0x100 + vector / 32 * 0x10, irr = L1Layout.localAPIC + 0x200 + vector / 32 * 0x10
        let bit = Int64(1 << (vector % 32))
        let code = p.l2Code { a.nop(); p.l2Done() }
        p.enableVMX()
        a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0xF0], 0x1FF)    // APIC software enabled
        var results: [(ExitLog, isr: Slot, irr: Slot, interrupts: Slot)] = []
        for (k, acknowledge) in [true, false].enumerated() {
            var g = L2Guest(code: code)
            g.pin = [.externalInterruptExiting]
            if acknowledge { g.exit = [.acknowledgeInterruptOnExit] }
            p.makeCurrent(p.area.vmcs(k))
            p.setUpVMCS(g)
            // A self-IPI while L1 has interrupts disabled: requested, not taken.
            a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0x300], Int64(0x4_0000 | vector))
            let log = p.exitLog()
            let isrSlot = p.slot(), irrSlot = p.slot(), count = p.slot()
            p.runGuest(log) {
                p.ifExit(number: 1, of: log) {
                    a.mov(rcx, Int64(isr)); a.mov(eax, dword[rcx]); a.and(eax, bit); p.record(isrSlot, from: rax)
                    a.mov(rcx, Int64(irr)); a.mov(eax, dword[rcx]); a.and(eax, bit); p.record(irrSlot, from: rax)
                    if acknowledge {
                        a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0xB0], 0)   // EOI
                    } else {
                        a.sti(); a.nop(); a.cli()                                        // L1 takes it now
                    }
                    a.mov(rax, L1Program.Globals.interruptCount.memory); p.record(count, from: rax)
                }
            }
            results.append((log, isrSlot, irrSlot, count))
        }
        p.finish()
        try m.run(p)
        for ((log, isrSlot, irrSlot, count), acknowledge) in zip(results, [true, false]) {
            let exits = m.exits(log)
            XCTAssertEqual(Self.reasons(exits), [.externalInterrupt, .vmcall], "acknowledge: \(acknowledge): \(exits)")
            XCTAssertEqual(exits.first?.guestRIP, code.address!, "the exit comes before L2's first instruction")
            XCTAssertEqual(exits.first?.interruptionInformation, acknowledge ? 0x8000_0000 | vector : 0, "acknowledge: \(acknowledge)")
            XCTAssertEqual(m[isrSlot] != 0, acknowledge, "in service after an acknowledging exit")
            XCTAssertEqual(m[irrSlot] != 0, !acknowledge, "still requested without acknowledgement")
        }
        XCTAssertEqual(m[results[0].interrupts], 0, "an acknowledged interrupt is not delivered to L1 again")
        XCTAssertEqual(m[results[1].interrupts], 1, "L1 took the unacknowledged interrupt once it set IF")
        XCTAssertEqual(m[L1Program.Globals.lastInterrupt], vector)
    }

    /// §25.5.1, §26.5.1: with "activate VMX-preemption timer" the timer counts down from
    /// vmcs12's value at the TSC rate divided by 2^IA32_VMX_MISC[4:0] (here 32 TSC cycles a
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
        p.makeCurrent(p.area.vmcs(0))
        p.setUpVMCS(g)
        let log = p.exitLog()
        p.runGuest(log) {
            p.ifExitReason(.preemptionTimer) {
                a.mov(rax, finish); p.set(.guestRIP, from: rax)
                p.set(.vmxPreemptionTimerValue, 1 << 20)
            }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(Self.reasons(exits), [.preemptionTimer, .vmcall], "\(exits)")
        guard let timer = exits.first else { return }
        XCTAssertEqual(timer[.preemptionTimer], 0)
        XCTAssertTrue(timer.guestRIP == spin.address! || timer.guestRIP == spin.address! + 3, "in the loop: \(timer)")
        // 100 ticks × 32 TSC cycles at the model's 2 TSC cycles per instruction, 2 instructions
        // a round: the timer fired within the last tick.
        let rounds = timer[.rbx], perTick: UInt64 = 32 / 2 / 2
        XCTAssertGreaterThanOrEqual(rounds, UInt64(ticks - 1) * perTick, "\(timer)")
        XCTAssertLessThanOrEqual(rounds, UInt64(ticks) * perTick, "\(timer)")
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
        p.makeCurrent(p.area.vmcs(0))
        p.setUpVMCS(g)
        let log = p.exitLog()
        p.runGuest(log)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(Self.reasons(exits), [.monitorTrapFlag, .monitorTrapFlag, .monitorTrapFlag, .vmcall], "\(exits)")
        XCTAssertEqual(exits.map(\.guestRIP), [second, third, vmcall, vmcall].map { $0.address! })
        XCTAssertEqual(exits.first?.qualification, 0)
    }
}
