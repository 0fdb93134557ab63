import XCTest
import X86Assembler
@testable import CPU
@testable import Hypervisor
@testable import Platform

/// The VM end to end: a Multiboot guest built here boots, prints on COM1, takes PIT interrupts
/// through the 8259 and exits through isa-debug-exit; runs are deterministic.
final class VirtualMachineTests: XCTestCase {
    /// An assembler for a Multiboot ELF32 kernel loaded at 1 MiB, with the Multiboot header
    /// (page-aligned modules, memory information) emitted; code continues at `entry`.
    static func multibootKernel() -> (Assembler, load: UInt32, entry: UInt32) {
        let load: UInt32 = 0x10_0000
        let a = Assembler(mode: .bits32, origin: UInt64(load))
        let magic: UInt32 = 0x1BAD_B002, flags: UInt32 = 3
        a.dd(magic); a.dd(flags); a.dd(0 &- (magic &+ flags))
        return (a, load, UInt32(a.here))
    }

    /// A Multiboot ELF32 kernel: 32-bit code that programs the PIC and PIT, waits for three
    /// timer interrupts with HLT, prints "tick" per interrupt and exits with status 0x21.
    static func guest() -> [UInt8] {
        let (a, load, entry) = VirtualMachineTests.multibootKernel()
        let idt = a.label(), idtr = a.label(), handler = a.label(), wait = a.label(), count = a.label()
        let gdt = a.label(), gdtr = a.label(), flush = a.label()
        // Multiboot leaves GDTR undefined (§3.2): load our own flat GDT first.
        a.lgdt(mem[gdtr])
        a.jmpFar(selector: 0x08, flush)
        a.bind(flush)
        a.mov(ax, 0x10); a.mov(SegmentRegister.ds, ax); a.mov(SegmentRegister.ss, ax); a.mov(esp, 0x9_0000)
        a.lidt(mem[idtr])
        // PIC: ICW1–4, vector base 0x20, unmask IRQ 0 only.
        for (p, v) in [(0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), (0x21, 0xFE)] {
            a.mov(al, Int64(v)); a.out(port: UInt8(p), al)
        }
        // PIT channel 0: mode 2, count 11932 (≈ 10 ms).
        a.mov(al, 0x34); a.out(port: 0x43, al)
        a.mov(al, Int64(11932 & 0xFF)); a.out(port: 0x40, al)
        a.mov(al, Int64(11932 >> 8)); a.out(port: 0x40, al)
        a.sti()
        a.bind(wait)
        a.hlt()
        a.cmp(dword[count], 3)
        a.j(.b, wait)
        a.mov(al, 0x21); a.out(port: 0xF4, al)
        a.hlt()
        // IRQ 0 handler: print "tick\n", EOI, count.
        a.bind(handler)
        a.push(eax); a.push(edx)
        a.mov(dx, 0x3F8)
        for ch in "tick\n".utf8 { a.mov(al, Int64(ch)); a.out(dx, al) }
        a.mov(al, 0x20); a.out(port: 0x20, al)
        a.inc(dword[count])
        a.pop(edx); a.pop(eax)
        a.iret()
        // 0x21 gates; only 0x20 (IRQ 0) is filled in below.
        emitFlatGDTAndIDT(a, gdt: gdt, gdtr: gdtr, idt: idt, idtr: idtr, gateVector: 0x20)
        a.bind(count)
        a.dd(0)
        var code = a.assemble()
        patchGate(&code, idt: idt, load: load, vector: 0x20, handler: handler)
        return Self.elf(code, load: load, entry: entry)
    }

    /// A flat GDT (null, 32-bit code 0x08, data 0x10) and an IDT of `gateVector + 1` gates
    /// whose last one is a present 32-bit interrupt gate (`patchGate` sets its offset).
    static func emitFlatGDTAndIDT(_ a: Assembler, gdt: Label, gdtr: Label, idt: Label, idtr: Label, gateVector: Int) {
        a.align(8, fill: 0)
        a.bind(gdt)
        a.dq(0)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xC)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x92, flags: 0xC)
        a.bind(gdtr)
        a.dw(3 * 8 - 1); a.dd(gdt)
        a.align(8, fill: 0)
        a.bind(idt)
        a.zeros(gateVector * 8)
        a.dw(0); a.dw(0x08); a.db(0, 0x8E); a.dw(0)
        a.bind(idtr)
        a.dw(UInt16((gateVector + 1) * 8 - 1)); a.dd(idt)
    }

    /// Writes `handler`'s address into IDT gate `vector` of the assembled image.
    static func patchGate(_ code: inout [UInt8], idt: Label, load: UInt32, vector: Int, handler: Label) {
        let h = UInt32(handler.address!)
        let gate = Int(idt.address! - UInt64(load)) + vector * 8
        code[gate] = UInt8(h & 0xFF); code[gate + 1] = UInt8((h >> 8) & 0xFF)
        code[gate + 6] = UInt8((h >> 16) & 0xFF); code[gate + 7] = UInt8(h >> 24)
    }

    /// A minimal ELF32 executable with one PT_LOAD segment.
    static func elf(_ seg: [UInt8], load: UInt32, entry: UInt32) -> [UInt8] {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var out: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += le16(2) + le16(3) + le32(1) + le32(entry) + le32(52) + le32(0) + le32(0)
        out += le16(52) + le16(32) + le16(1) + le16(40) + le16(0) + le16(0)
        out += le32(1) + le32(0x100) + le32(load) + le32(load) + le32(UInt32(seg.count)) + le32(UInt32(seg.count)) + le32(7) + le32(4)
        out += [UInt8](repeating: 0, count: 0x100 - out.count)
        return out + seg
    }

    func runGuest() throws -> (output: String, outcome: VirtualMachine.Outcome, instructions: UInt64, ns: UInt64) {
        var out: [UInt8] = []
        var options = PCBoardOptions()
        options.serialOutput = { out.append($0) }
        let vm = try VirtualMachine(MachineConfiguration(), board: options)
        try vm.boot(kernel: Self.guest(), commandLine: "test")
        let outcome = vm.run(instructionLimit: 50_000_000)
        return (String(decoding: out, as: UTF8.self), outcome, vm.clock.instructionsRetired, vm.clock.nanoseconds)
    }

    func testTimerInterruptsThroughThePICAndDebugExit() throws {
        let r = try runGuest()
        XCTAssertEqual(r.output, "tick\ntick\ntick\n")
        XCTAssertEqual(r.outcome, .exited(status: (0x21 << 1) | 1))
        // Three PIT periods of 11932 / 1.193182 MHz ≈ 10 ms each passed in virtual time.
        XCTAssertGreaterThan(r.ns, 29_000_000)
        XCTAssertLessThan(r.ns, 31_000_000)
    }

    func testRunsAreDeterministic() throws {
        let a = try runGuest(), b = try runGuest()
        XCTAssertEqual(a.output, b.output)
        XCTAssertEqual(a.instructions, b.instructions)
        XCTAssertEqual(a.ns, b.ns)
    }

    /// ACPI S3 round trip (ACPI 6.4 §16.1.3, §16.3): a Multiboot guest puts a real-mode
    /// resume stub at 1000H and its address in the FACS waking vector, arms the RTC alarm
    /// (every second, AIE) and RTC_EN, and sleeps with SLP_TYP 1. Nothing after the sleep
    /// write may run (it would exit with 33H); the stub exits with 5AH once the alarm wakes
    /// the machine, in real mode at 0100:0000.
    static func suspendGuest(wakeOnRTC: Bool = true) -> [UInt8] {
        let (a, load, entry) = VirtualMachineTests.multibootKernel()
        let stub: [UInt8] = [0xB0, 0x5A, 0xE6, 0xF4, 0xF4]          // mov al, 5AH; out F4H, al; hlt
        for (k, b) in stub.enumerated() { a.mov(byte[Int64(0x1000 + k)], Int64(b)) }
        a.mov(dword[Int64(ACPITables.facsAddress() + ACPITables.FACS.firmwareWakingVector)], 0x1000)
        for (r, v) in [(0x01, 0xC0), (0x03, 0xC0), (0x05, 0xC0), (0x0B, 0x22)] {   // alarm: any time; AIE
            a.mov(al, Int64(r)); a.out(port: 0x70, al); a.mov(al, Int64(v)); a.out(port: 0x71, al)
        }
        if wakeOnRTC { a.mov(dx, 0x602); a.mov(ax, 0x400); a.out(dx, ax) }   // PM1_EN.RTC_EN
        a.mov(dx, 0x604); a.mov(ax, 0x2400); a.out(dx, ax)            // PM1_CNT: SLP_TYP 1, SLP_EN
        a.mov(al, 0x33); a.out(port: 0xF4, al)
        a.hlt()
        return Self.elf(a.assemble(), load: load, entry: entry)
    }

    func testS3SuspendsUntilTheRTCAlarmAndResumesAtTheWakingVector() throws {
        let vm = try VirtualMachine(MachineConfiguration(), board: PCBoardOptions())
        try vm.boot(kernel: Self.suspendGuest(), commandLine: "")
        XCTAssertEqual(vm.run(instructionLimit: 1_000_000), .exited(status: (0x5A << 1) | 1))
        XCTAssertEqual(vm.s3Resumes, 1)
        XCTAssertEqual(vm.resets, 0)
        let bsp = vm.vcpus[0].processor
        XCTAssertEqual(bsp.segment(.cs).selector, 0x100)
        XCTAssertEqual(bsp.executionMode, .real)
        XCTAssertGreaterThanOrEqual(vm.clock.nanoseconds, 1_000_000_000, "slept until the next second")
        XCTAssertEqual(vm.board.acpiPM.ioRead(port: 0x600, size: 2) & 0x8400, 0x8400, "WAK_STS, RTC_STS")
    }

    func testS3WithoutAWakeEventSleepsForever() throws {
        let vm = try VirtualMachine(MachineConfiguration(), board: PCBoardOptions())
        try vm.boot(kernel: Self.suspendGuest(wakeOnRTC: false), commandLine: "")
        XCTAssertEqual(vm.run(instructionLimit: 1_000_000), .deadlock, "RTC_EN clear: the alarm does not wake")
        XCTAssertTrue(vm.sleeping)
        XCTAssertEqual(vm.s3Resumes, 0)
        XCTAssertEqual(vm.board.acpiPM.ioRead(port: 0x600, size: 2) & 0x8000, 0, "no WAK_STS")
        XCTAssertLessThan(vm.clock.nanoseconds, 1_000_000_000, "reported at once, not after skipping time")
    }

    /// ACPI S5 (ACPI 6.4 §16.1.5): PM1_CNT with SLP_TYP 0 and SLP_EN powers the machine off;
    /// the instruction after the write (an exit with 33H) must not run.
    func testS5PowersOffAtTheSleepEnableWrite() throws {
        let (a, load, entry) = VirtualMachineTests.multibootKernel()
        a.mov(dx, 0x604); a.mov(ax, 0x0001); a.out(dx, ax)            // SCI_EN only: keeps running
        a.mov(ax, 0x2000); a.out(dx, ax)                              // SLP_TYP 0 (\_S5), SLP_EN
        a.mov(al, 0x33); a.out(port: 0xF4, al)
        a.hlt()
        let vm = try VirtualMachine(MachineConfiguration(), board: PCBoardOptions())
        try vm.boot(kernel: Self.elf(a.assemble(), load: load, entry: entry), commandLine: "")
        XCTAssertEqual(vm.run(instructionLimit: 1_000_000), .poweredOff)
        XCTAssertTrue(vm.poweredOff)
        XCTAssertFalse(vm.sleeping)
        XCTAssertEqual(vm.run(instructionLimit: 1_000_000), .poweredOff, "stays off")
    }

    /// `startProfiling`: a guest spins 1 M iterations in one loop, then 3 M in another, then
    /// exits; the samples split 1 : 3 between the loops' address ranges. The timer guest's
    /// 30 ms of HLT are idle samples.
    func testProfilingSamplesWhereVirtualTimeGoes() throws {
        let (a, load, entry) = VirtualMachineTests.multibootKernel()
        let first = a.label(), second = a.label()
        a.mov(ecx, 1_000_000)
        let firstStart = a.here
        a.bind(first); a.dec(ecx); a.j(.ne, first)
        let firstEnd = a.here
        a.mov(ecx, 3_000_000)
        let secondStart = a.here
        a.bind(second); a.dec(ecx); a.j(.ne, second)
        let secondEnd = a.here
        a.mov(al, 0); a.out(port: 0xF4, al)
        let vm = try VirtualMachine(MachineConfiguration(), board: PCBoardOptions())
        try vm.boot(kernel: Self.elf(a.assemble(), load: load, entry: entry), commandLine: "")
        let p = vm.startProfiling(intervalNanoseconds: 10_000)
        XCTAssertEqual(vm.run(instructionLimit: 50_000_000), .exited(status: 1))
        func samples(_ r: Range<UInt64>) -> Int { p.byAddress(.l1).filter { r.contains($0.key) }.reduce(0) { $0 + $1.value } }
        let one = samples(firstStart..<firstEnd), three = samples(secondStart..<secondEnd)
        XCTAssertEqual(p.idle, 0)
        XCTAssertEqual(p.samples(.l2), 0, "no nested guest")
        XCTAssertEqual(one + three, p.total, "every sample is in one of the loops")
        XCTAssertEqual(Double(p.total), Double(vm.clock.nanoseconds) / 10_000, accuracy: 1, "one sample per 10 µs")
        XCTAssertEqual(Double(three) / Double(one), 3, accuracy: 0.1)

        let timer = try VirtualMachine(MachineConfiguration(), board: PCBoardOptions())
        try timer.boot(kernel: Self.guest(), commandLine: "")
        let q = timer.startProfiling(intervalNanoseconds: 100_000)
        XCTAssertEqual(timer.run(instructionLimit: 50_000_000), .exited(status: (0x21 << 1) | 1))
        XCTAssertGreaterThan(q.idle, 280, "three 10 ms PIT periods spent in HLT")
        XCTAssertLessThanOrEqual(q.idle, q.total)
    }

    func testBadImagesAndConfigurationsGivePreciseErrors() throws {
        let vm = try VirtualMachine(MachineConfiguration())
        XCTAssertThrowsError(try vm.boot(kernel: [1, 2, 3])) { XCTAssertEqual($0 as? LoaderError, .unknownFormat) }
        var truncated = Self.guest()
        truncated.removeLast(truncated.count - 0x120)
        XCTAssertThrowsError(try vm.boot(kernel: truncated)) { e in
            guard case .truncated = e as? LoaderError else { return XCTFail("\(e)") }
        }
        var config = MachineConfiguration()
        config.memoryBytes = 100 << 30
        XCTAssertThrowsError(try VirtualMachine(config)) {
            XCTAssertEqual($0 as? MachineConfiguration.Error, .memoryOutOfRange(100 << 30))
        }
        config = MachineConfiguration()
        config.cpuCount = 0
        XCTAssertThrowsError(try VirtualMachine(config))
    }
}
