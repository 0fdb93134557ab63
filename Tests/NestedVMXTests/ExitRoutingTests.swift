import XCTest
import X86Assembler
@testable import CPU

/// Exit routing for instructions: an L2 exit vmcs12 asks for reaches L1 with the exit
/// information the SDM gives it; one vmcs12 does not ask for is L0's to complete (its devices,
/// its MSRs) and never reaches L1 (SDM Vol. 3C §26.1 "Instructions That Cause VM Exits",
/// §28.2 "Recording VM-Exit Information").
final class ExitRoutingTests: XCTestCase {
    /// §26.1.3 "use I/O bitmaps": an I/O instruction exits when the bit of any port it
    /// accesses is set (A: 0000H–7FFFH, B: 8000H–FFFFH) or the access wraps past FFFFH; the
    /// qualification is Table 28-5's (size − 1 in bits 2:0, IN in bit 3, immediate operand
    /// in bit 6, port in bits 31:16). Ports whose bits are clear reach L0's devices: the
    /// UART prints what L2 writes to 3F8H, and L1 never hears of it.
    func testIOBitmapsDecideWhichPortsExitToL1() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let outImmediate = a.label(), inDX = a.label(), straddle = a.label(), wrap = a.label()
        var g = L2Guest(code: p.l2Code {
            a.mov(al, 0x11); a.bind(outImmediate); a.out(port: 0x80, al)
            a.mov(dx, 0xC080); a.bind(inDX); a.in(ax, dx)
            a.mov(dx, 0x3F8); a.mov(al, 0x4C); a.out(dx, al); a.mov(al, 0x32); a.out(dx, al)     // "L2" on COM1
            a.mov(dx, 0x7FFF); a.bind(straddle); a.in(ax, dx)                                   // 7FFFH and 8000H
            a.mov(dx, 0xFFFE); a.bind(wrap); a.out(dx, eax)                                     // FFFEH–0001H
            p.l2Done()
        })
        g.primary = [.useIOBitmaps]
        p.enableVMX()
        p.clearBitmaps()
        p.exitOnPort(0x80); p.exitOnPort(0xC080); p.exitOnPort(0x8000)
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.ioInstruction, .ioInstruction, .ioInstruction, .ioInstruction, .vmcall], "\(exits)")
        guard exits.count == 5 else { return }
        let expected: [(Label, UInt64, UInt64)] = [
            (outImmediate, 0x0080_0040, 2),       // OUT 80H, AL: 1 byte, immediate
            (inDX, 0xC080_0009, 2),               // IN AX, DX: 2 bytes, IN
            (straddle, 0x7FFF_0009, 2),
            (wrap, 0xFFFE_0003, 1),               // OUT DX, EAX: 4 bytes
        ]
        for (e, (at, qualification, length)) in zip(exits, expected) {
            XCTAssertEqual(e.qualification, qualification, "\(e)")
            XCTAssertEqual(e.instructionLength, length, "\(e)")
            XCTAssertEqual(e.guestRIP, at.address!, "\(e)")
        }
        XCTAssertEqual(m.serialOutput, "L2", "the ports L1 let through reached the UART")
        XCTAssertEqual(m.vm.exitTrace.count(.ioInstruction, level: .l2), 6, "every I/O instruction of L2 exits to L0 first")
    }

    /// §26.1.3: "unconditional I/O exiting" without I/O bitmaps makes every I/O instruction
    /// exit; with neither control, none does.
    func testUnconditionalIOExiting() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let code = p.l2Code {
            a.mov(dx, 0x3F8); a.mov(al, 0x41); a.out(dx, al)
            p.l2Done()
        }
        p.enableVMX()
        let logs = p.runL2s([PrimaryProcessorBasedControls.unconditionalIOExiting, []].map { primary in
            var g = L2Guest(code: code)
            g.primary = primary
            return g
        })
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.exits(logs[0]).reasons, [.ioInstruction, .vmcall])
        XCTAssertEqual(m.exits(logs[0]).first?.qualification, 0x03F8_0000, "OUT DX, AL")
        XCTAssertEqual(m.exits(logs[1]).reasons, [.vmcall])
        XCTAssertEqual(m.serialOutput, "A", "only the second guest's OUT reached the UART")
    }

    /// §26.1.3 "use MSR bitmaps": RDMSR/WRMSR exit when the MSR's bit in the read or write
    /// part is set, and always for an MSR outside 00000000H–00001FFFH and C0000000H–C0001FFFH.
    /// The others L0 executes on L2's behalf: RDMSR IA32_FEATURE_CONTROL returns what L1
    /// locked (5), and the WRMSR L1 intercepted (and skipped) never changed the MSR.
    func testMSRBitmapDecidesWhichMSRAccessesExitToL1() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let kernelGSBase: UInt32 = 0xC000_0102
        var g = L2Guest(code: p.l2Code {
            a.mov(ecx, 0x1B); a.rdmsr()                                                  // read bit set
            a.mov(ecx, Int64(L1Program.featureControl)); a.rdmsr(); a.mov(rbx, rax); a.vmcall()
            a.mov(ecx, Int64(kernelGSBase)); a.mov(eax, 0x5678); a.xor(edx, edx); a.wrmsr()  // write bit set
            a.mov(ecx, Int64(kernelGSBase)); a.rdmsr(); a.mov(rbx, rax); a.vmcall()         // read bit clear
            a.mov(ecx, 0x4000_0000); a.rdmsr()                                            // outside the bitmap
            p.l2Done()
        })
        g.primary = [.useMSRBitmaps]
        p.enableVMX()
        p.clearBitmaps()
        p.exitOnMSR(0x1B, write: false)
        p.exitOnMSR(kernelGSBase, write: true)
        a.mov(ecx, Int64(kernelGSBase)); a.mov(eax, 0xABCD); a.xor(edx, edx); a.wrmsr()
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.rdmsr, .vmcall, .wrmsr, .vmcall, .rdmsr, .vmcall], "\(exits)")
        guard exits.count == 6 else { return }
        XCTAssertEqual(exits[0][.rcx], 0x1B)
        XCTAssertEqual(exits[0].instructionLength, 2)
        XCTAssertEqual(exits[1][.rbx], 5, "RDMSR IA32_FEATURE_CONTROL done by L0")
        XCTAssertEqual(exits[2][.rcx], UInt64(kernelGSBase))
        XCTAssertEqual(exits[3][.rbx], 0xABCD, "the intercepted WRMSR did not reach the MSR")
        XCTAssertEqual(exits[4][.rcx], 0x4000_0000)
    }

    /// §26.1.2: CPUID exits unconditionally (exit reason 10, instruction length 2); RDTSC
    /// only with "RDTSC exiting" (§26.1.3).
    func testCPUIDAlwaysExitsAndRDTSCOnlyWhenAskedFor() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, cpuid = a.label()
        let code = p.l2Code {
            a.rdtsc()
            a.xor(eax, eax); a.bind(cpuid); a.cpuid()
            p.l2Done()
        }
        p.enableVMX()
        let logs = p.runL2s([PrimaryProcessorBasedControls(), .rdtscExiting].map { primary in
            var g = L2Guest(code: code)
            g.primary = primary
            return g
        })
        p.finish()
        try m.run(p)
        let plain = m.exits(logs[0]), rdtsc = m.exits(logs[1])
        XCTAssertEqual(plain.reasons, [.cpuid, .vmcall])
        XCTAssertEqual(plain.first?.instructionLength, 2)
        XCTAssertEqual(plain.first?.guestRIP, cpuid.address!)
        XCTAssertEqual(plain.first?[.rax], 0, "L2's EAX at the exit: the leaf")
        XCTAssertEqual(rdtsc.reasons, [.rdtsc, .cpuid, .vmcall])
        XCTAssertEqual(rdtsc.first?.guestRIP, code.address!)
    }

    /// §26.1.3 "HLT exiting": HLT exits to L1 (reason 12, length 1). Without it L2 halts: the
    /// VMX-preemption timer, which counts down in the HLT state (§26.5.1), ends the halt with
    /// exit 52 and the guest activity state HLT (1) saved (§28.3.4); L1 makes L2 active and it
    /// continues after its HLT.
    func testHLTExitsOnlyWithHLTExitingAndOtherwiseHaltsL2() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, hlt = a.label(), after = a.label()
        let code = p.l2Code {
            a.bind(hlt); a.hlt()
            a.bind(after)
            p.l2Done()
        }
        p.enableVMX()
        var exiting = L2Guest(code: code)
        exiting.primary = [.hltExiting]
        var halting = L2Guest(code: code)
        halting.pin = [.activateVMXPreemptionTimer]
        halting.preemptionTimer = 1000
        let logs = p.runL2s([exiting, halting]) {
            p.ifExitReason(.preemptionTimer) { p.set(.guestActivityState, 0) }
        }
        p.finish()
        try m.run(p)
        let withExiting = m.exits(logs[0]), without = m.exits(logs[1])
        XCTAssertEqual(withExiting.reasons, [.hlt, .vmcall])
        XCTAssertEqual(withExiting.first?.instructionLength, 1)
        XCTAssertEqual(withExiting.first?.guestRIP, hlt.address!)
        XCTAssertEqual(without.reasons, [.preemptionTimer, .vmcall], "\(without)")
        XCTAssertEqual(without.first?[.activityState], UInt64(ActivityState.hlt.rawValue))
        XCTAssertEqual(without.first?.guestRIP, after.address!, "HLT completed; L2 waits after it")
    }

    /// §26.1.2: every VMX instruction L2 executes exits to L1 unconditionally (VMXON 27,
    /// VMREAD 23, VMPTRST 22, INVEPT 50, VMLAUNCH 20), with the VMREAD's instruction
    /// information (Table 28-14: register operand bit 10, reg1 bits 6:3, reg2 bits 31:28); none
    /// of them touches L1's own VMX state.
    func testVMXInstructionsInL2AlwaysExitToL1() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let code = p.l2Code {
            a.vmxon(qword[Int64(p.area.operands)])
            a.mov(ebx, Int64(VMCSField.exitReason.encoding)); a.vmread(rax, rbx)
            a.vmptrst(qword[Int64(p.area.operands)])
            a.mov(eax, 2); a.invept(rax, oword[Int64(p.area.operands)])
            a.vmlaunch()
            p.l2Done()
        }
        p.enableVMX()
        let log = p.runL2(L2Guest(code: code))
        let current = p.slot()
        p.vmptrst(into: current)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmxon, .vmread, .vmptrst, .invept, .vmlaunch, .vmcall], "\(exits)")
        guard exits.count == 6 else { return }
        XCTAssertEqual(exits[1][.instructionInformation] & 0xF000_0478, 0x3000_0400, "VMREAD RAX, RBX")
        XCTAssertEqual(m[current], p.area.vmcs(0))
    }

    /// §25.6.6, §26.1.3, Table 28-3: with CR0.TS in vmcs12's CR0 guest/host mask, L2 reads TS
    /// from the read shadow; a MOV to CR0 exits (reason 28, qualification: CR0, MOV to CR,
    /// register RCX in bits 11:8) only when it would change TS from the shadow's value.
    func testCR0GuestHostMaskAndReadShadow() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, toCR0 = a.label()
        let code = p.l2Code {
            a.mov(rbx, cr0); a.vmcall()                                   // TS as the shadow has it
            a.mov(rcx, rbx); a.mov(cr0, rcx)                              // TS unchanged: no exit
            a.or(rcx, 8); a.bind(toCR0); a.mov(cr0, rcx)                  // TS 0 → 1: exit
            p.l2Done()
        }
        var g = L2Guest(code: code)
        g.overrides = [(.cr0GuestHostMask, 8), (.cr0ReadShadow, 0)]
        p.enableVMX()
        p.makeCurrent(p.area.vmcs(0))
        p.setUpVMCS(g)
        a.mov(rax, cr0); a.or(rax, 8); p.set(.guestCR0, from: rax)       // L2 really runs with TS = 1
        let log = p.exitLog()
        p.runGuest(log)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmcall, .crAccess, .vmcall], "\(exits)")
        guard exits.count == 3 else { return }
        XCTAssertEqual(exits[0][.rbx] & 8, 0, "MOV from CR0 reads TS from the shadow")
        XCTAssertEqual(exits[1].qualification, 0x100)
        XCTAssertEqual(exits[1].guestRIP, toCR0.address!)
        XCTAssertEqual(exits[1].instructionLength, 3)
    }

    /// §26.1.3: without "use MSR bitmaps" every RDMSR and WRMSR of L2 exits to L1.
    func testWithoutMSRBitmapsEveryMSRAccessExits() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let code = p.l2Code {
            a.mov(ecx, Int64(L1Program.featureControl)); a.rdmsr()
            p.l2Done()
        }
        p.enableVMX()
        let log = p.runL2(L2Guest(code: code))
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.exits(log).reasons, [.rdmsr, .vmcall])
    }

    /// §25.6.7, §26.1.3: with "CR3-load exiting" a MOV to CR3 exits (reason 28, Table 28-3:
    /// CR3 in bits 3:0, register in 11:8) unless the value is one of the CR3-target values.
    func testCR3LoadExitingSparesTheCR3TargetValues() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, exiting = a.label(), other = L1Layout.pml4 + 0x1000
        let code = p.l2Code {
            a.mov(rax, cr3); a.mov(cr3, rax)                              // target 0: no exit
            a.mov(rdx, Int64(other)); a.bind(exiting); a.mov(cr3, rdx)    // not a target: exits
            p.l2Done()
        }
        var g = L2Guest(code: code)
        g.primary = [.cr3LoadExiting]
        g.overrides = [(.cr3TargetCount, 1), (.cr3Target0, L1Layout.pml4)]
        p.enableVMX()
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.crAccess, .vmcall], "\(exits)")
        XCTAssertEqual(exits.first?.qualification, 0x203, "MOV to CR3 from RDX")
        XCTAssertEqual(exits.first?.guestRIP, exiting.address!)
    }

    /// §25.6.5, §26.3 (RDTSC): with "use TSC offsetting" L2 reads L1's TSC plus vmcs12's TSC
    /// offset; without the control the offset field is ignored.
    func testTSCOffsettingAddsVMCS12sOffset() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, offset: UInt64 = 1 << 40
        let code = p.l2Code {
            a.rdtsc(); a.shl(rdx, 32); a.or(rax, rdx); a.mov(rbx, rax)
            p.l2Done()
        }
        p.enableVMX()
        var samples: [(before: Slot, log: ExitLog, after: Slot)] = []
        for (k, offsetting) in [true, false].enumerated() {
            var g = L2Guest(code: code)
            if offsetting { g.primary = [.useTSCOffsetting] }
            let before = p.slot(), after = p.slot()
            a.rdtsc(); a.shl(rdx, 32); a.or(rax, rdx); p.record(before, from: rax)
            p.makeCurrent(p.area.vmcs(k))
            p.setUpVMCS(g)
            p.set(.tscOffset, offset)
            let log = p.exitLog()
            p.runGuest(log)
            a.rdtsc(); a.shl(rdx, 32); a.or(rax, rdx); p.record(after, from: rax)
            samples.append((before, log, after))
        }
        p.finish()
        try m.run(p)
        for (s, offsetting) in zip(samples, [true, false]) {
            let l2 = try XCTUnwrap(m.exits(s.log).last?[.rbx]), add = offsetting ? offset : 0
            XCTAssertGreaterThan(l2, m[s.before] + add, "offsetting: \(offsetting)")
            XCTAssertLessThan(l2, m[s.after] + add, "offsetting: \(offsetting)")
        }
    }

    /// SDM Vol. 3C §24.8: in VMX operation MOV to CR0/CR4 may not clear a bit IA32_VMX_CR0_FIXED0
    /// or IA32_VMX_CR4_FIXED0 fixes at 1 — #GP(0) — also in VMX non-root operation for a bit the
    /// guest owns (vmcs12's guest/host masks are 0 here). L2 tries CR4.VMXE and CR0.NE; the
    /// #GP exits through vmcs12's exception bitmap. (Found by the hostile-L1 fuzz: the write
    /// went through and L0's next entry of VMCS02 failed the CR0/CR4 checks.)
    func testL2CannotClearFixedCR0OrCR4Bits() throws {
        for (isCR4, bit) in [(true, 13), (false, 5)] {
            let m = try NestedMachine(), p = m.program()
            let a = p.a, cr = isCR4 ? cr4 : cr0
            let code = p.l2Code {
                a.mov(rax, cr); a.and(rax, Int64(~(1 << bit))); a.mov(cr, rax)
                p.l2Done()
            }
            p.enableVMX()
            var g = L2Guest(code: code)
            g.exceptionBitmap = 1 << 13
            let log = p.runL2(g)
            p.finish()
            try m.run(p)
            let exits = m.exits(log)
            XCTAssertEqual(exits.reasons.first, .exceptionOrNMI, "CR\(isCR4 ? 4 : 0) bit \(bit): \(exits)")
            XCTAssertEqual(exits.first?.interruptionInformation, 0x8000_0B0D, "#GP(0)")
        }
    }
}
