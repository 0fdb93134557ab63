import XCTest
import X86Assembler
@testable import CPU

/// VMCS02 is brought up to date at each virtual VM entry rather than rebuilt: only the vmcs12
/// fields L1 changed and the VMCS02 fields L2's run changed are copied again. Whatever L1
/// writes between two VMRESUMEs must still take effect at the next entry, and whatever a VM
/// entry loads from vmcs12 must be loaded again even when L1 wrote nothing (SDM Vol. 3C §27.3.2,
/// §25.5.1).
final class VMCS02UpdateTests: XCTestCase {
    /// Between two VMRESUMEs L1 writes a copied control (CR0 read shadow), a recomputed one
    /// ("RDTSC exiting" on, later off again) and guest RSP: each takes effect at the next entry.
    /// L2 sets DR7 bit 8 in between; vmcs12's exit does not save debug controls, so the next
    /// entry loads vmcs12's DR7 (0x400) again (§27.3.2.1, "load debug controls").
    func testVMCS12WritesBetweenResumesTakeEffect() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, newRSP = p.area.l2StackTop(0) - 0x100
        let code = p.l2Code {
            a.mov(rbx, cr0); a.mov(rcx, dr7); a.vmcall()                  // exit 1: L1 writes
            a.mov(rax, dr7); a.or(rax, 0x100); a.mov(dr7, rax)
            a.rdtsc()                                                     // exit 2: RDTSC exiting
            a.mov(rbx, cr0); a.mov(rcx, dr7); a.vmcall()                  // exit 3: L1 clears it
            a.rdtsc()                                                     // no exit
            p.l2Done()                                                    // exit 4
        }
        var g = L2Guest(code: code)
        g.entry = [.loadDebugControls]
        g.overrides = [(.cr0GuestHostMask, 8), (.cr0ReadShadow, 0)]
        p.enableVMX()
        let rdtscExiting = PrimaryProcessorBasedControls.rdtscExiting.rawValue
        let log = p.runL2(g) {
            p.ifExit(number: 1) {
                p.set(.cr0ReadShadow, 8)
                p.set(.guestRSP, newRSP)
                p.vmread(.primaryProcessorBasedControls); a.or(eax, Int64(rdtscExiting))
                p.set(.primaryProcessorBasedControls, from: rax)
            }
            p.ifExit(number: 3) {
                p.vmread(.primaryProcessorBasedControls); a.and(eax, Int64(Int32(bitPattern: ~rdtscExiting)))
                p.set(.primaryProcessorBasedControls, from: rax)
            }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmcall, .rdtsc, .vmcall, .vmcall], "\(exits)")
        guard exits.count == 4 else { return }
        XCTAssertEqual(exits[0][.rbx] & 8, 0, "TS from the first read shadow")
        XCTAssertEqual(exits[2][.rbx] & 8, 8, "TS from the read shadow L1 wrote after exit 1")
        XCTAssertEqual(exits[1][.guestRSP], newRSP, "guest RSP L1 wrote after exit 1")
        XCTAssertEqual(exits[0][.rcx], 0x400)
        XCTAssertEqual(exits[2][.rcx], 0x400, "DR7 is vmcs12's again after L2 set bit 8")
    }

    /// §25.5.1: without "save VMX-preemption timer value" every VM entry starts the timer from
    /// vmcs12's field, which keeps what L1 wrote. L2 runs four stretches of about half the
    /// timer's ticks each, one VMRESUME apart: the timer never expires (a VMCS02 that kept the
    /// count down from the previous run would expire in the second or third).
    func testUnsavedPreemptionTimerRestartsFromVMCS12AtEveryEntry() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, ticks: UInt32 = 100, stretches = 4
        // 2 TSC cycles an instruction, 2 instructions a round, 2^X TSC cycles a tick.
        let x = VMXCapabilities().misc & 0x1F
        let rounds = Int64((UInt64(ticks / 2) << x) / 4)
        let code = p.l2Code {
            for _ in 0..<stretches {
                let loop = a.label()
                a.mov(ecx, rounds)
                a.bind(loop); a.dec(ecx); a.jnz(loop)
                a.vmcall()
            }
            p.l2Done()
        }
        var g = L2Guest(code: code)
        g.pin = [.activateVMXPreemptionTimer]
        g.preemptionTimer = ticks
        p.enableVMX()
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [ExitReason?](repeating: .vmcall, count: stretches + 1), "\(exits)")
        for e in exits { XCTAssertEqual(e[.preemptionTimer], UInt64(ticks), "vmcs12's value is not saved over") }
    }
}
