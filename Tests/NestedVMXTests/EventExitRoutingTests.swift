import XCTest
import X86Assembler
@testable import CPU

/// Exit routing for exceptions and the events L1 injects: vmcs12's exception bitmap decides
/// whether an exception of L2 exits to L1 or goes through L2's IDT; events in vmcs12's
/// VM-entry interruption-information field reach L2's IDT (SDM Vol. 3C §25.6.3, §25.8.3,
/// §26.2, §27.6, §28.2.2).
final class EventExitRoutingTests: XCTestCase {
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
        let log = p.runL2(g) {
            // The first two exits are the intercepted exceptions: L1 stops intercepting and
            // lets L2 retry the instruction.
            p.ifExit(number: 1) { p.set(.exceptionBitmap, 1 << 13) }
            p.ifExit(number: 3) { p.set(.exceptionBitmap, 0) }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.exceptionOrNMI, .vmcall, .exceptionOrNMI, .vmcall, .vmcall], "\(exits)")
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

    /// §27.6 "Event Injection": the event in vmcs12's VM-entry interruption-information field
    /// is delivered to L2 through L2's IDT as part of VM entry — an external interrupt (type 0)
    /// and a #GP with the error code from the VM-entry exception error code (type 3, bit 11) —
    /// and the next VM exit clears the field's valid bit (§25.8.3).
    func testEventsL1InjectsAreDeliveredThroughL2sIDT() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let interruptHandler = a.label(), gpHandler = a.label()
        let code = p.l2Code {
            a.nop()
            p.l2Done()
            a.bind(interruptHandler)
            a.mov(ebx, 0x60); a.vmcall(); a.iretq()
            a.bind(gpHandler)
            a.mov(rbx, qword[rsp]); a.or(rbx, 0xD00); a.vmcall()
            a.add(rsp, 8); a.iretq()
        }
        var g = L2Guest(code: code)
        g.idt = p.l2IDT([0x60: interruptHandler, 13: gpHandler])
        g.overrides = [(.guestRFLAGS, 0x202), (.entryInterruptionInformation, 0x8000_0060)]
        p.enableVMX()
        let afterFirstExit = p.slot()
        let log = p.runL2(g) {
            p.ifExit(number: 1) {
                p.vmread(.entryInterruptionInformation, into: afterFirstExit)
                p.set(.entryInterruptionInformation, 0x8000_0B0D)          // #GP, error code delivered
                p.set(.entryExceptionErrorCode, 0x28)
            }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmcall, .vmcall, .vmcall], "\(exits)")
        guard exits.count == 3 else { return }
        XCTAssertEqual(exits[0][.rbx], 0x60, "the injected interrupt's handler")
        XCTAssertEqual(m[afterFirstExit] >> 31, 0, "the exit cleared the valid bit")
        XCTAssertEqual(exits[1][.rbx], 0xD28, "the injected #GP's handler, error code 28H")
        XCTAssertEqual(exits[0][.idtVectoring] >> 31, 0)
    }
}
