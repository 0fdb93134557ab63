/// Flag instructions: CLC STC CMC CLI STI CLD STD PUSHF POPF (SDM Vol. 2A/2B).
extension Processor {
    /// Blocks interrupts (STI) or interrupts and debug traps (MOV SS/POP SS) at the boundary
    /// after the current instruction (SDM Vol. 3A §6.8.3).
    func setShadowAfterThisInstruction(_ b: InterruptShadow) {
        shadowBits = b
        shadowRetired = instructionsRetired &+ 1
    }

    var iopl: Int { Int((flagsOther >> 12) & 3) }

    func execClc(_ i: Inst) throws(Fault) { flags.set(flags.value & ~RFLAGS.cf) }
    func execStc(_ i: Inst) throws(Fault) { flags.set(flags.value | RFLAGS.cf) }
    func execCmc(_ i: Inst) throws(Fault) { flags.set(flags.value ^ RFLAGS.cf) }
    func execCld(_ i: Inst) throws(Fault) { flagsOther &= ~RFLAGS.df }
    func execStd(_ i: Inst) throws(Fault) { flagsOther |= RFLAGS.df }

    /// SDM Vol. 2A "CLI": IF ← 0 if IOPL permits; VIF ← 0 under PVI/VME; else #GP(0).
    func execCli(_ i: Inst) throws(Fault) {
        if mode == .real || (mode != .virtual8086 && iopl >= cpl) || (mode == .virtual8086 && iopl == 3) {
            setRFLAGS(rflags & ~RFLAGS.if)
        } else if (mode != .virtual8086 && cpl == 3 && cr4 & CR4.pvi != 0)
                    || (mode == .virtual8086 && cr4 & CR4.vme != 0) {
            flagsOther &= ~RFLAGS.vif
        } else {
            throw Fault.gp(0)
        }
    }

    /// SDM Vol. 2B "STI": IF ← 1 if IOPL permits (interrupts stay blocked until after the next
    /// instruction when IF was 0); VIF ← 1 under PVI/VME unless VIP; else #GP(0).
    func execSti(_ i: Inst) throws(Fault) {
        if mode == .real || (mode != .virtual8086 && iopl >= cpl) || (mode == .virtual8086 && iopl == 3) {
            if flagsOther & RFLAGS.if == 0 {
                setRFLAGS(rflags | RFLAGS.if)
                setShadowAfterThisInstruction(.sti)
            }
        } else if (mode != .virtual8086 && cpl == 3 && cr4 & CR4.pvi != 0)
                    || (mode == .virtual8086 && cr4 & CR4.vme != 0) {
            if flagsOther & RFLAGS.vip != 0 { throw Fault.gp(0) }
            flagsOther |= RFLAGS.vif
        } else {
            throw Fault.gp(0)
        }
    }

    /// SDM Vol. 2B "PUSHF/PUSHFD/PUSHFQ": VM and RF are pushed as 0; in virtual-8086 mode
    /// with IOPL < 3, #GP(0) unless CR4.VME (then VIF is pushed in the IF position).
    func execPushf(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        var v = rflags & ~(RFLAGS.vm | RFLAGS.rf)
        if mode == .virtual8086 && iopl < 3 {
            guard cr4 & CR4.vme != 0 && s == 2 else { throw Fault.gp(0) }
            v = (v & ~RFLAGS.if) | (flagsOther & RFLAGS.vif != 0 ? RFLAGS.if : 0)
            v |= RFLAGS.iopl
        }
        try push(v & Processor.mask(s), size: s)
    }

    /// SDM Vol. 2B "POPF/POPFD/POPFQ": which flags change depends on the mode, CPL and IOPL;
    /// VIP, VIF and VM never change; RF is cleared.
    func execPopf(_ i: Inst) throws(Fault) {
        let s = i.pointee.opSize
        let popped = try peek(size: s)
        let old = rflags
        var mask: UInt64 = RFLAGS.arithmetic | RFLAGS.tf | RFLAGS.df | RFLAGS.nt | RFLAGS.ac | RFLAGS.id
            | RFLAGS.if | RFLAGS.iopl
        if mode == .virtual8086 {
            if iopl < 3 {
                guard cr4 & CR4.vme != 0 && s == 2 else { throw Fault.gp(0) }
                // VME: IF goes to VIF; #GP if it would set TF or enable with VIP pending.
                if popped & RFLAGS.tf != 0 || (popped & RFLAGS.if != 0 && old & RFLAGS.vip != 0) {
                    throw Fault.gp(0)
                }
                adjustSP(UInt64(s))
                mask = (RFLAGS.arithmetic | RFLAGS.df | RFLAGS.nt) & 0xFFFF
                var n = (old & ~mask) | (popped & mask)
                n = popped & RFLAGS.if != 0 ? n | RFLAGS.vif : n & ~RFLAGS.vif
                setRFLAGS(n & ~RFLAGS.rf)
                return
            }
            mask &= ~RFLAGS.iopl
        } else if mode != .real {
            if cpl > 0 { mask &= ~RFLAGS.iopl }
            if cpl > iopl { mask &= ~RFLAGS.if }
        }
        if s == 2 { mask &= 0xFFFF }
        adjustSP(UInt64(s))
        setRFLAGS(((old & ~mask) | (popped & mask)) & ~RFLAGS.rf)
    }
}
