import XCTest
import X86Assembler
@testable import CPU
@testable import Hypervisor
@testable import Platform
import Tracing

/// L1 runs in VMX non-root operation under the VMCS01 L0 builds: its sensitive instructions
/// reach L0 as VM exits (SDM Vol. 3C ch. 26), its memory is EPT01, device windows are EPT
/// violations L0 emulates, and the CR0/CR4 bits VMX operation fixes are hidden by read shadows.
final class L1UnderVMCS01Tests: XCTestCase {
    static let ramTop: UInt64 = 128 << 20

    /// A Multiboot guest that checks what L1 sees and exits with 0x21 when every check
    /// passes, or 0x40 + the number of the first failing check.
    static func guest() -> [UInt8] {
        let (a, load, entry) = VirtualMachineTests.multibootKernel()
        let gdt = a.label(), gdtr = a.label(), flush = a.label(), idt = a.label(), idtr = a.label()
        let gpHandler = a.label(), gpCount = a.label(), message = a.label(), fail = a.label()
        a.lgdt(mem[gdtr])
        a.jmpFar(selector: 0x08, flush)
        a.bind(flush)
        a.mov(ax, 0x10); a.mov(SegmentRegister.ds, ax); a.mov(SegmentRegister.es, ax)
        a.mov(SegmentRegister.ss, ax); a.mov(esp, 0x9_0000)
        a.lidt(mem[idtr])
        var check: Int64 = 0
        func expect(_ cc: Condition) {          // fail with 0x40 + check unless cc holds
            check += 1
            let ok = a.label()
            a.j(cc, ok)
            a.mov(ebx, 0x40 + check)
            a.jmp(fail)
            a.bind(ok)
        }
        // 1. CPUID leaf 0 (exit 10): the Intel vendor string.
        a.xor(eax, eax); a.cpuid(); a.cmp(ebx, 0x756E_6547); expect(.e)
        // 2. RDMSR IA32_APIC_BASE (exit 31, emulated): the local APIC at 0xFEE00000.
        a.mov(ecx, 0x1B); a.rdmsr(); a.and(eax, 0xFFFF_F000); a.cmp(eax, Int64(0xFEE0_0000)); expect(.e)
        // 3. The local APIC version register through MMIO (an EPT01 violation L0 emulates).
        a.mov(eax, dword[0xFEE0_0030]); a.and(eax, 0xFF); a.cmp(eax, 0x14); expect(.e)
        // 4. L0's region above RAM is not L1's: open bus.
        a.mov(eax, dword[Int64(ramTop)]); a.cmp(eax, -1); expect(.e)
        // 5. CR0.NE reads as L1 left it (0) although VMX operation holds it at 1 …
        a.mov(eax, cr0); a.test(eax, 0x20); expect(.e)
        a.xor(ecx, ecx); a.smsw(ecx); a.test(ecx, 0x20); expect(.e)     // SMSW reads the shadow too
        // 6. … and L1 can set and clear it (exit 28, shadow updated).
        a.or(eax, 0x20); a.mov(cr0, eax); a.mov(eax, cr0); a.test(eax, 0x20); expect(.ne)
        a.and(eax, ~0x20); a.mov(cr0, eax); a.mov(eax, cr0); a.test(eax, 0x20); expect(.e)
        // 7. CR4.VMXE reads 0 and setting it is #GP(0): L1 is not offered VMX.
        a.mov(eax, cr4); a.test(eax, 0x2000); expect(.e)
        a.or(eax, 0x2000); a.mov(cr4, eax)
        a.cmp(dword[gpCount], 1); expect(.e)
        // 8. CMOS through ports 0x70/0x71 (exit 30): the status register B reads 0x02 (24 h).
        a.mov(al, 0x0B); a.out(port: 0x70, al); a.in(al, port: 0x71); a.and(eax, 0xFF); a.cmp(eax, 0x02); expect(.e)
        // 9. A string OUT (emulated) prints the message on COM1.
        a.mov(esi, message); a.mov(ecx, 4); a.mov(dx, 0x3F8); a.rep(); a.outs(1)
        a.cmp(ecx, 0); expect(.e)
        // 10. VMCALL (exit 18) is a KVM hypercall: an unknown number returns -KVM_ENOSYS.
        a.mov(eax, -1); a.vmcall(); a.cmp(eax, -1000); expect(.e)
        // 11. KVM_HC_SEND_IPI to APIC ID 0 (bit 0 of the bitmap) reaches one APIC …
        a.mov(eax, 10); a.mov(ebx, 1); a.xor(ecx, ecx); a.xor(edx, edx); a.mov(esi, 0x40)
        a.vmcall(); a.cmp(eax, 1); expect(.e)
        // 12. … and to APIC ID 5 (bit 5; no such vCPU) none; at CPL 0 only.
        a.mov(eax, 10); a.mov(ebx, 0x20); a.xor(ecx, ecx); a.xor(edx, edx); a.mov(esi, 0x40)
        a.vmcall(); a.cmp(eax, 0); expect(.e)
        // 13. VMMCALL (#UD to this processor, exit 0) is the same hypercall to L0.
        a.mov(eax, -1); a.db(0x0F, 0x01, 0xD9); a.cmp(eax, -1000); expect(.e)
        // 14. Any other #UD goes back to L1: UD2's gate 6 is absent, so #GP (handler skips 3 bytes).
        a.ud2(); a.nop()
        a.cmp(dword[gpCount], 2); expect(.e)
        // 15. SMSW r32 stores all of CR0[31:0] as MOV from CR0 reads it (PG, PE, the NE shadow).
        a.mov(eax, cr0); a.mov(ecx, -1); a.smsw(ecx); a.cmp(ecx, eax); expect(.e)
        // 16. PAUSE takes 140 TSC cycles of virtual time (the model's latency).
        a.rdtsc(); a.mov(esi, eax); a.pause(); a.rdtsc(); a.sub(eax, esi)
        a.cmp(eax, 140); expect(.ae)
        a.cmp(eax, 150); expect(.b)
        // 17. IA32_APIC_BASE moves the xAPIC: its version register reads at FED40030H.
        a.mov(ecx, 0x1B); a.mov(eax, Int64(0xFED4_0900)); a.xor(edx, edx); a.wrmsr()
        a.mov(eax, dword[0xFED4_0030]); a.and(eax, 0xFF); a.cmp(eax, 0x14); expect(.e)
        a.mov(ecx, 0x1B); a.mov(eax, Int64(0xFEE0_0900)); a.xor(edx, edx); a.wrmsr()
        a.mov(al, 0x21); a.out(port: 0xF4, al)
        a.hlt()
        a.bind(fail)
        a.mov(eax, ebx); a.out(port: 0xF4, al)
        a.hlt()
        // #GP handler: count, skip the 3-byte MOV CR4, EAX (or UD2; NOP).
        a.bind(gpHandler)
        a.inc(dword[gpCount])
        a.add(dword[esp + 4], 3)
        a.add(esp, 4)
        a.iret()
        a.bind(gpCount); a.dd(0)
        a.bind(message); a.db(Array("ok!\n".utf8))
        VirtualMachineTests.emitFlatGDTAndIDT(a, gdt: gdt, gdtr: gdtr, idt: idt, idtr: idtr, gateVector: 13)
        var code = a.assemble()
        VirtualMachineTests.patchGate(&code, idt: idt, load: load, vector: 13, handler: gpHandler)
        return VirtualMachineTests.elf(code, load: load, entry: entry)
    }

    func testSensitiveInstructionsExitToL0AndBehaveArchitecturally() throws {
        var out: [UInt8] = []
        var options = PCBoardOptions()
        options.serialOutput = { out.append($0) }
        let vm = try VirtualMachine(MachineConfiguration(), board: options)
        try vm.boot(kernel: Self.guest(), commandLine: "test")
        let outcome = vm.run(instructionLimit: 10_000_000)
        XCTAssertEqual(outcome, .exited(status: (0x21 << 1) | 1), "first failing check: \(outcome)")
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "ok!\n")
        let t = vm.exitTrace
        XCTAssertEqual(t.count(.cpuid, level: .l1), 1)
        XCTAssertEqual(t.count(.rdmsr, level: .l1), 1)
        XCTAssertEqual(t.count(.wrmsr, level: .l1), 2, "IA32_APIC_BASE moved and back")
        XCTAssertEqual(t.count(.eptViolation, level: .l1), 3, "APIC MMIO (at both bases) and the L0 region")
        XCTAssertEqual(t.count(.crAccess, level: .l1), 3, "CR0.NE set, cleared; CR4.VMXE")
        // OUT 0x70, IN 0x71, the REP OUTSB (one exit: the emulation runs the whole REP), OUT 0xF4.
        XCTAssertEqual(t.count(.ioInstruction, level: .l1), 4)
        XCTAssertEqual(t.count(.vmcall, level: .l1), 3, "three KVM hypercalls by VMCALL")
        XCTAssertEqual(t.count(.exceptionOrNMI, level: .l1), 2, "VMMCALL's and UD2's #UD")
        XCTAssertEqual(vm.vcpus[0].lapic.pendingVector, 0x40, "the PV IPI to APIC ID 0 is in its IRR")
    }

    func testVMCS01ControlsAndHostStatePassTheProcessorsChecks() throws {
        let vm = try VirtualMachine(MachineConfiguration())
        let v = vm.vcpus[0].vmcs01
        let p = vm.bootProcessor
        VMCS01.load(guestStateOf: p, into: v)
        XCTAssertNil(Processor.firstEntryCheckFailure(p.entryCheckInput(v, capabilities: p.vmxCapabilities)))
        XCTAssertTrue(v.primary.contains(.hltExiting))
        XCTAssertTrue(v.primary.contains(.unconditionalIOExiting))
        XCTAssertFalse(v.primary.contains(.useMSRBitmaps), "every RDMSR/WRMSR exits")
        XCTAssertTrue(v.secondary.contains(.enableEPT))
        XCTAssertTrue(v.secondary.contains(.unrestrictedGuest))
    }

    /// A VMCS01 L0 built wrong is an L0 bug, and the run ends naming the rule it broke: its
    /// id, the field and value, and the SDM section (a control/host check → VMfailValid; a
    /// guest-state check → an entry failure).
    func testABadVMCS01FieldEndsTheRunNamingTheRule() throws {
        var vm = try VirtualMachine(MachineConfiguration())
        try vm.boot(kernel: VirtualMachineTests.guest(), commandLine: "")
        vm.vcpus[0].vmcs01[.hostCR4] = CR4.pae             // VMXE cleared: IA32_VMX_CR4_FIXED0
        guard case .l0Failure(_, let m) = vm.run(instructionLimit: 1000) else { return XCTFail("the entry must fail") }
        XCTAssertTrue(m.contains("VMCS01 failed VM entry: VMfailValid 8"), m)
        XCTAssertTrue(m.contains("'host-cr4-fixed'") && m.contains("host CR4 (0x6c04) = 0x20") && m.contains("§27.2.2"), m)

        vm = try VirtualMachine(MachineConfiguration())
        try vm.boot(kernel: VirtualMachineTests.guest(), commandLine: "")
        let v = vm.vcpus[0]
        VMCS01.load(guestStateOf: v.processor, into: v.vmcs01)
        v.guestStateStale = false
        v.vmcs01[.guestTRAccessRights] = 0x81               // an available 16-bit TSS: never loaded in TR
        guard case .l0Failure(_, let m2) = vm.run(instructionLimit: 1000) else { return XCTFail("the entry must fail") }
        XCTAssertTrue(m2.contains("VM-entry failure, exit reason 33") && m2.contains("'tr-type'"), m2)
        XCTAssertTrue(m2.contains("guest TR access rights (0x4822) = 0x81") && m2.contains("§27.3.1.2"), m2)
    }

    /// EPT01 maps RAM identity with 2-MByte pages and leaves the device windows and L0's
    /// region unmapped (SDM Vol. 3C §29.3.2).
    func testEPT01MapsRAMAndLeavesDevicesAndL0Unmapped() throws {
        let vm = try VirtualMachine(MachineConfiguration())
        let walker = EPTWalker(memory: vm.memory)
        let read = EPTAccess(read: true, write: false, fetch: false, pagingStructure: false)
        let p = vm.ept01.pointer
        guard case .translated(let hpa, let rights, let size) = walker.translate(0x12_3456, read, eptp: p) else {
            return XCTFail("RAM not mapped")
        }
        XCTAssertEqual(hpa, 0x12_3456)
        XCTAssertEqual(rights, 7)
        XCTAssertEqual(size, 2 << 20)
        guard case .translated = walker.translate(Self.ramTop - 8, read, eptp: p) else { return XCTFail("top of RAM") }
        for gpa: UInt64 in [Self.ramTop, Self.ramTop + 0x1000, 0xFEE0_0000, 0xFEC0_0000, 0xFFFF_FFF0] {
            guard case .violation = walker.translate(gpa, read, eptp: p) else {
                return XCTFail("0x\(String(gpa, radix: 16)) should be unmapped")
            }
        }
        XCTAssertLessThan(vm.ept01.tablePages, 8)
    }
}
