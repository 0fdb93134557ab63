/// A pointer to the decoded instruction being executed.
public typealias Inst = UnsafePointer<DecodedInstruction>

/// Why `Processor.run` returned.
public enum StopReason: Equatable, Sendable {
    /// The instruction budget ran out; the processor is between instructions.
    case budgetExhausted
    /// HLT (or MWAIT) outside VMX non-root operation: waiting for an interrupt.
    case halted
    /// Triple fault outside VMX non-root operation (SDM Vol. 3A §6.15, interrupt 8).
    case shutdown
    /// A VM exit; `pendingExit` describes it.
    case vmExit
    /// The platform asked the processor to stop after the current instruction
    /// (`requestStop()`: e.g. a device ending the run, or a timer needing service).
    case stopRequested
    /// L0 asked to regain control when an interrupt or NMI window opens
    /// (`requestInterruptWindow()`/`requestNMIWindow()`), and it has.
    case interruptWindow
}

/// The interpreter: fetches decoded blocks and executes them (the hot path).
extension Processor {
    /// Runs guest code until `budget` instructions have retired, the processor halts or
    /// shuts down, or (in VMX non-root operation) a VM exit occurs.
    @inline(never)
    public func run(budget: UInt64) -> StopReason {
        let end = instructionsRetired &+ budget
        // The block just completed, for following its cached successor links (-1: none).
        var previous: Int32 = -1
        while true {
            if pending != 0 {
                previous = -1
                if stopRequested {
                    stopRequested = false
                    pending &= ~PendingBit.stop
                    return .stopRequested
                }
                if let stop = handlePending() { return stop }
            }
            if activity != .active { return activity == .shutdown ? .shutdown : .halted }
            if instructionsRetired >= end { return .budgetExhausted }
            do throws(Fault) {
                var inst: Inst
                var n: Int
                var b: Int32 = -1
                if previous >= 0 { b = linkedSuccessor(of: previous) }
                if b < 0 {
                    b = try fetchBlock()
                    if previous >= 0 && b >= 0 { link(previous, to: b) }
                }
                previous = -1
                if b >= 0 {
                    let blk = decodeCache.blocks + Int(b)
                    inst = UnsafePointer(decodeCache.instructions + Int(blk.pointee.start))
                    n = Int(blk.pointee.count)
                    let left = end &- instructionsRetired
                    if UInt64(n) > left { n = Int(left) }
                    else {
                        previous = b
                        if translationEnabled && pending == 0 {
                            if blk.pointee.code == nil { considerTranslation(blk) }
                            if let code = blk.pointee.code {
                                let (last, done) = runTranslated(b, blk, code, budget: left)
                                if last != b {
                                    // Chained into other blocks: continue in the last one.
                                    previous = last
                                    let lb = decodeCache.blocks + Int(last)
                                    inst = UnsafePointer(decodeCache.instructions + Int(lb.pointee.start))
                                    n = Int(lb.pointee.count)
                                }
                                inst += done
                                n -= done
                                // Left at an instruction (a TLB miss, a form not translated):
                                // run just that one here; the rest of the block is found as a
                                // block of its own, so it too runs translated once hot.
                                if n > 1 { n = 1 }
                            }
                        }
                    }
                } else {
                    try decodeSingle()
                    inst = UnsafePointer(scratchInstruction)
                    n = 1
                }
                while n > 0 {
                    nextRIP = (rip &+ UInt64(inst.pointee.length)) & ripMask
                    let i = inst
                    // The dispatch: one case per Op (Decode/Op.swift), handlers in Execute/.
                    switch i.pointee.op {
                    case .invalid: throw Fault.ud
                    case .nop: break
                    case .movRMReg:
                        switch i.pointee.opSize {
                        case 4: try movRMReg(i, Width32.self)
                        case 8: try movRMReg(i, Width64.self)
                        case 1: try movRMReg(i, Width8.self)
                        default: try movRMReg(i, Width16.self)
                        }
                    case .movRegRM:
                        switch i.pointee.opSize {
                        case 4: try movRegRM(i, Width32.self)
                        case 8: try movRegRM(i, Width64.self)
                        case 1: try movRegRM(i, Width8.self)
                        default: try movRegRM(i, Width16.self)
                        }
                    case .movRMImm:
                        switch i.pointee.opSize {
                        case 4: try movRMImm(i, Width32.self)
                        case 8: try movRMImm(i, Width64.self)
                        case 1: try movRMImm(i, Width8.self)
                        default: try movRMImm(i, Width16.self)
                        }
                    case .movRegImm:
                        switch i.pointee.opSize {
                        case 4: try movRegImm(i, Width32.self)
                        case 8: try movRegImm(i, Width64.self)
                        case 1: try movRegImm(i, Width8.self)
                        default: try movRegImm(i, Width16.self)
                        }
                    case .movAccMoffs: try execMovAccMoffs(i)
                    case .movMoffsAcc: try execMovMoffsAcc(i)
                    case .movRMSreg: try execMovRMSreg(i)
                    case .movSregRM: try execMovSregRM(i)
                    case .movzx: try execMovzx(i)
                    case .movsx: try execMovsx(i)
                    case .movsxd: try execMovsxd(i)
                    case .lea:
                        switch i.pointee.opSize {
                        case 4: try lea(i, Width32.self)
                        case 8: try lea(i, Width64.self)
                        default: try lea(i, Width16.self)
                        }
                    case .xchgRMReg: try execXchgRMReg(i)
                    case .xchgAccReg: try execXchgAccReg(i)
                    case .pushReg:
                        switch i.pointee.opSize {
                        case 4: try pushReg(i, Width32.self)
                        case 8: try pushReg(i, Width64.self)
                        default: try pushReg(i, Width16.self)
                        }
                    case .popReg:
                        switch i.pointee.opSize {
                        case 4: try popReg(i, Width32.self)
                        case 8: try popReg(i, Width64.self)
                        default: try popReg(i, Width16.self)
                        }
                    case .pushImm: try execPushImm(i)
                    case .pushRM: try execPushRM(i)
                    case .popRM: try execPopRM(i)
                    case .pushSreg: try execPushSreg(i)
                    case .popSreg: try execPopSreg(i)
                    case .pusha: try execPusha(i)
                    case .popa: try execPopa(i)
                    case .pushf: try execPushf(i)
                    case .popf: try execPopf(i)
                    case .lahf: try execLahf(i)
                    case .sahf: try execSahf(i)
                    case .cbw: try execCbw(i)
                    case .cwd: try execCwd(i)
                    case .cmovcc:
                        switch i.pointee.opSize {
                        case 4: try cmovcc(i, Width32.self)
                        case 8: try cmovcc(i, Width64.self)
                        default: try cmovcc(i, Width16.self)
                        }
                    case .setcc: try execSetcc(i)
                    case .bswap: try execBswap(i)
                    case .xlat: try execXlat(i)
                    case .movbe: try execMovbe(i)
                    case .enter: try execEnter(i)
                    case .leave: try execLeave(i)
                    case .loadFarPointer: try execLoadFarPointer(i)
                    case .aluRMReg:
                        switch i.pointee.opSize {
                        case 4: try aluRMReg(i, Width32.self)
                        case 8: try aluRMReg(i, Width64.self)
                        case 1: try aluRMReg(i, Width8.self)
                        default: try aluRMReg(i, Width16.self)
                        }
                    case .aluRegRM:
                        switch i.pointee.opSize {
                        case 4: try aluRegRM(i, Width32.self)
                        case 8: try aluRegRM(i, Width64.self)
                        case 1: try aluRegRM(i, Width8.self)
                        default: try aluRegRM(i, Width16.self)
                        }
                    case .aluAccImm:
                        switch i.pointee.opSize {
                        case 4: try aluAccImm(i, Width32.self)
                        case 8: try aluAccImm(i, Width64.self)
                        case 1: try aluAccImm(i, Width8.self)
                        default: try aluAccImm(i, Width16.self)
                        }
                    case .aluRMImm:
                        switch i.pointee.opSize {
                        case 4: try aluRMImm(i, Width32.self)
                        case 8: try aluRMImm(i, Width64.self)
                        case 1: try aluRMImm(i, Width8.self)
                        default: try aluRMImm(i, Width16.self)
                        }
                    case .aluRMRegJcc:
                        switch i.pointee.opSize {
                        case 4: try aluRMReg(i, Width32.self)
                        case 8: try aluRMReg(i, Width64.self)
                        case 1: try aluRMReg(i, Width8.self)
                        default: try aluRMReg(i, Width16.self)
                        }
                        try fusedJcc(&inst, &n)
                    case .aluRegRMJcc:
                        switch i.pointee.opSize {
                        case 4: try aluRegRM(i, Width32.self)
                        case 8: try aluRegRM(i, Width64.self)
                        case 1: try aluRegRM(i, Width8.self)
                        default: try aluRegRM(i, Width16.self)
                        }
                        try fusedJcc(&inst, &n)
                    case .aluAccImmJcc:
                        switch i.pointee.opSize {
                        case 4: try aluAccImm(i, Width32.self)
                        case 8: try aluAccImm(i, Width64.self)
                        case 1: try aluAccImm(i, Width8.self)
                        default: try aluAccImm(i, Width16.self)
                        }
                        try fusedJcc(&inst, &n)
                    case .aluRMImmJcc:
                        switch i.pointee.opSize {
                        case 4: try aluRMImm(i, Width32.self)
                        case 8: try aluRMImm(i, Width64.self)
                        case 1: try aluRMImm(i, Width8.self)
                        default: try aluRMImm(i, Width16.self)
                        }
                        try fusedJcc(&inst, &n)
                    case .testRMRegJcc:
                        switch i.pointee.opSize {
                        case 4: try testRMReg(i, Width32.self)
                        case 8: try testRMReg(i, Width64.self)
                        case 1: try testRMReg(i, Width8.self)
                        default: try testRMReg(i, Width16.self)
                        }
                        try fusedJcc(&inst, &n)
                    case .testAccImmJcc:
                        switch i.pointee.opSize {
                        case 4: try testAccImm(i, Width32.self)
                        case 8: try testAccImm(i, Width64.self)
                        case 1: try testAccImm(i, Width8.self)
                        default: try testAccImm(i, Width16.self)
                        }
                        try fusedJcc(&inst, &n)
                    case .testRMImmJcc:
                        switch i.pointee.opSize {
                        case 4: try testRMImm(i, Width32.self)
                        case 8: try testRMImm(i, Width64.self)
                        case 1: try testRMImm(i, Width8.self)
                        default: try testRMImm(i, Width16.self)
                        }
                        try fusedJcc(&inst, &n)
                    case .testRMReg:
                        switch i.pointee.opSize {
                        case 4: try testRMReg(i, Width32.self)
                        case 8: try testRMReg(i, Width64.self)
                        case 1: try testRMReg(i, Width8.self)
                        default: try testRMReg(i, Width16.self)
                        }
                    case .testAccImm:
                        switch i.pointee.opSize {
                        case 4: try testAccImm(i, Width32.self)
                        case 8: try testAccImm(i, Width64.self)
                        case 1: try testAccImm(i, Width8.self)
                        default: try testAccImm(i, Width16.self)
                        }
                    case .testRMImm:
                        switch i.pointee.opSize {
                        case 4: try testRMImm(i, Width32.self)
                        case 8: try testRMImm(i, Width64.self)
                        case 1: try testRMImm(i, Width8.self)
                        default: try testRMImm(i, Width16.self)
                        }
                    case .incReg:
                        switch i.pointee.opSize {
                        case 4: try incReg(i, Width32.self)
                        case 8: try incReg(i, Width64.self)
                        default: try incReg(i, Width16.self)
                        }
                    case .decReg:
                        switch i.pointee.opSize {
                        case 4: try decReg(i, Width32.self)
                        case 8: try decReg(i, Width64.self)
                        default: try decReg(i, Width16.self)
                        }
                    case .incRM:
                        switch i.pointee.opSize {
                        case 4: try incRM(i, Width32.self)
                        case 8: try incRM(i, Width64.self)
                        case 1: try incRM(i, Width8.self)
                        default: try incRM(i, Width16.self)
                        }
                    case .decRM:
                        switch i.pointee.opSize {
                        case 4: try decRM(i, Width32.self)
                        case 8: try decRM(i, Width64.self)
                        case 1: try decRM(i, Width8.self)
                        default: try decRM(i, Width16.self)
                        }
                    case .notRM: try execNotRM(i)
                    case .negRM: try execNegRM(i)
                    case .mulRM: try execMulRM(i)
                    case .imulRM: try execImulRM(i)
                    case .divRM: try execDivRM(i)
                    case .idivRM: try execIdivRM(i)
                    case .imulRegRM: try execImulRegRM(i)
                    case .imulRegRMImm: try execImulRegRMImm(i)
                    case .shiftRMImm: try execShiftRMImm(i)
                    case .shiftRMCL: try execShiftRMCL(i)
                    case .shld: try execShld(i)
                    case .shrd: try execShrd(i)
                    case .btRMReg: try execBtRMReg(i)
                    case .btRMImm: try execBtRMImm(i)
                    case .bsf: try execBsf(i)
                    case .bsr: try execBsr(i)
                    case .tzcnt: try execTzcnt(i)
                    case .lzcnt: try execLzcnt(i)
                    case .popcnt: try execPopcnt(i)
                    case .cmpxchg: try execCmpxchg(i)
                    case .cmpxchg8b: try execCmpxchg8b(i)
                    case .xadd: try execXadd(i)
                    case .daa: try execDaa(i)
                    case .das: try execDas(i)
                    case .aaa: try execAaa(i)
                    case .aas: try execAas(i)
                    case .aam: try execAam(i)
                    case .aad: try execAad(i)
                    case .salc: try execSalc(i)
                    case .jcc: try conditionalBranch(i, &n)
                    case .jmpRel: try execJmpRel(i)
                    case .callRel: try execCallRel(i)
                    case .jmpRM: try execJmpRM(i)
                    case .callRM: try execCallRM(i)
                    case .jmpFar: try execJmpFar(i)
                    case .callFar: try execCallFar(i)
                    case .jmpFarRM: try execJmpFarRM(i)
                    case .callFarRM: try execCallFarRM(i)
                    case .ret: try execRet(i)
                    case .retImm: try execRetImm(i)
                    case .retFar: try execRetFar(i)
                    case .retFarImm: try execRetFarImm(i)
                    case .loop: try execLoop(i)
                    case .jrcxz: try execJrcxz(i)
                    case .int3: try execInt3(i)
                    case .intN: try execIntN(i)
                    case .into: try execInto(i)
                    case .int1: try execInt1(i)
                    case .iret: try execIret(i)
                    case .hlt: try execHlt(i)
                    case .syscall: try execSyscall(i)
                    case .sysret: try execSysret(i)
                    case .sysenter: try execSysenter(i)
                    case .sysexit: try execSysexit(i)
                    case .movs: try execMovs(i)
                    case .cmps: try execCmps(i)
                    case .stos: try execStos(i)
                    case .lods: try execLods(i)
                    case .scas: try execScas(i)
                    case .ins: try execIns(i)
                    case .outs: try execOuts(i)
                    case .clc: try execClc(i)
                    case .stc: try execStc(i)
                    case .cmc: try execCmc(i)
                    case .cli: try execCli(i)
                    case .sti: try execSti(i)
                    case .cld: try execCld(i)
                    case .std: try execStd(i)
                    case .inImm: try execInImm(i)
                    case .inDX: try execInDX(i)
                    case .outImm: try execOutImm(i)
                    case .outDX: try execOutDX(i)
                    case .sldt: try execSldt(i)
                    case .str: try execStr(i)
                    case .lldt: try execLldt(i)
                    case .ltr: try execLtr(i)
                    case .verr: try execVerr(i)
                    case .verw: try execVerw(i)
                    case .sgdt: try execSgdt(i)
                    case .sidt: try execSidt(i)
                    case .lgdt: try execLgdt(i)
                    case .lidt: try execLidt(i)
                    case .smsw: try execSmsw(i)
                    case .lmsw: try execLmsw(i)
                    case .invlpg: try execInvlpg(i)
                    case .swapgs: try execSwapgs(i)
                    case .rdtscp: try execRdtscp(i)
                    case .monitor: try execMonitor(i)
                    case .mwait: try execMwait(i)
                    case .clac: try execClac(i)
                    case .stac: try execStac(i)
                    case .xgetbv: try execXgetbv(i)
                    case .xsetbv: try execXsetbv(i)
                    case .rdpkru: try execRdpkru(i)
                    case .wrpkru: try execWrpkru(i)
                    case .vmcall: try execVmcall(i)
                    case .vmlaunch: try execVmlaunch(i)
                    case .vmresume: try execVmresume(i)
                    case .vmxoff: try execVmxoff(i)
                    case .vmfunc: try execVmfunc(i)
                    case .lar: try execLar(i)
                    case .lsl: try execLsl(i)
                    case .clts: try execClts(i)
                    case .invd: try execInvd(i)
                    case .wbinvd: try execWbinvd(i)
                    case .ud: throw Fault.ud
                    case .movToCR: try execMovToCR(i)
                    case .movFromCR: try execMovFromCR(i)
                    case .movToDR: try execMovToDR(i)
                    case .movFromDR: try execMovFromDR(i)
                    case .wrmsr: try execWrmsr(i)
                    case .rdmsr: try execRdmsr(i)
                    case .rdtsc: try execRdtsc(i)
                    case .rdpmc: try execRdpmc(i)
                    case .cpuid: try execCpuid(i)
                    case .vmread: try execVmread(i)
                    case .vmwrite: try execVmwrite(i)
                    case .vmptrld: try execVmptrld(i)
                    case .vmptrst: try execVmptrst(i)
                    case .vmclear: try execVmclear(i)
                    case .vmxon: try execVmxon(i)
                    case .invept: try execInvept(i)
                    case .invvpid: try execInvvpid(i)
                    case .invpcid: try execInvpcid(i)
                    case .rdrand: try execRdrand(i)
                    case .rdseed: try execRdseed(i)
                    case .rdpid: try execRdpid(i)
                    case .pause: try execPause(i)
                    case .clflush: try execClflush(i)
                    case .getsec: try execGetsec(i)
                    case .rsm: try execRsm(i)
                    case .fxsave: try execFxsave(i)
                    case .fxrstor: try execFxrstor(i)
                    case .xsave: try execXsave(i)
                    case .xrstor: try execXrstor(i)
                    case .x87: try execX87(i)
                    case .fwait: try execFwait(i)
                    case .rdfsbase: try execRdfsbase(i)
                    case .rdgsbase: try execRdgsbase(i)
                    case .wrfsbase: try execWrfsbase(i)
                    case .wrgsbase: try execWrgsbase(i)
                    case .lfence: try execLfence(i)
                    case .mfence: try execMfence(i)
                    case .sfence: try execSfence(i)
                    case .simd: try execSIMD(i)
                    }
                    rip = nextRIP
                    instructionsRetired &+= 1
                    if pending != 0 { previous = -1; break }
                    inst += 1
                    n -= 1
                }
            } catch {
                previous = -1
                if let stop = handleFault(error) { return stop }
            }
        }
    }

    /// Turns a fault raised by an instruction into exception delivery, a VM exit or a stop.
    
    func handleFault(_ f: Fault) -> StopReason? {
        switch f {
        case .exception(let e):
            // An instruction L0 emulates ends with its exception delivered to the guest.
            if emulatingForL0 { return raise(e) ?? .budgetExhausted }
            return raise(e)
        case .vmExit:
            return .vmExit
        case .shutdown:
            activity = .shutdown
            return .shutdown
        }
    }


    /// The Jcc of a fused pair (`Op.fusedWithJcc`), after its flag-producing instruction at
    /// `inst` executed: retires that instruction, then evaluates the Jcc in the next slot
    /// (`conditionalBranch`); the dispatch loop's epilogue retires the Jcc. At the end of the run budget, or when the first instruction raised an event
    /// (an MMIO access that stopped the processor, a debug trap), it does nothing and the
    /// Jcc is dispatched on its own. SDM Vol. 2A "Jcc": a fault on the target (#GP for a
    /// non-canonical one or beyond the CS limit) is raised at the Jcc, the first retired.
    @inline(__always)
    func fusedJcc(_ inst: inout Inst, _ n: inout Int) throws(Fault) {
        guard n >= 2 && pending == 0 else { return }
        rip = nextRIP
        instructionsRetired &+= 1
        inst += 1
        n -= 1
        nextRIP = (rip &+ UInt64(inst.pointee.length)) & ripMask
        try conditionalBranch(inst, &n)
    }

    /// SDM Vol. 2A "Jcc", on its own or as the second half of a fused pair. A taken branch
    /// is a side exit: `n = 1` ends the block after this instruction, so its fall-through
    /// path is skipped, and the link from this block is keyed by the target RIP like any
    /// other successor.
    @inline(__always)
    func conditionalBranch(_ j: Inst, _ n: inout Int) throws(Fault) {
        if flags.condition(j.pointee.sub) {
            nextRIP = try nearBranchTarget(nextRIP &+ j.pointee.imm, j.pointee.opSize)
            n = 1
        }
    }

    // MARK: Block chaining

    /// Changes whenever a cached block-to-block link could have become wrong: a TLB flush
    /// or set switch (translation or permission change), removal of decoded blocks, or a
    /// mode change. A link made under the current epoch is followed without further checks.
    @inline(__always) var linkEpoch: UInt64 {
        tlb.epoch &+ decodeCache.epoch &+ modeEpoch
    }

    /// The block that follows `b` at the current RIP, if a recorded link still holds.
    @inline(__always)
    func linkedSuccessor(of b: Int32) -> Int32 {
        let blk = decodeCache.blocks + Int(b)
        let epoch = linkEpoch
        if blk.pointee.linkRIP.0 == rip {
            if blk.pointee.linkEpoch.0 == epoch { return blk.pointee.linkBlock.0 }
            let r = revalidatedLink(blk, slot: 0, epoch: epoch)
            if r >= 0 { return r }
        }
        if blk.pointee.linkRIP.1 == rip {
            if blk.pointee.linkEpoch.1 == epoch { return blk.pointee.linkBlock.1 }
            return revalidatedLink(blk, slot: 1, epoch: epoch)
        }
        return -1
    }

    /// A link made under an older epoch, checked against the current state instead of being
    /// dropped (64-bit mode; elsewhere the CS base and limit matter, so it is dropped). It
    /// holds if the block it names is still valid and is the block `fetchBlock` would find
    /// now: the current TLB set maps RIP's page, with execute permission for this access
    /// (CPL, SMEP, NX and the VMX context are all in the entry, SDM Vol. 3A §4.6, §4.10.2),
    /// to the physical address and code size the block was decoded from. Then the link is
    /// renewed for this epoch. So INVLPG of a data page, CR writes, CPL changes and stores to
    /// other code pages cost one check per link instead of a decode-cache lookup.
    func revalidatedLink(_ blk: UnsafeMutablePointer<DecodeCache.Block>, slot: Int, epoch: UInt64) -> Int32 {
        guard is64 else { return -1 }
        let target = slot == 0 ? blk.pointee.linkBlock.0 : blk.pointee.linkBlock.1
        let t = decodeCache.blocks + Int(target)
        guard t.pointee.valid, let phys = cachedFetchPhysical(rip),
              t.pointee.key == DecodeCache.key(physical: phys, codeSize: codeSize)
        else { return -1 }
        if slot == 0 { blk.pointee.linkEpoch.0 = epoch } else { blk.pointee.linkEpoch.1 = epoch }
        return target
    }

    /// Records that block `to` follows `from` at the current RIP: in the slot already holding
    /// this RIP (a stale link), else round-robin over the two slots.
    func link(_ from: Int32, to: Int32) {
        let blk = decodeCache.blocks + Int(from)
        let epoch = linkEpoch
        let slot0 = blk.pointee.linkRIP.0 == rip || (blk.pointee.linkRIP.1 != rip && blk.pointee.nextLinkSlot == 0)
        if slot0 {
            blk.pointee.linkRIP.0 = rip
            blk.pointee.linkBlock.0 = to
            blk.pointee.linkEpoch.0 = epoch
            blk.pointee.nextLinkSlot = 1
        } else {
            blk.pointee.linkRIP.1 = rip
            blk.pointee.linkBlock.1 = to
            blk.pointee.linkEpoch.1 = epoch
            blk.pointee.nextLinkSlot = 0
        }
    }

    // MARK: Fetch

    /// The linear address of RIP, with the 64-bit canonical check or the CS limit check.
    @inline(__always)
    func fetchLinearRIP() throws(Fault) -> UInt64 {
        if is64 {
            if !isCanonical(rip) { throw Fault.gp(0) }
            return rip
        }
        let cs = segments[SegmentRegisterIndex.cs.rawValue]
        if rip > UInt64(cs.limit) { throw Fault.gp(0) }
        return (cs.base &+ rip) & 0xFFFF_FFFF
    }

    /// The physical address of an instruction fetch at `la` if the current TLB set holds a
    /// translation with execute permission for this access, else nil (no walk).
    @inline(__always)
    func cachedFetchPhysical(_ la: UInt64) -> UInt64? {
        let e = tlb.slot(la)
        guard e.pointee.tag == tlb.tag(la) && e.pointee.perms & accessMasks.exec != 0 else { return nil }
        return e.pointee.physical | (la & 0xFFF)
    }

    /// Finds (or decodes) the block at RIP. Returns -1 when the instruction must be executed
    /// through the uncached path (it crosses a page, is fetched from a device, or the block
    /// would pass the CS limit).
    @inline(__always)
    func fetchBlock() throws(Fault) -> Int32 {
        let la = try fetchLinearRIP()
        var phys: UInt64
        if let p = cachedFetchPhysical(la) {
            phys = p
        } else {
            let t = try translate(la, currentAccess(.execute))
            if !t.ram { return -1 }
            phys = t.physical
        }
        let key = DecodeCache.key(physical: phys, codeSize: codeSize)
        // An instruction that starts here crosses into the next page: no block can start
        // here (a wrong guess only costs the uncached path, which handles any instruction).
        if key == crossingKey { return -1 }
        var b = decodeCache.lookup(key)
        if b < 0 { b = try buildBlock(physical: phys, key: key) }
        if b >= 0 && !is64 {
            // The block must lie within the CS limit; otherwise take the exact path.
            let blk = decodeCache.blocks + Int(b)
            let bytes = blockByteLength(blk.pointee)
            if rip &+ UInt64(bytes) &- 1 > UInt64(segments[SegmentRegisterIndex.cs.rawValue].limit) { return -1 }
        }
        return b
    }

    func blockByteLength(_ blk: DecodeCache.Block) -> Int {
        var n = 0
        for k in 0..<Int(blk.count) { n += Int(decodeCache.instructions[Int(blk.start) + k].length) }
        return n
    }

    /// Decodes a new block starting at host-physical `physical` (within one page).
    
    func buildBlock(physical: UInt64, key: UInt64) throws(Fault) -> Int32 {
        let dst = decodeCache.reserve()
        let page = memory.base + Int(physical & ~0xFFF)
        var off = Int(physical & 0xFFF)
        var n = 0
        // With a translator, 64-bit blocks also start where translatable code resumes after
        // instructions it leaves to the interpreter, so that code gets a translation of its own.
        let split = codeSize == 8 && decodeCache.translations != nil
        while n < DecodeCache.maxInstructions && off < 4096 {
            let r = Decoder.decode(UnsafePointer(page.assumingMemoryBound(to: UInt8.self)) + off,
                                   available: 4096 - off, codeSize: codeSize)
            guard case .instruction(let d) = r else {
                if case .tooLong = r, n == 0 { throw Fault.gp(0) }
                break
            }
            if split && n > 0 && BlockTranslator.handles(d) && !BlockTranslator.handles(dst[n - 1]) { break }
            dst[n] = d
            if d.op == .jcc && n > 0, let f = dst[n - 1].op.fusedWithJcc { dst[n - 1].op = f }
            n += 1
            off += Int(d.length)
            if d.flags & DecodedInstruction.Flags.endsBlock != 0 { break }
        }
        if n == 0 {
            if off > 4096 - 15 { crossingKey = key }
            return -1
        }
        return decodeCache.commit(key: key, count: n)
    }

    /// Fetches and decodes one instruction into `scratchInstruction`, without the decode
    /// cache: instructions crossing a page boundary or the CS limit, and code fetched from
    /// device memory. Faults on the second page only if the instruction reaches it.
    func decodeSingle() throws(Fault) {
        let la = try fetchLinearRIP()
        if is64 && decodeAcrossCachedPages(la) { return }
        var buf: (UInt64, UInt64) = (0, 0)
        let firstCount = min(15, 4096 - Int(la & 0xFFF))
        let access = currentAccess(.execute)
        let t1 = try translate(la, access)
        try withUnsafeMutableBytes(of: &buf) { (raw) throws(Fault) in
            for k in 0..<firstCount { raw[k] = try fetchByte(t1, k) }
        }
        var count = firstCount
        while true {
            let r = withUnsafeBytes(of: &buf) { raw in
                Decoder.decode(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), available: count, codeSize: codeSize)
            }
            switch r {
            case .instruction(var d):
                if !is64 {
                    let limit = UInt64(segments[SegmentRegisterIndex.cs.rawValue].limit)
                    if rip &+ UInt64(d.length) &- 1 > limit { throw Fault.gp(0) }
                }
                d.flags |= DecodedInstruction.Flags.endsBlock
                scratchInstruction.pointee = d
                return
            case .tooLong:
                throw Fault.gp(0)
            case .needMoreBytes:
                if count >= 15 { throw Fault.gp(0) }
                let la2 = (la &+ UInt64(count)) & (is64 ? ~0 : 0xFFFF_FFFF)
                let t2 = try translate(la2, access)
                let more = 15 - count
                let base = count
                try withUnsafeMutableBytes(of: &buf) { (raw) throws(Fault) in
                    for k in 0..<more { raw[base + k] = try fetchByte(t2, k) }
                }
                count = 15
            }
        }
    }

    /// `decodeSingle` for an instruction at `la` (64-bit mode) that may cross into the next
    /// page when the TLB already maps both pages with execute permission: then neither
    /// fetch can fault, so all 15 bytes are read at once and decoded once. False when a page
    /// is not cached (the exact path then fetches page by page).
    func decodeAcrossCachedPages(_ la: UInt64) -> Bool {
        let first = 4096 - Int(la & 0xFFF)
        guard first < 15, let p1 = cachedFetchPhysical(la), let p2 = cachedFetchPhysical(la &+ UInt64(first)) else { return false }
        var buf: (UInt64, UInt64) = (0, 0)
        let r = withUnsafeMutableBytes(of: &buf) { raw in
            let dst = raw.baseAddress!
            dst.copyMemory(from: memory.base + Int(p1), byteCount: first)
            (dst + first).copyMemory(from: memory.base + Int(p2), byteCount: 15 - first)
            return Decoder.decode(UnsafePointer(dst.assumingMemoryBound(to: UInt8.self)), available: 15, codeSize: codeSize)
        }
        guard case .instruction(var d) = r else { return false }
        d.flags |= DecodedInstruction.Flags.endsBlock
        scratchInstruction.pointee = d
        return true
    }

    func fetchByte(_ t: Translation, _ k: Int) throws(Fault) -> UInt8 {
        var t = t
        t.physical &+= UInt64(k)
        return UInt8(truncatingIfNeeded: try physicalRead(t, 0, 1))
    }
}
