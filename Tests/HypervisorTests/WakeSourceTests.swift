import XCTest
import X86Assembler
@testable import CPU
@testable import Hypervisor
@testable import Platform

/// Deadlock detection (`someVCPUCanWake`): once every vCPU waits, the run ends at once when no
/// pending timer can reach a halted vCPU (masked at the 8259, the I/O APIC or the LVT, below
/// the APIC's priority, RFLAGS.IF = 0 without an NMI route) and goes on when one can; and
/// the run limits (`RunLimits`): exact instruction counts, virtual time with halted time, and
/// an interruption from outside.
final class WakeSourceTests: XCTestCase {
    /// A Multiboot guest in flat 32-bit protected mode with an IDT of 60H gates: `body` runs
    /// first, each handler in `handlers` is entered through its vector's interrupt gate.
    static func guest(_ body: (Assembler) -> Void, handlers: [Int: (Assembler) -> Void] = [:]) -> [UInt8] {
        let (a, load, entry) = VirtualMachineTests.multibootKernel()
        let gdt = a.label(), gdtr = a.label(), idt = a.label(), idtr = a.label(), flush = a.label()
        a.lgdt(mem[gdtr])
        a.jmpFar(selector: 0x08, flush)
        a.bind(flush)
        a.mov(ax, 0x10); a.mov(SegmentRegister.ds, ax); a.mov(SegmentRegister.ss, ax); a.mov(esp, 0x9_0000)
        a.lidt(mem[idtr])
        body(a)
        var entries: [(Int, Label)] = []
        for (vector, emit) in handlers {
            let l = a.label()
            a.bind(l)
            emit(a)
            entries.append((vector, l))
        }
        VirtualMachineTests.emitFlatGDTAndIDT(a, gdt: gdt, gdtr: gdtr, idt: idt, idtr: idtr, gateVector: 0x5F)
        var code = a.assemble()
        // Gates are not present but for the handlers' (and 5FH, which nothing raises).
        for (vector, handler) in entries {
            VirtualMachineTests.patchGate(&code, idt: idt, load: load, vector: vector, handler: handler)
            code[Int(idt.address! - UInt64(load)) + vector * 8 + 2] = 0x08
            code[Int(idt.address! - UInt64(load)) + vector * 8 + 5] = 0x8E   // present 32-bit interrupt gate
        }
        return VirtualMachineTests.elf(code, load: load, entry: entry)
    }

    static func maskThe8259(_ a: Assembler) {
        a.mov(al, 0xFF); a.out(port: 0x21, al); a.out(port: 0xA1, al)
    }

    static func exit(_ a: Assembler, _ value: Int64) {
        a.mov(al, value); a.out(port: 0xF4, al); a.hlt()
    }

    /// The local APIC timer: one-shot, `count` bus clocks divided by 2, LVT = `lvt`.
    static func armAPICTimer(_ a: Assembler, lvt: Int64, count: Int64 = 1000) {
        a.mov(dword[0xFEE0_03E0], 0)          // divide by 2
        a.mov(dword[0xFEE0_0320], lvt)
        a.mov(dword[0xFEE0_0380], count)
    }

    func run(_ image: [UInt8], limits: RunLimits = RunLimits(instructions: 10_000_000)) throws -> (VirtualMachine.Outcome, VirtualMachine) {
        let vm = try VirtualMachine(MachineConfiguration(), board: PCBoardOptions())
        try vm.boot(kernel: image, commandLine: "")
        return (vm.run(limits: limits), vm)
    }

    func testNothingCanWakeAHaltWithInterruptsDisabled() throws {
        // The firmware's PIT keeps ticking on IRQ 0, but with IF = 0 only an NMI or INIT
        // could end the HLT, and nothing is wired to send one.
        let (outcome, vm) = try run(Self.guest { a in a.cli(); a.hlt() })
        XCTAssertEqual(outcome, .deadlock)
        XCTAssertLessThan(vm.clock.nanoseconds, 1_000_000, "reported at once, not after skipping timer periods")
        XCTAssertTrue(vm.deadlockDescription.contains("RFLAGS.IF = 0"), vm.deadlockDescription)
        XCTAssertNotNil(vm.scheduler.nextDeadline, "a PIT event is pending all the same")
    }

    func testATickMaskedAtThe8259AndTheIOAPICWakesNobody() throws {
        let (outcome, vm) = try run(Self.guest { a in Self.maskThe8259(a); a.sti(); a.hlt() })
        XCTAssertEqual(outcome, .deadlock)
        XCTAssertTrue(vm.deadlockDescription.contains("no interrupt source"), vm.deadlockDescription)
    }

    func testTheLocalAPICTimerWakesThroughAnUnmaskedLVTEntry() throws {
        let image = Self.guest({ a in
            Self.maskThe8259(a)
            Self.armAPICTimer(a, lvt: 0x40)
            a.sti(); a.hlt()
            Self.exit(a, 0x33)
        }, handlers: [0x40: { a in Self.exit(a, 0x11) }])
        XCTAssertEqual(try run(image).0, .exited(status: (0x11 << 1) | 1))
    }

    func testAMaskedLVTEntryOrAVectorBelowTheTaskPriorityWakesNobody() throws {
        let masked = Self.guest({ a in
            Self.maskThe8259(a)
            Self.armAPICTimer(a, lvt: 0x1_0040)
            a.sti(); a.hlt()
        }, handlers: [0x40: { a in Self.exit(a, 0x11) }])
        XCTAssertEqual(try run(masked).0, .deadlock)
        // TPR class 5 blocks vector 40H (class 4): it stays in the IRR (SDM Vol. 3A §12.8.3.1).
        let belowPriority = Self.guest({ a in
            Self.maskThe8259(a)
            a.mov(dword[0xFEE0_0080], 0x50)
            Self.armAPICTimer(a, lvt: 0x40)
            a.sti(); a.hlt()
        }, handlers: [0x40: { a in Self.exit(a, 0x11) }])
        XCTAssertEqual(try run(belowPriority).0, .deadlock)
    }

    /// I/O APIC pin 2 (the PIT) as NMI: a tick ends a HLT even with IF = 0; as a fixed
    /// vector it needs IF = 1.
    func testThePITThroughTheIOAPICAsNMIOrFixedVector() throws {
        func routePIT(_ a: Assembler, low: Int64) {
            a.mov(dword[0xFEC0_0000], 0x15); a.mov(dword[0xFEC0_0010], 0)      // destination APIC 0
            a.mov(dword[0xFEC0_0000], 0x14); a.mov(dword[0xFEC0_0010], low)
        }
        let nmi = Self.guest({ a in
            Self.maskThe8259(a); routePIT(a, low: 0x400); a.cli(); a.hlt()
        }, handlers: [2: { a in Self.exit(a, 0x22) }])
        XCTAssertEqual(try run(nmi).0, .exited(status: (0x22 << 1) | 1))
        let fixed = Self.guest({ a in
            Self.maskThe8259(a); routePIT(a, low: 0x50); a.sti(); a.hlt()
        }, handlers: [0x50: { a in Self.exit(a, 0x23) }])
        XCTAssertEqual(try run(fixed).0, .exited(status: (0x23 << 1) | 1))
        let fixedWithIFClear = Self.guest({ a in
            Self.maskThe8259(a); routePIT(a, low: 0x50); a.cli(); a.hlt()
        }, handlers: [0x50: { a in Self.exit(a, 0x23) }])
        XCTAssertEqual(try run(fixedWithIFClear).0, .deadlock)
    }

    func testProfileSamplesAreNotAWakeSource() throws {
        let vm = try VirtualMachine(MachineConfiguration(), board: PCBoardOptions())
        try vm.boot(kernel: Self.guest { a in a.cli(); a.hlt() }, commandLine: "")
        _ = vm.startProfiling(intervalNanoseconds: 10_000)
        XCTAssertEqual(vm.run(instructionLimit: 1_000_000), .deadlock)
    }

    func testInstructionLimitIsExact() throws {
        let spin = Self.guest { a in let l = a.boundLabel(); a.jmp(l) }
        for n: UInt64 in [1, 7, 150_001] {
            let (outcome, vm) = try run(spin, limits: RunLimits(instructions: n))
            XCTAssertEqual(outcome, .instructionLimit)
            XCTAssertEqual(vm.clock.instructionsRetired, n)
        }
    }

    /// An idle guest woken by the PIT (8259 IRQ 0 at the firmware's 18.2 Hz) retires almost
    /// nothing; the time limit stops it in virtual time, most of which is halted time.
    func testTimeLimitCountsHaltedTime() throws {
        let idle = Self.guest({ a in
            a.mov(al, 0xFE); a.out(port: 0x21, al)                  // IRQ 0 only
            let wait = a.boundLabel(); a.sti(); a.hlt(); a.jmp(wait)
        }, handlers: [0x08: { a in a.push(eax); a.mov(al, 0x20); a.out(port: 0x20, al); a.pop(eax); a.iret() }])
        let (outcome, vm) = try run(idle, limits: RunLimits(nanoseconds: 500_000_000))
        XCTAssertEqual(outcome, .timeLimit)
        XCTAssertGreaterThanOrEqual(vm.clock.nanoseconds, 500_000_000)
        XCTAssertLessThan(vm.clock.nanoseconds, 501_000_000)
        XCTAssertGreaterThan(vm.clock.idleNanoseconds, 490_000_000)
        XCTAssertLessThan(vm.clock.instructionsRetired, 1_000)
    }

    func testAnInterruptionFromOutsideEndsTheRun() throws {
        let spin = Self.guest { a in let l = a.boundLabel(); a.jmp(l) }
        let (outcome, vm) = try run(spin, limits: RunLimits(interruption: { 15 }))
        XCTAssertEqual(outcome, .interrupted(signal: 15))
        XCTAssertLessThanOrEqual(vm.clock.instructionsRetired, MachineConfiguration().sliceInstructions, "within one slice")
    }
}
