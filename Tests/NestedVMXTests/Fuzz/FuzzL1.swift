import X86Assembler
@testable import CPU

/// The hostile L1: one program that never finishes. After the harness's boot (`L1Boot`: 64-bit
/// mode, IDT whose exception stubs record faults) it sets CR4.VMXE and IA32_FEATURE_CONTROL,
/// then loops: tell the test a case is done (isa-debug-exit `caseDone`: the run returns, the
/// test checks and writes the next case), then execute the case's steps (`FuzzStep`) one by
/// one through a jump table, recording each step's flags or fault (`StepResult`).
///
/// Every VM entry lands, on a VM exit or a VM-entry failure, at `landing` (vmcs12's HOST_RIP
/// unless the case says otherwise), which puts L1 back together whatever vmcs12's host state
/// was — stack, CR0/CR3/CR4, GDT, IDT, segments, TR — and tells the test `guestRan` before the
/// next step, so the test sees each VMCS02 right after the L2 run it was built for.
final class FuzzL1 {
    let program: L1Program
    var a: Assembler { program.a }
    /// vmcs12's HOST_RIP for L1 to survive its guests' exits.
    let landing = Label()
    private let advance = Label(), next = Label(), caseDone = Label()
    private let tableCPL0 = Label(), tableCPL3 = Label()

    /// isa-debug-exit values (the run returns `.exited(status: value × 2 + 1)`).
    static let caseDoneSignal: UInt8 = 0x41
    static let guestRanSignal: UInt8 = 0x42
    static func status(_ signal: UInt8) -> Int32 { Int32(signal) << 1 | 1 }

    init(capabilities: VMXCapabilities) {
        program = L1Program(capabilities: capabilities)
        emitSetUp()
        emitLoop()
        var cpl0: [Label] = [], cpl3: [Label] = []
        for op in FuzzOp.allCases {
            cpl0.append(emitHandler(op))
            cpl3.append(op.isVMXInstruction ? emitUserHandler(op) : cpl0.last!)
        }
        emitLanding()
        program.trailer.append { p in
            p.a.align(8, fill: 0)
            p.a.bind(self.tableCPL0)
            for l in cpl0 { p.a.dq(l) }
            p.a.bind(self.tableCPL3)
            for l in cpl3 { p.a.dq(l) }
        }
        program.finish()
    }

    func image() -> [UInt8] { program.image() }

    private func emitSetUp() {
        let p = program
        p.setCR4VMXE()
        p.writeFeatureControl(5)
        a.mov(rax, cr0); a.mov(qword[Int64(FuzzLayout.l1CR0)], rax)
        a.mov(rax, cr3); a.mov(qword[Int64(FuzzLayout.l1CR3)], rax)
        a.mov(rax, cr4); a.mov(qword[Int64(FuzzLayout.l1CR4)], rax)
        p.readEFER(); a.mov(qword[Int64(FuzzLayout.l1EFER)], rax)
        a.mov(qword[Int64(FuzzLayout.loopRSP)], rsp)
        a.mov(qword[Int64(FuzzLayout.stepCount)], 0)
        a.jmp(caseDone)
    }

    /// The step loop: RDI = the step record, RBP = its result record.
    private func emitLoop() {
        let userTable = a.label()
        a.bind(next)
        a.mov(rsp, qword[Int64(FuzzLayout.loopRSP)])
        a.mov(rcx, qword[Int64(FuzzLayout.stepIndex)])
        a.cmp(rcx, qword[Int64(FuzzLayout.stepCount)]); a.j(.ae, caseDone)
        a.shl(rcx, 5)
        a.lea(rdi, qword[rcx + Int64(FuzzLayout.steps)])
        a.lea(rbp, qword[rcx + Int64(FuzzLayout.results)])
        a.mov(eax, dword[rdi])
        a.movzx(ecx, al)
        a.cmp(ecx, Int64(FuzzOp.allCases.count)); a.j(.ae, advance)
        a.bt(eax, 8); a.j(.c, userTable)
        a.mov(rax, tableCPL0); a.jmp(qword[rax + rcx * 8])
        a.bind(userTable)
        a.mov(rax, tableCPL3); a.jmp(qword[rax + rcx * 8])
        a.bind(advance)
        a.inc(qword[Int64(FuzzLayout.stepIndex)])
        a.jmp(next)
        a.bind(caseDone)
        a.mov(al, Int64(Self.caseDoneSignal)); a.out(port: 0xF4, al)
        a.mov(qword[Int64(FuzzLayout.stepIndex)], 0)
        a.jmp(next)
    }

    /// The fault handler's way back (`L1Boot.emitFaultCommon`): the fault's vector and error
    /// code go into this step's result, execution continues at `resume` on the loop's stack.
    private func arm(resume: Label) {
        let g = L1Program.Globals.self
        a.lea(rax, qword[rbp + 8]); a.mov(g.faultRecord.memory, rax)
        a.mov(qword[rbp + 8], -1)
        a.mov(rax, resume); a.mov(g.fixup.memory, rax)
        a.mov(g.savedRSP.memory, rsp)
    }

    /// The step at CPL 0.
    private func emitHandler(_ op: FuzzOp) -> Label {
        let entry = a.label(), resume = a.label()
        a.align(16, fill: 0xCC)
        a.bind(entry)
        arm(resume: resume)
        switch op {
        case .copyImage:
            a.mov(rsi, qword[rdi + 8]); a.mov(rdi, qword[rdi + 16]); a.mov(ecx, 512); a.cld(); a.rep(); a.movs(8)
        case .store:
            a.mov(rax, qword[rdi + 8]); a.mov(rsi, qword[rdi + 16]); a.mov(qword[rsi], rax)
        case .writeCR4:
            a.mov(rax, qword[rdi + 8]); a.mov(cr4, rax)
        default:
            if op.entersGuest && op != .advanceAndResume {
                let keep = a.label()
                a.bt(dword[rdi], 10); a.j(.c, keep)
                a.mov(r8, Int64(VMCSField.hostRSP.encoding)); a.vmwrite(r8, rsp)
                a.mov(r8, Int64(VMCSField.hostRIP.encoding)); a.mov(r9, landing); a.vmwrite(r8, r9)
                a.bind(keep)
            }
            if op == .advanceAndResume {
                a.mov(r8, Int64(VMCSField.exitInstructionLength.encoding)); a.vmread(r9, r8)
                a.mov(r8, Int64(VMCSField.guestRIP.encoding)); a.vmread(r10, r8)
                a.add(r10, r9); a.vmwrite(r8, r10)
                a.mov(r8, Int64(VMCSField.hostRIP.encoding)); a.mov(r9, landing); a.vmwrite(r8, r9)
            }
            let movSS = a.label(), done = a.label()
            loadOperands(op)
            a.bt(dword[rdi], 9); a.j(.c, movSS)
            a.push(Int64(StepResult.statusFlags | 2)); a.popf()
            instruction(op)
            a.jmp(done)
            a.bind(movSS)
            a.mov(r9d, Int64(L1Boot.data))
            a.push(Int64(StepResult.statusFlags | 2)); a.popf()
            a.mov(SegmentRegister.ss, r9w)
            instruction(op)
            a.bind(done)
        }
        recordStatus(op)
        a.mov(L1Program.Globals.fixup.memory, 0)
        a.jmp(advance)
        a.bind(resume)
        a.jmp(advance)
        return entry
    }

    /// The step at CPL 3 (IRETQ to ring 3, the instruction, a marker, UD2): it must fault.
    private func emitUserHandler(_ op: FuzzOp) -> Label {
        let entry = a.label(), resume = a.label(), user = a.label()
        a.align(16, fill: 0xCC)
        a.bind(entry)
        arm(resume: resume)
        a.mov(qword[rbp + 24], 0)
        a.mov(rax, rsp)
        a.push(Int64(L1Boot.userData)); a.push(rax); a.push(Int64(StepResult.statusFlags | 2))
        a.push(Int64(L1Boot.userCode64)); a.mov(rax, user); a.push(rax)
        a.iretq()
        a.bind(user)
        if op == .advanceAndResume { a.mov(r8, Int64(VMCSField.guestRIP.encoding)); a.vmread(r9, r8) }
        loadOperands(op)
        instruction(op)
        a.mov(rax, Int64(StepResult.completedMarker)); a.mov(qword[rbp + 24], rax)
        a.ud2()
        a.bind(resume)
        a.jmp(advance)
        return entry
    }

    /// RBX = A, RAX = A (INVEPT/INVVPID type), RSI = B; VMWRITE's register source is B.
    private func loadOperands(_ op: FuzzOp) {
        a.mov(rbx, qword[rdi + 8])
        a.mov(rsi, qword[rdi + 16])
        a.mov(rax, op == .vmwriteRegister ? qword[rdi + 16] : qword[rdi + 8])
    }

    private func instruction(_ op: FuzzOp) {
        switch op {
        case .vmxon: a.vmxon(mem[rsi])
        case .vmxoff: a.vmxoff()
        case .vmclear: a.vmclear(mem[rsi])
        case .vmptrld: a.vmptrld(mem[rsi])
        case .vmptrst: a.vmptrst(mem[rsi])
        case .vmreadRegister: a.vmread(rdx, rbx)
        case .vmreadMemory: a.vmread(qword[rsi], rbx)
        case .vmwriteRegister: a.vmwrite(rbx, rax)
        case .vmwriteMemory: a.vmwrite(rbx, qword[rsi])
        case .vmlaunch: a.vmlaunch()
        case .vmresume, .advanceAndResume: a.vmresume()
        case .invept: a.invept(rax, oword[rsi])
        case .invvpid: a.invvpid(rax, oword[rsi])
        case .copyImage, .store, .writeCR4: break
        }
    }

    /// RFLAGS into the result; after VMfailValid (ZF alone) the VM-instruction error, after a
    /// register VMREAD its value.
    private func recordStatus(_ op: FuzzOp) {
        let notFailValid = a.label(), done = a.label()
        a.pushf(); a.pop(rax)
        a.mov(qword[rbp], rax)
        a.and(rax, Int64(StepResult.statusFlags))
        a.cmp(rax, 0x40); a.jne(notFailValid)
        a.mov(r8, Int64(VMCSField.vmInstructionError.encoding)); a.vmread(r9, r8)
        a.mov(qword[rbp + 24], r9)
        a.jmp(done)
        a.bind(notFailValid)
        if op == .vmreadRegister { a.mov(qword[rbp + 24], rdx) }
        a.bind(done)
    }

    /// After a VM exit or VM-entry failure of L1's guest: L1's state as the loop needs it, no
    /// matter what vmcs12's host-state area held, then `guestRan` for the test.
    private func emitLanding() {
        let p = program, reloaded = a.label()
        a.align(16, fill: 0xCC)
        a.bind(landing)
        a.mov(rsp, qword[Int64(FuzzLayout.loopRSP)])
        a.mov(rax, qword[Int64(FuzzLayout.l1CR4)]); a.mov(cr4, rax)
        a.mov(rax, qword[Int64(FuzzLayout.l1CR0)]); a.mov(cr0, rax)
        a.mov(rax, qword[Int64(FuzzLayout.l1CR3)]); a.mov(cr3, rax)
        a.lgdt(mem[p.gdtr]); a.lidt(mem[p.idtr])
        L1Boot.loadDataSegments(a)
        a.push(Int64(L1Boot.code64)); a.mov(rax, reloaded); a.push(rax); a.retf(size: 8)
        a.bind(reloaded)
        // TR: the descriptor is busy since L1's LTR; clear the flag and load it again.
        a.mov(rax, p.gdt)
        a.and(byte[rax + Int64(L1Program.trSelectorOffset + 5)], Int64(Int8(bitPattern: ~0x02)))
        a.mov(ax, Int64(L1Layout.area(0).trSelector)); a.ltr(ax)
        a.mov(L1Program.Globals.fixup.memory, 0)
        a.mov(rcx, qword[Int64(FuzzLayout.stepIndex)]); a.shl(rcx, 5)
        a.mov(rax, unsigned: StepResult.guestRan); a.mov(qword[rcx + Int64(FuzzLayout.results)], rax)
        a.mov(al, Int64(Self.guestRanSignal)); a.out(port: 0xF4, al)
        a.jmp(advance)
    }
}

extension L1Program {
    /// Offset of processor 0's TSS descriptor in the GDT (`L1Boot.emitTables`).
    static let trSelectorOffset = 0x28
}
