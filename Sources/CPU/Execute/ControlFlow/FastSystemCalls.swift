/// SYSCALL/SYSRET and SYSENTER/SYSEXIT (SDM Vol. 2B pseudo-code for each). The selectors'
/// descriptor caches are loaded with fixed flat values, not read from the GDT.
extension Processor {
    static let flatCode64 = SegmentRegister(selector: 0, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xA09B)
    static let flatCode32 = SegmentRegister(selector: 0, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC09B)
    static let flatStack = SegmentRegister(selector: 0, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC093)

    /// SYSCALL: 64-bit mode with EFER.SCE (Intel: #UD outside 64-bit mode; an AuthenticAMD
    /// model also allows compatibility and legacy protected mode, as AMD processors do).
    func execSyscall(_ i: Inst) throws(Fault) {
        let amd = model.vendor == "AuthenticAMD"
        if efer & EFER.sce == 0 || !model.has(.syscall) { throw Fault.ud }
        if !is64 && !(amd && (mode == .compatibility || mode == .protected)) { throw Fault.ud }
        let csSel = UInt16(truncatingIfNeeded: msr.star >> 32) & 0xFFFC
        var cs: SegmentRegister, ss = Self.flatStack
        if efer & EFER.lma != 0 {
            gpr[GPR.rcx.rawValue] = nextRIP
            gpr[11] = rflags & ~RFLAGS.rf
            setRFLAGS(rflags & ~msr.sfmask & ~RFLAGS.rf)
            // SYSCALL that masks TF takes no single-step trap itself (kvm-unit-tests syscall.c).
            if flagsOther & RFLAGS.tf == 0 { singleStepPending = false }
            cs = Self.flatCode64
            nextRIP = is64 ? msr.lstar : msr.cstar
        } else {
            // Legacy SYSCALL (AMD): EIP from STAR[31:0], IF/VM/RF cleared.
            gpr[GPR.rcx.rawValue] = nextRIP & 0xFFFF_FFFF
            setRFLAGS(rflags & ~(RFLAGS.vm | RFLAGS.if | RFLAGS.rf))
            cs = Self.flatCode32
            nextRIP = msr.star & 0xFFFF_FFFF
        }
        cs.selector = csSel
        ss.selector = csSel &+ 8
        setSegment(.cs, cs)
        setSegment(.ss, ss)
    }

    /// SYSRET: back to CPL 3 in 64-bit (REX.W) or compatibility mode. Intel raises #GP(0) at
    /// CPL 0 for a non-canonical RCX before changing anything.
    func execSysret(_ i: Inst) throws(Fault) {
        let amd = model.vendor == "AuthenticAMD"
        if efer & EFER.sce == 0 || !model.has(.syscall) { throw Fault.ud }
        if !is64 && !(amd && (mode == .compatibility || mode == .protected)) { throw Fault.ud }
        if cpl != 0 { throw Fault.gp(0) }
        let to64 = i.pointee.flags & DecodedInstruction.Flags.rexW != 0
        let base = UInt16(truncatingIfNeeded: msr.star >> 48)
        let rcx = gpr[GPR.rcx.rawValue]
        if to64 && !isCanonical(rcx) { throw Fault.gp(0) }
        var cs: SegmentRegister
        if to64 {
            cs = Self.flatCode64
            cs.selector = (base &+ 16) | 3
            nextRIP = rcx
        } else {
            cs = Self.flatCode32
            cs.selector = base | 3
            nextRIP = rcx & 0xFFFF_FFFF
        }
        cs.accessRights |= 3 << 5
        if efer & EFER.lma != 0 {
            setRFLAGS((gpr[11] & RFLAGS.writable & ~(RFLAGS.rf | RFLAGS.vm)) | RFLAGS.fixed1)
            // TF loaded by SYSRET single-steps at once: #DB after SYSRET, in the user context.
            if flagsOther & RFLAGS.tf != 0 { singleStepPending = true; singleStepArmedAt = .max }
        } else {
            setRFLAGS(rflags | RFLAGS.if)
        }
        var ss = Self.flatStack
        ss.selector = (base &+ 8) | 3
        ss.accessRights |= 3 << 5
        setSegment(.cs, cs)
        setSegment(.ss, ss)
    }

    /// SYSENTER: to CPL 0 at IA32_SYSENTER_CS:EIP with ESP from IA32_SYSENTER_ESP; #GP(0) in
    /// real mode or with a null SYSENTER_CS (AMD: #UD in 64-bit/compatibility mode).
    func execSysenter(_ i: Inst) throws(Fault) {
        if model.vendor == "AuthenticAMD" && efer & EFER.lma != 0 { throw Fault.ud }
        if mode == .real { throw Fault.gp(0) }
        let sel = UInt16(truncatingIfNeeded: msr.sysenterCS)
        if sel & 0xFFFC == 0 { throw Fault.gp(0) }
        setRFLAGS(rflags & ~(RFLAGS.vm | RFLAGS.if | RFLAGS.rf))
        var cs = efer & EFER.lma != 0 ? Self.flatCode64 : Self.flatCode32
        cs.selector = sel & 0xFFFC
        var ss = Self.flatStack
        ss.selector = (sel & 0xFFFC) &+ 8
        setSegment(.cs, cs)
        setSegment(.ss, ss)
        let long = efer & EFER.lma != 0
        gpr[GPR.rsp.rawValue] = long ? msr.sysenterESP : msr.sysenterESP & 0xFFFF_FFFF
        nextRIP = long ? msr.sysenterEIP : msr.sysenterEIP & 0xFFFF_FFFF
    }

    /// SYSEXIT: to CPL 3; REX.W returns to 64-bit mode (RIP ← RDX, RSP ← RCX, canonical).
    func execSysexit(_ i: Inst) throws(Fault) {
        if model.vendor == "AuthenticAMD" && efer & EFER.lma != 0 { throw Fault.ud }
        if mode == .real || mode == .virtual8086 { throw Fault.gp(0) }
        if cpl != 0 { throw Fault.gp(0) }
        let sel = UInt16(truncatingIfNeeded: msr.sysenterCS)
        if sel & 0xFFFC == 0 { throw Fault.gp(0) }
        let to64 = i.pointee.flags & DecodedInstruction.Flags.rexW != 0
        let rip = gpr[GPR.rdx.rawValue], sp = gpr[GPR.rcx.rawValue]
        if to64 && (!isCanonical(rip) || !isCanonical(sp)) { throw Fault.gp(0) }
        var cs = to64 ? Self.flatCode64 : Self.flatCode32
        cs.selector = (to64 ? sel &+ 32 : sel &+ 16) | 3
        cs.accessRights |= 3 << 5
        var ss = Self.flatStack
        ss.selector = (to64 ? sel &+ 40 : sel &+ 24) | 3
        ss.accessRights |= 3 << 5
        setSegment(.cs, cs)
        setSegment(.ss, ss)
        gpr[GPR.rsp.rawValue] = to64 ? sp : sp & 0xFFFF_FFFF
        nextRIP = to64 ? rip : rip & 0xFFFF_FFFF
    }
}
