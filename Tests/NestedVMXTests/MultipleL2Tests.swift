import XCTest
import X86Assembler
@testable import CPU

/// More than one L2: two vmcs12s alternating on one virtual processor (VMPTRLD switches the
/// current VMCS, §25.11.1; each VMCS keeps its guest's state, §28.3), and two virtual
/// processors each running an L2 at the same time (SDM Vol. 3C §25.11.1: a VMCS is active
/// on one processor; each processor has its own VMX operation).
final class MultipleL2Tests: XCTestCase {
    static let rounds = 3

    /// Two L2s — one under EPT12 with VPID 1, one without EPT with VPID 2 — each count on
    /// their own stack and read the same L2-physical address, which EPT12 maps elsewhere for
    /// the first only. L1 alternates VMPTRLD A / enter / VMPTRLD B / enter; every exit shows
    /// the count and the data of the right guest, and the RIP, RSP and launch state of each
    /// VMCS stay its own.
    func testTwoL2sAlternateOnOneVCPUEachWithItsOwnState() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, area = p.area, shared = L1Program.lazyAddress(2)
        func guest(start: Int64) -> Label {
            p.l2Code {
                let loop = a.label()
                a.push(start)
                a.bind(loop)
                a.inc(qword[rsp]); a.mov(rbx, qword[rsp])
                a.mov(rcx, Int64(shared)); a.mov(rdx, qword[rcx])
                a.vmcall()
                a.jmp(loop)
            }
        }
        p.enableVMX()
        p.buildEPT12()
        p.mapLazyPage(2, to: NestedEPTTests.target(6))
        p.store(NestedEPTTests.target(6), 0x6666)              // what A sees at `shared`
        p.store(shared, 0x7777)                                // what B sees (no EPT: L1's page)
        var first = L2Guest(code: guest(start: 0xA000))
        first.eptPointer = p.ept12Pointer(); first.vpid = 1; first.stack = 0
        var second = L2Guest(code: guest(start: 0xB000))
        second.vpid = 2; second.stack = 1
        let vmcsA = area.vmcs(0), vmcsB = area.vmcs(1)
        p.makeCurrent(vmcsA); p.setUpVMCS(first)
        p.makeCurrent(vmcsB); p.setUpVMCS(second)
        var observed: [(vmcs: UInt64, entry: EntryRecord, reason: Slot, rbx: Slot, rdx: Slot, current: Slot)] = []
        for round in 0..<Self.rounds {
            for vmcs in [vmcsA, vmcsB] {
                p.vmptrld(vmcs)
                let entry = p.enter(launch: round == 0)
                let reason = p.slot(), rbxSlot = p.slot(), rdxSlot = p.slot(), current = p.slot()
                p.record(rbxSlot, from: rbx); p.record(rdxSlot, from: rdx)
                p.vmread(.exitReason, into: reason)
                p.vmptrst(into: current)
                p.advanceGuestRIP()
                observed.append((vmcs, entry, reason, rbxSlot, rdxSlot, current))
            }
        }
        let rspA = p.slot(), rspB = p.slot()
        p.vmptrld(vmcsA); p.vmread(.guestRSP, into: rspA)
        p.vmptrld(vmcsB); p.vmread(.guestRSP, into: rspB)
        let relaunchB = p.enter(launch: true)
        p.finish()
        try m.run(p)
        for (k, o) in observed.enumerated() {
            let isA = o.vmcs == vmcsA, round = UInt64(k / 2 + 1)
            XCTAssertNil(m.entry(o.entry), "entry \(k)")
            XCTAssertEqual(m[o.reason], UInt64(ExitReason.vmcall.rawValue), "entry \(k)")
            XCTAssertEqual(m[o.rbx], (isA ? 0xA000 : 0xB000) + round, "entry \(k): the count on this guest's stack")
            XCTAssertEqual(m[o.rdx], isA ? 0x6666 : 0x7777, "entry \(k): through EPT12 for A only")
            XCTAssertEqual(m[o.current], o.vmcs, "entry \(k): VMPTRST")
        }
        XCTAssertEqual(m[rspA], area.l2StackTop(0) - 8)
        XCTAssertEqual(m[rspB], area.l2StackTop(1) - 8)
        XCTAssertEqual(m.entry(relaunchB), .failValid(.vmlaunchNonClearVMCS), "B is launched")
        XCTAssertEqual(m.vm.vcpus[0].vmx?.virtualEntries, UInt64(2 * Self.rounds))
    }

    /// `--smp 2`: the BSP starts the AP with INIT-SIPI-SIPI; each processor enters VMX
    /// operation with its own VMXON region, VMCS and EPT12 and runs an L2 that makes 20 CPUID
    /// exits, which L1 answers with its own CPUID (so L2 learns the APIC ID of the processor
    /// it runs on). Both logs are complete and each L2 saw its own processor.
    func testTwoVCPUsEachRunAnL2() throws {
        let m = try NestedMachine(cpus: 2), p = m.program()
        let a = p.a, iterations = 20
        let code = p.l2Code {
            let loop = a.label()
            a.mov(r12d, Int64(iterations))
            a.bind(loop)
            a.mov(eax, 1); a.cpuid()
            a.dec(r12d); a.jnz(loop)
            a.shr(ebx, 24)
            p.l2Done()
        }
        /// One processor's part: VMX on, EPT12, a VMCS, the L2 until it is done.
        func runL2() -> ExitLog {
            p.enableVMX()
            p.buildEPT12()
            var g = L2Guest(code: code)
            g.eptPointer = p.ept12Pointer()
            g.vpid = 1
            p.makeCurrent(p.area.vmcs(0))
            p.setUpVMCS(g)
            let log = p.exitLog(capacity: iterations + 4)
            p.runGuest(log) {
                p.ifExitReason(.cpuid) {            // answer with L1's own CPUID
                    let gprs = p.area.savedGPRs
                    a.mov(rax, qword[Int64(gprs)]); a.mov(rcx, qword[Int64(gprs + 8)]); a.cpuid()
                    a.mov(qword[Int64(gprs)], rax); a.mov(qword[Int64(gprs + 8)], rcx)
                    a.mov(qword[Int64(gprs + 16)], rdx); a.mov(qword[Int64(gprs + 24)], rbx)
                }
            }
            return log
        }
        var apLog: ExitLog?
        p.apMain { apLog = runL2() }
        p.startAP()
        let bspLog = runL2()
        p.waitForAP()
        p.finish()
        try m.run(p)
        for (cpu, log) in [(0, bspLog), (1, apLog!)] {
            let exits = m.exits(log)
            XCTAssertEqual(exits.count, iterations + 1, "processor \(cpu): \(exits)")
            XCTAssertEqual(exits.filter { $0.reason == .cpuid }.count, iterations, "processor \(cpu)")
            XCTAssertEqual(exits.last?.reason, .vmcall)
            XCTAssertEqual(exits.last?[.rbx], UInt64(cpu), "processor \(cpu): L2 saw its processor's APIC ID")
            XCTAssertEqual(m.vm.vcpus[cpu].vmx?.virtualEntries, UInt64(iterations + 1), "processor \(cpu)")
        }
        XCTAssertEqual(m[L1Program.Globals.apStarted], 1)
    }
}
