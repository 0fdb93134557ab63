import CPU
import X86Assembler

/// The `nested-cpuid` benchmark: a small guest hypervisor (L1) whose 64-bit guest (L2) runs a
/// CPUID loop; every CPUID exits to L1 (unconditionally, SDM Vol. 3C §26.1.2), which handles it
/// the way KVM handles an exit and resumes L2. Under Matryoshka each round trip is an L2 exit
/// reflected by L0, L1's handler (its VMREADs/VMWRITEs exit to L0 only without VMCS
/// shadowing) and L1's VMRESUME, an exit to L0 that enters L2 again.
///
/// Like `BenchmarkGuest` it is a Multiboot kernel that runs elsewhere too (Bochs emulates VMX):
/// L1 takes every VMX setting from the capability MSRs, and ends the machine with
/// isa-debug-exit (status 0 when every CPUID was reflected and counted) and Bochs's "Shutdown".
enum NestedBenchmarkGuest {
    // L1's pages (identity-mapped by LongModeBootstrap, above the image and its page tables).
    static let vmxonRegion: Int64 = 0x50_0000
    static let vmcsRegion: Int64 = 0x50_1000
    /// Results (`Result` offsets) and the VMXON/VMPTRLD operands.
    static let results: Int64 = 0x50_2000
    /// L2's general-purpose registers while L1 handles an exit (by register number).
    static let savedGPRs: Int64 = 0x50_3000
    /// The fields L1 reads at each exit (`perExitReads`), as KVM caches them per vCPU.
    static let exitInformation: Int64 = 0x50_4000
    static let l2StackTop: Int64 = 0x58_0000
    static let tssSelector: Int64 = 0x18

    /// Offsets in `results`.
    enum Result: Int64 {
        case status = 0, failedField = 8, reflectedCPUIDs = 16, unexpectedExitReason = 24
        case instructionError = 32, vmxonPointer = 64, vmcsPointer = 72
        var address: Int64 { NestedBenchmarkGuest.results + rawValue }
    }

    /// L1's isa-debug-exit value (Matryoshka's exit status is value × 2 + 1) and, as a digit
    /// on port E9H, its line "nested-cpuid: L1 status N".
    enum Status: UInt8, CaseIterable {
        case done = 0
        case vmxNotOffered, featureControlLocked, vmxonFailed, vmcsLoadFailed, vmwriteFailed
        case vmlaunchFailed, unexpectedExit, vmresumeFailed, countMismatch
    }

    /// What L1 reads at every exit before handling it — what KVM's VMX exit path reads for a
    /// CPUID exit (exit reason; IDT-vectoring information for event re-injection; qualification;
    /// instruction length, RIP and interruptibility to skip the instruction; RSP and RFLAGS
    /// into the register cache).
    static let perExitReads: [VMCSField] = [
        .exitReason, .idtVectoringInformation, .exitQualification, .exitInstructionLength,
        .guestRIP, .guestRSP, .guestRFLAGS, .guestInterruptibilityState,
    ]

    /// L1's CPUID table for L2: leaf 0 (maximum leaf 1, vendor "MatryoshkaL1") and leaf 1 (no
    /// features); other leaves read zeros.
    static let cpuidTable: [[UInt32]] = [
        [1, 0x7274_614D, 0x314C_616B, 0x6873_6F79],   // EAX; "Matr" "kaL1" "yosh" in EBX, ECX, EDX
        [0, 0, 0, 0],
    ]

    /// The Multiboot ELF: L2 runs `iterations` CPUIDs (at least 1), then VMCALL.
    static func image(iterations: UInt64) -> (elf: [UInt8], code: [UInt8], entry: UInt32) {
        precondition(iterations >= 1, "the L2 loop needs at least one iteration")
        let a = Assembler(mode: .bits32, origin: UInt64(BenchmarkGuest.loadAddress))
        a.db(MultibootELF.header)
        let entry = UInt32(a.here)
        LongModeBootstrap.emit(a)
        let l1 = L1Emitter(a)
        l1.emitSetup()
        l1.emitL2(iterations: iterations)
        l1.emitExitHandler(iterations: iterations)
        l1.emitFailures()
        l1.emitTables()
        let code = a.assemble()
        return (MultibootELF.image(segment: code, loadAddress: BenchmarkGuest.loadAddress, entry: entry), code, entry)
    }
}

/// The code of the benchmark's L1, one step a method (SDM Vol. 3C §24.7 "Enabling and Entering
/// VMX Operation", §25.11.3 "Initializing a VMCS", ch. 27 for the state VM entry checks).
private final class L1Emitter {
    typealias G = NestedBenchmarkGuest
    let a: Assembler
    let gdt = Label(), gdtr = Label(), tss = Label(), l2 = Label(), landing = Label(), table = Label()
    let finish = Label()
    var failures: [G.Status: Label] = [:]

    init(_ a: Assembler) { self.a = a }

    func fail(_ s: G.Status) -> Label {
        if let l = failures[s] { return l }
        let l = Label(); failures[s] = l; return l
    }

    /// RDMSR `index` into RAX (all 64 bits).
    func readMSR(_ index: UInt32) {
        a.mov(ecx, Int64(index)); a.rdmsr(); a.shl(rdx, 32); a.or(rax, rdx)
    }

    /// VMWRITE of RAX to `field`; a VMfail ends the run naming the field.
    func set(_ field: VMCSField) {
        a.mov(ebx, Int64(field.encoding)); a.vmwrite(rbx, rax)
        a.j(.be, fail(.vmwriteFailed))
    }

    func set(_ field: VMCSField, _ value: Int64) {
        a.mov(rax, value); set(field)
    }

    /// A control from its capability MSR (SDM Vol. 3D Appendix A.3–A.5): the allowed-0 bits,
    /// plus the `wanted` bits the MSR allows to be 1.
    func setControl(_ field: VMCSField, msr: UInt32, wanted: UInt32) {
        readMSR(msr)
        a.mov(rdx, rax); a.shr(rdx, 32); a.mov(eax, eax)
        a.or(eax, Int64(wanted)); a.and(eax, edx)
        set(field)
    }

    func emitSetup() {
        // A GDT with a 64-bit TSS (TR must be usable for VM entry, §27.3.1.2; HOST_TR ≠ 0, §27.2.3).
        a.lgdt(mem[gdtr])
        a.mov(ax, G.tssSelector); a.ltr(ax)
        // VMX offered (CPUID.1:ECX.VMX[bit 5], §24.6).
        a.mov(eax, 1); a.xor(ecx, ecx); a.cpuid(); a.bt(ecx, 5); a.j(.nc, fail(.vmxNotOffered))
        // IA32_FEATURE_CONTROL: lock with "VMX outside SMX" unless firmware locked it (§24.7).
        let locked = a.label(), enabled = a.label()
        a.mov(ecx, Int64(MSRIndex.featureControl)); a.rdmsr()
        a.test(eax, 1); a.jnz(locked)
        a.or(eax, 5); a.wrmsr(); a.jmp(enabled)
        a.bind(locked)
        a.test(eax, 4); a.jz(fail(.featureControlLocked))
        a.bind(enabled)
        // CR0 and CR4 within IA32_VMX_CR0/CR4_FIXED0/1 (Appendix A.7, A.8), CR4.VMXE.
        readMSR(MSRIndex.vmxCR0Fixed0); a.mov(r8, rax); readMSR(MSRIndex.vmxCR0Fixed1); a.mov(r9, rax)
        a.mov(rax, cr0); a.or(rax, r8); a.and(rax, r9); a.mov(cr0, rax)
        readMSR(MSRIndex.vmxCR4Fixed0); a.mov(r8, rax); a.or(r8, 1 << 13); readMSR(MSRIndex.vmxCR4Fixed1); a.mov(r9, rax)
        a.mov(rax, cr4); a.or(rax, r8); a.and(rax, r9); a.mov(cr4, rax)
        // VMCS revision identifier (IA32_VMX_BASIC[30:0]) in both regions; VMXON, VMCLEAR, VMPTRLD.
        readMSR(MSRIndex.vmxBasic); a.and(eax, 0x7FFF_FFFF)
        a.mov(dword[G.vmxonRegion], eax); a.mov(dword[G.vmcsRegion], eax)
        a.mov(rax, G.vmxonRegion); a.mov(qword[G.Result.vmxonPointer.address], rax)
        a.mov(rax, G.vmcsRegion); a.mov(qword[G.Result.vmcsPointer.address], rax)
        a.vmxon(qword[G.Result.vmxonPointer.address]); a.j(.be, fail(.vmxonFailed))
        a.vmclear(qword[G.Result.vmcsPointer.address]); a.j(.be, fail(.vmcsLoadFailed))
        a.vmptrld(qword[G.Result.vmcsPointer.address]); a.j(.be, fail(.vmcsLoadFailed))
        a.mov(qword[G.Result.reflectedCPUIDs.address], 0)
        emitControls()
        emitHostState()
        emitGuestState()
        a.vmlaunch()
        a.jmp(fail(.vmlaunchFailed))
    }

    /// §25.6: CPUID exits whatever the controls say, so L1 asks for nothing beyond the
    /// default-1 bits; a 64-bit host and guest, IA32_EFER loaded both ways where offered.
    func emitControls() {
        setControl(.pinBasedControls, msr: MSRIndex.vmxPinbasedControls, wanted: 0)
        setControl(.primaryProcessorBasedControls, msr: MSRIndex.vmxProcbasedControls, wanted: 0)
        setControl(.exitControls, msr: MSRIndex.vmxExitControls,
                   wanted: VMExitControls.hostAddressSpaceSize.rawValue | VMExitControls.loadEFER.rawValue)
        setControl(.entryControls, msr: MSRIndex.vmxEntryControls,
                   wanted: VMEntryControls.ia32eModeGuest.rawValue | VMEntryControls.loadEFER.rawValue)
        for f in [VMCSField.exceptionBitmap, .pageFaultErrorCodeMask, .pageFaultErrorCodeMatch, .cr3TargetCount,
                  .exitMSRStoreCount, .exitMSRLoadCount, .entryMSRLoadCount, .entryInterruptionInformation,
                  .cr0GuestHostMask, .cr4GuestHostMask, .cr0ReadShadow, .cr4ReadShadow, .tscOffset] {
            set(f, 0)
        }
    }

    /// §27.2.2–§27.2.4: L1 as it runs now, resuming at the exit landing on this stack.
    func emitHostState() {
        a.mov(rax, cr0); set(.hostCR0)
        a.mov(rax, cr3); set(.hostCR3)
        a.mov(rax, cr4); set(.hostCR4)
        for (f, v) in [(VMCSField.hostCSSelector, Int64(0x08)), (.hostSSSelector, 0x10), (.hostDSSelector, 0x10),
                       (.hostESSelector, 0x10), (.hostFSSelector, 0), (.hostGSSelector, 0),
                       (.hostTRSelector, G.tssSelector), (.hostFSBase, 0), (.hostGSBase, 0), (.hostIDTRBase, 0),
                       (.hostIA32SysenterCS, 0), (.hostIA32SysenterESP, 0), (.hostIA32SysenterEIP, 0)] {
            set(f, v)
        }
        a.mov(rax, tss); set(.hostTRBase)
        a.mov(rax, gdt); set(.hostGDTRBase)
        readMSR(MSRIndex.efer); set(.hostIA32EFER)
        a.mov(rax, rsp); set(.hostRSP)
        a.mov(rax, landing); set(.hostRIP)
    }

    /// §27.3.1: a 64-bit L2 at CPL 0 with L1's control registers, GDT, TSS and EFER.
    func emitGuestState() {
        a.mov(rax, cr0); set(.guestCR0)
        a.mov(rax, cr3); set(.guestCR3)
        a.mov(rax, cr4); set(.guestCR4)
        readMSR(MSRIndex.efer); set(.guestIA32EFER)
        let segments: [(VMCSField, VMCSField, VMCSField, VMCSField, Int64, Int64)] = [
            (.guestCSSelector, .guestCSBase, .guestCSLimit, .guestCSAccessRights, 0x08, 0xA09B),
            (.guestSSSelector, .guestSSBase, .guestSSLimit, .guestSSAccessRights, 0x10, 0xC093),
            (.guestDSSelector, .guestDSBase, .guestDSLimit, .guestDSAccessRights, 0x10, 0xC093),
            (.guestESSelector, .guestESBase, .guestESLimit, .guestESAccessRights, 0x10, 0xC093),
            (.guestFSSelector, .guestFSBase, .guestFSLimit, .guestFSAccessRights, 0x10, 0xC093),
            (.guestGSSelector, .guestGSBase, .guestGSLimit, .guestGSAccessRights, 0x10, 0xC093),
        ]
        for (selector, base, limit, rights, value, ar) in segments {
            set(selector, value); set(base, 0); set(limit, 0xFFFF_FFFF); set(rights, ar)
        }
        set(.guestTRSelector, G.tssSelector)
        a.mov(rax, tss); set(.guestTRBase)
        set(.guestTRLimit, 0x67); set(.guestTRAccessRights, 0x8B)          // busy 64-bit TSS
        set(.guestLDTRSelector, 0); set(.guestLDTRBase, 0); set(.guestLDTRLimit, 0)
        set(.guestLDTRAccessRights, 0x1_0000)                                // unusable
        a.mov(rax, gdt); set(.guestGDTRBase); set(.guestGDTRLimit, 5 * 8 - 1)
        set(.guestIDTRBase, 0); set(.guestIDTRLimit, 0)
        set(.guestDR7, 0x400)
        set(.guestRSP, G.l2StackTop)
        a.mov(rax, l2); set(.guestRIP)
        set(.guestRFLAGS, 2)
        for f in [VMCSField.guestActivityState, .guestInterruptibilityState, .guestPendingDebugExceptions,
                  .guestIA32SysenterCS, .guestIA32SysenterESP, .guestIA32SysenterEIP, .guestIA32DebugCtl] {
            set(f, 0)
        }
        set(.vmcsLinkPointer, -1)
    }

    /// L2: CPUID leaf 0 `iterations` times (the count in RSI: CPUID writes RAX–RDX), then VMCALL.
    func emitL2(iterations: UInt64) {
        a.align(16, fill: 0xCC)
        a.bind(l2)
        a.mov(rsi, Int64(bitPattern: iterations))
        let loop = a.boundLabel()
        a.xor(eax, eax); a.xor(ecx, ecx); a.cpuid(); a.dec(rsi); a.jnz(loop)
        a.vmcall()
        let stop = a.boundLabel()
        a.hlt(); a.jmp(stop)
    }

    /// The exit landing (HOST_RIP): L2's registers saved, the per-exit VMREADs, CPUID emulated
    /// from the table into L2's RAX–RDX, RIP past the instruction (SDM Vol. 3C §28.2.4: the
    /// exit's instruction length), blocking by STI/MOV SS cleared as instruction completion
    /// would (§25.4.2 Table 25-3), VMRESUME. VMCALL (L2 is done) checks the count and finishes.
    func emitExitHandler(iterations: UInt64) {
        func info(_ f: VMCSField) -> Memory {
            qword[G.exitInformation + 8 * Int64(G.perExitReads.firstIndex(of: f)!)]
        }
        func gpr(_ number: Int64) -> Memory { qword[G.savedGPRs + 8 * number] }
        a.align(16, fill: 0xCC)
        a.bind(landing)
        for r in 0..<16 where r != 4 { a.mov(gpr(Int64(r)), Register(number: UInt8(r), size: 8)) }
        for (k, f) in G.perExitReads.enumerated() {
            a.mov(ebx, Int64(f.encoding)); a.vmread(rax, rbx); a.mov(qword[G.exitInformation + 8 * Int64(k)], rax)
        }
        let cpuid = a.label(), vmcall = a.label(), outside = a.label(), skip = a.label(), resume = a.label()
        a.mov(rax, info(.exitReason)); a.and(eax, 0xFFFF)
        a.cmp(eax, Int64(ExitReason.cpuid.rawValue)); a.je(cpuid)
        a.cmp(eax, Int64(ExitReason.vmcall.rawValue)); a.je(vmcall)
        a.mov(qword[G.Result.unexpectedExitReason.address], rax)
        a.jmp(fail(.unexpectedExit))
        // CPUID: EAX = leaf; EAX, EBX, ECX, EDX from the table (zero-extended, as CPUID does).
        a.bind(cpuid)
        a.mov(eax, dword[G.savedGPRs])
        a.cmp(eax, Int64(G.cpuidTable.count - 1)); a.j(.a, outside)
        a.shl(eax, 4); a.mov(rsi, table); a.add(rsi, rax)
        for (k, r) in [0, 3, 1, 2].enumerated() {                              // EAX, EBX, ECX, EDX
            a.mov(eax, dword[rsi + Int64(4 * k)]); a.mov(gpr(Int64(r)), rax)
        }
        a.jmp(skip)
        a.bind(outside)
        a.xor(eax, eax)
        for r in [0, 3, 1, 2] { a.mov(gpr(Int64(r)), rax) }
        a.bind(skip)
        a.inc(qword[G.Result.reflectedCPUIDs.address])
        a.mov(rax, info(.guestRIP)); a.add(rax, info(.exitInstructionLength)); set(.guestRIP)
        a.mov(rax, info(.guestInterruptibilityState)); a.test(eax, 3); a.jz(resume)
        a.and(eax, ~3); set(.guestInterruptibilityState)
        a.bind(resume)
        for r in 0..<16 where r != 4 { a.mov(Register(number: UInt8(r), size: 8), gpr(Int64(r))) }
        a.vmresume()
        a.jmp(fail(.vmresumeFailed))
        // VMCALL: every CPUID reflected and counted, then VMXOFF and power off.
        a.bind(vmcall)
        a.mov(rax, Int64(bitPattern: iterations)); a.cmp(qword[G.Result.reflectedCPUIDs.address], rax)
        a.jne(fail(.countMismatch))
        a.vmxoff()
        a.mov(al, Int64(G.Status.done.rawValue)); a.jmp(finish)
    }

    /// Each failure records its status, RBX (the field of a failed VMWRITE) and, in VMX
    /// operation, the VM-instruction error; then finishes.
    func emitFailures() {
        let beforeVMXON: Set<G.Status> = [.vmxNotOffered, .featureControlLocked, .vmxonFailed]
        for s in G.Status.allCases where failures[s] != nil {
            a.bind(failures[s]!)
            a.mov(qword[G.Result.failedField.address], rbx)
            if !beforeVMXON.contains(s) {
                a.mov(ebx, Int64(VMCSField.vmInstructionError.encoding)); a.vmread(rax, rbx)
                a.mov(qword[G.Result.instructionError.address], rax)
            }
            a.mov(al, Int64(s.rawValue)); a.jmp(finish)
        }
        // AL = status: recorded, written as a digit on port E9H (Bochs's console), then the end.
        a.bind(finish)
        a.movzx(eax, al); a.mov(qword[G.Result.status.address], rax)
        a.mov(ebx, eax)
        for c in "nested-cpuid: L1 status ".utf8 { a.mov(al, Int64(c)); a.out(port: 0xE9, al) }
        a.mov(eax, ebx); a.add(al, Int64(UInt8(ascii: "0"))); a.out(port: 0xE9, al)
        a.mov(al, 0x0A); a.out(port: 0xE9, al)
        a.mov(eax, ebx)
        BenchmarkGuest.emitExit(a)
    }

    /// The TSS, the GDT (null, 64-bit code, data, 64-bit TSS) and the CPUID table.
    func emitTables() {
        a.align(16, fill: 0)
        a.bind(tss)
        a.dd(0); a.dq(UInt64(LongModeBootstrap.stackTop)); a.zeros(8 * 2 + 8 + 8 * 7 + 8 + 2); a.dw(104)
        a.align(16, fill: 0)
        a.bind(gdt)
        a.dq(0)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xA)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x92, flags: 0xC)
        a.descriptor(base: UInt32(tss.address!), limit: 0x67, access: 0x89, flags: 0)
        a.dq(0)
        a.bind(gdtr)
        a.dw(5 * 8 - 1); a.dq(gdt)
        a.align(16, fill: 0)
        a.bind(table)
        for leaf in G.cpuidTable { for v in leaf { a.dd(v) } }
    }
}
