/// HLT, the SMAP flag instructions, and instructions of features this processor does not
/// implement (which raise #UD exactly as the SDM specifies for an unsupported feature).
extension Processor {
    /// SDM Vol. 2A "HLT": CPL 0 only; enters the HLT activity state after the instruction.
    func execHlt(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        if nonRoot && controls.primary.contains(.hltExiting) { throw instructionExit(i, .hlt) }
        activity = .hlt
        pending |= PendingBit.stop
    }

    /// SDM Vol. 2A "CLAC"/"STAC": #UD without SMAP support or CPL > 0 (… in VMX non-root and
    /// outside 64-bit mode the CPL test is the same).
    func execClac(_ i: Inst) throws(Fault) {
        guard model.has(.smap) else { throw Fault.ud }
        if cpl != 0 { throw Fault.ud }
        flagsOther &= ~RFLAGS.ac
        updateAccessMasks()
    }

    func execStac(_ i: Inst) throws(Fault) {
        guard model.has(.smap) else { throw Fault.ud }
        if cpl != 0 { throw Fault.ud }
        flagsOther |= RFLAGS.ac
        updateAccessMasks()
    }

    /// MONITOR/MWAIT are not advertised (CPUID.1:ECX.MONITOR = 0): #UD.
    func execMonitor(_ i: Inst) throws(Fault) { throw Fault.ud }
    func execMwait(_ i: Inst) throws(Fault) { throw Fault.ud }

    // XGETBV/XSETBV: Execute/SIMD/XSAVE.swift.

    // RDPKRU/WRPKRU: Memory/ProtectionKeys.swift.

    /// GETSEC with CR4.SMXE = 0 raises #UD (SMX is not supported; SDM Vol. 2D "GETSEC").
    func execGetsec(_ i: Inst) throws(Fault) {
        try exitUnconditionally(i, .getsec)   // GETSEC exits in non-root operation before #UD
        throw Fault.ud
    }

    /// RSM outside SMM raises #UD (SDM Vol. 2B "RSM"; there is no SMM here).
    func execRsm(_ i: Inst) throws(Fault) { throw Fault.ud }
}
