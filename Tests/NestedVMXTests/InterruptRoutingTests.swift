import XCTest
import X86Assembler
@testable import CPU

/// Exit routing for interrupts and NMIs: external interrupts with and without "external-
/// interrupt exiting" and "acknowledge interrupt on exit", an interrupt ending a halted L2,
/// NMIs with and without "NMI exiting", interrupt-window exiting (SDM Vol. 3C §25.6.1,
/// §25.6.2, §25.7.1, §26.2, §27.7.5, §28.2.2, §28.3.4).
final class InterruptRoutingTests: XCTestCase {
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
                p.ifExit(number: 1) {
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
            XCTAssertEqual(exits.reasons, [.externalInterrupt, .vmcall], "acknowledge: \(acknowledge): \(exits)")
            XCTAssertEqual(exits.first?.guestRIP, code.address!, "the exit comes before L2's first instruction")
            XCTAssertEqual(exits.first?.interruptionInformation, acknowledge ? 0x8000_0000 | vector : 0, "acknowledge: \(acknowledge)")
            XCTAssertEqual(m[isrSlot] != 0, acknowledge, "in service after an acknowledging exit")
            XCTAssertEqual(m[irrSlot] != 0, !acknowledge, "still requested without acknowledgement")
        }
        XCTAssertEqual(m[results[0].interrupts], 0, "an acknowledged interrupt is not delivered to L1 again")
        XCTAssertEqual(m[results[1].interrupts], 1, "L1 took the unacknowledged interrupt once it set IF")
        XCTAssertEqual(m[L1Program.Globals.lastInterrupt], vector)
    }

    /// §26.2 (last paragraph), §6.8.1 of Vol. 3A: without "external-interrupt exiting" an
    /// interrupt that arrives while L2 runs is L2's — delivered through L2's IDT once L2's
    /// RFLAGS.IF allows — and L1 never sees it (no exit 1, no interrupt in L1's handler). L2's
    /// handler EOIs the local APIC through MMIO, which L0 emulates for it.
    func testExternalInterruptWithoutExitingIsDeliveredThroughL2sIDT() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, vector = 0x52
        let handler = a.label()
        let code = p.l2Code {
            a.sti(); a.nop(); a.cli()
            p.l2Done()
            a.bind(handler)
            a.mov(ebx, Int64(vector))
            a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0xB0], 0)
            a.vmcall()
            a.iretq()
        }
        var g = L2Guest(code: code)
        g.idt = p.l2IDT([vector: handler])
        p.enableVMX()
        a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0xF0], 0x1FF)
        p.makeCurrent(p.area.vmcs(0))
        p.setUpVMCS(g)
        a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0x300], Int64(0x4_0000 | vector))
        let log = p.exitLog()
        p.runGuest(log)
        let count = p.slot()
        a.sti(); a.nop(); a.cli()
        a.mov(rax, L1Program.Globals.interruptCount.memory); p.record(count, from: rax)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmcall, .vmcall], "\(exits)")
        XCTAssertEqual(exits.first?[.rbx], UInt64(vector), "L2's handler ran")
        XCTAssertEqual(m[count], 0, "L1 never got the interrupt")
    }

    /// §26.2, §28.3.4: an L2 halted without HLT exiting still exits when an interrupt for L1
    /// arrives (external-interrupt exiting; here L1's local-APIC timer, Vol. 3A §12.5.4), with
    /// the interrupt acknowledged into the interruption information and the HLT activity
    /// state saved; L1 makes L2 active and it goes on after its HLT.
    func testAnInterruptEndsAHaltedL2WithAnExitToL1() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, vector: UInt64 = 0x53, after = a.label()
        let code = p.l2Code {
            a.hlt()
            a.bind(after)
            p.l2Done()
        }
        var g = L2Guest(code: code)
        g.pin = [.externalInterruptExiting]
        g.exit = [.acknowledgeInterruptOnExit]
        p.enableVMX()
        p.makeCurrent(p.area.vmcs(0))
        p.setUpVMCS(g)
        a.mov(rcx, Int64(L1Layout.localAPIC))
        a.mov(dword[rcx + 0xF0], 0x1FF)                            // software enabled
        a.mov(dword[rcx + 0x3E0], 0xB)                             // divide by 1
        a.mov(dword[rcx + 0x320], Int64(vector))                   // one-shot, vector 53H
        a.mov(dword[rcx + 0x380], 20_000)                          // initial count
        let log = p.exitLog()
        p.runGuest(log) {
            p.ifExitReason(.externalInterrupt) {
                p.set(.guestActivityState, 0)
                a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0xB0], 0)
            }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.externalInterrupt, .vmcall], "\(exits)")
        guard exits.count == 2 else { return }
        XCTAssertEqual(exits[0].interruptionInformation, 0x8000_0000 | vector)
        XCTAssertEqual(exits[0][.activityState], UInt64(ActivityState.hlt.rawValue))
        XCTAssertEqual(exits[0].guestRIP, after.address!)
    }

    /// §25.6.1 "NMI exiting", §26.2, §28.2.2: an NMI that arrives while L2 runs (L2 sends it
    /// to its own processor through the local APIC's ICR, delivery mode NMI, Vol. 3A §12.6.1)
    /// goes through L2's IDT (vector 2) without NMI exiting, and is exit reason 0 with
    /// interruption information 80000202H (vector 2, type 2 = NMI) with it.
    func testNMIExitingDecidesWhereAnNMIGoes() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, handler = a.label()
        let code = p.l2Code {
            a.mov(rcx, Int64(L1Layout.localAPIC))
            a.mov(dword[rcx + 0x310], 0)                          // destination: APIC ID 0
            a.mov(dword[rcx + 0x300], 0x400)                      // delivery mode NMI
            a.nop(); a.nop()
            p.l2Done()
            a.bind(handler)
            a.mov(ebx, 2); a.vmcall(); a.iretq()
        }
        p.enableVMX()
        let logs = p.runL2s([false, true].map { nmiExiting in
            var g = L2Guest(code: code)
            g.idt = p.l2IDT([2: handler])
            if nmiExiting { g.pin = [.nmiExiting] }
            return g
        })
        p.finish()
        try m.run(p)
        let delivered = m.exits(logs[0]), exiting = m.exits(logs[1])
        XCTAssertEqual(delivered.reasons, [.vmcall, .vmcall], "\(delivered)")
        XCTAssertEqual(delivered.first?[.rbx], 2, "L2's NMI handler ran")
        XCTAssertEqual(exiting.reasons, [.exceptionOrNMI, .vmcall], "\(exiting)")
        XCTAssertEqual(exiting.first?.interruptionInformation, 0x8000_0202)
    }

    /// §25.6.2 "interrupt-window exiting", §27.7.5: L2 exits with reason 7 at the first
    /// instruction boundary where RFLAGS.IF = 1 and nothing blocks interrupts — after STI and
    /// the one instruction STI's blocking covers.
    func testInterruptWindowExitingExitsOnceL2CanTakeInterrupts() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, window = a.label()
        let code = p.l2Code {
            a.nop()
            a.sti(); a.nop()
            a.bind(window); a.cli()
            p.l2Done()
        }
        var g = L2Guest(code: code)
        g.primary = [.interruptWindowExiting]
        p.enableVMX()
        let log = p.runL2(g) {
            p.ifExitReason(.interruptWindow) {
                p.set(.primaryProcessorBasedControls, p.adjusted(0, MSRIndex.vmxTrueProcbasedControls))
            }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.interruptWindow, .vmcall], "\(exits)")
        XCTAssertEqual(exits.first?.guestRIP, window.address!)
        XCTAssertEqual(exits.first.map { $0[.interruptibility] & 3 }, 0, "no STI blocking left")
    }

    /// §27.3.1.5, §27.7.4: an L2 entered in the shutdown state takes no external interrupt —
    /// VM entry may not inject one (nor may L0 into VMCS02: that VM entry would fail) and the
    /// state blocks them — so an interrupt for L1 arriving meanwhile, without "external-interrupt
    /// exiting", stays pending; the preemption timer, which counts on in shutdown, brings L2
    /// back to L1, which then takes the interrupt. (Found by the hostile-L1 fuzz.)
    func testAnL2InShutdownTakesNoInterrupt() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, vector: UInt64 = 0x52
        let code = p.l2Code { p.l2Done() }
        p.enableVMX()
        a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0xF0], 0x1FF)    // APIC software enabled
        var g = L2Guest(code: code)
        g.pin = [.activateVMXPreemptionTimer]
        g.preemptionTimer = 50
        g.overrides = [(.guestActivityState, UInt64(ActivityState.shutdown.rawValue)), (.guestRFLAGS, 0x202)]
        p.makeCurrent(p.area.vmcs(0))
        p.setUpVMCS(g)
        a.mov(rcx, Int64(L1Layout.localAPIC)); a.mov(dword[rcx + 0x300], Int64(0x4_0000 | vector))   // self-IPI, IF = 0
        let log = p.exitLog(), before = p.slot(), after = p.slot()
        p.runGuest(log) {
            p.ifExit(number: 1) {
                a.mov(rax, L1Program.Globals.interruptCount.memory); p.record(before, from: rax)
                a.sti(); a.nop(); a.cli()
                a.mov(rax, L1Program.Globals.interruptCount.memory); p.record(after, from: rax)
                p.set(.guestActivityState, 0)
                p.set(.vmxPreemptionTimerValue, 1 << 30)
            }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.preemptionTimer, .vmcall], "\(exits)")
        XCTAssertEqual(m[before], 0, "L2 in shutdown did not take L1's interrupt")
        XCTAssertEqual(m[after], 1, "it stayed pending for L1")
        XCTAssertEqual(m[L1Program.Globals.lastInterrupt], vector)
    }

    /// §27.2.1.1 ("NMI-window exiting" requires "virtual NMIs"), Vol. 3A §6.7.1: an NMI that
    /// arrives while L2 blocks NMIs — vmcs12 without "virtual NMIs", so the blocking is real —
    /// waits for L2's IRET, then goes through L2's IDT. L0 may not ask for an NMI-window exit
    /// in VMCS02 to deliver it (that VM entry would fail). (Found by the hostile-L1 fuzz.)
    func testAnNMIWaitsForL2sIRETWithoutVirtualNMIs() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, handler = a.label(), after = a.label()
        let code = p.l2Code {
            a.xor(r12d, r12d)
            a.mov(rcx, Int64(L1Layout.localAPIC))
            a.mov(dword[rcx + 0x310], 0)                          // destination: APIC ID 0
            a.mov(dword[rcx + 0x300], 0x400)                      // delivery mode NMI
            a.nop(); a.nop()
            a.mov(r12d, 1)
            a.mov(rax, rsp); a.push(Int64(L1Boot.data)); a.push(rax); a.pushf()
            a.push(Int64(L1Boot.code64)); a.mov(rax, after); a.push(rax)
            a.iretq()                                             // ends the blocking by NMI
            a.bind(after)
            a.nop()
            p.l2Done()
            a.bind(handler)
            a.mov(rbx, r12); a.mov(ecx, 2); a.vmcall(); a.iretq()
        }
        p.enableVMX()
        var g = L2Guest(code: code)
        g.idt = p.l2IDT([2: handler])
        g.overrides = [(.guestInterruptibilityState, 8)]          // blocking by NMI
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmcall, .vmcall], "\(exits)")
        XCTAssertEqual(exits.first?[.rcx], 2, "L2's NMI handler ran")
        XCTAssertEqual(exits.first?[.rbx], 1, "after L2's IRET")
    }
}
