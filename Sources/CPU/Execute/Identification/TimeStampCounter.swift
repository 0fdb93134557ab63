/// The time-stamp counter and related instructions (SDM Vol. 2B "RDTSC", "RDTSCP", "RDPID",
/// "RDPMC", "RDRAND"; Vol. 3A §18.17 "Time-Stamp Counter").
extension Processor {
    /// The TSC: virtual, advancing `model.tscPerInstruction` per retired instruction, plus the
    /// offset L0 applies (`timeStampOffset`, like the VMCS TSC offset) and the guest's own
    /// adjustments (WRMSR to IA32_TSC / IA32_TSC_ADJUST).
    public var timeStampCounter: UInt64 {
        elapsedTime &* model.tscPerInstruction &+ timeStampOffset &+ UInt64(bitPattern: msr.tscOffset)
    }

    /// RDTSC: CR4.TSD with CPL > 0 → #GP(0).
    func execRdtsc(_ i: Inst) throws(Fault) {
        if cr4 & CR4.tsd != 0 && cpl > 0 { throw Fault.gp(0) }
        if nonRoot && controls.primary.contains(.rdtscExiting) {
            throw instructionExit(i, i.pointee.op == .rdtscp ? .rdtscp : .rdtsc)
        }
        var t = timeStampCounter
        if nonRoot && controls.primary.contains(.useTSCOffsetting) { t &+= controls.tscOffset }
        gpr[0] = t & 0xFFFF_FFFF
        gpr[2] = t >> 32
    }

    /// RDTSCP: RDTSC plus ECX ← IA32_TSC_AUX.
    func execRdtscp(_ i: Inst) throws(Fault) {
        guard model.has(.rdtscp) else { throw Fault.ud }
        if nonRoot && !controls.secondary.contains(.enableRDTSCP) { throw Fault.ud }
        try execRdtsc(i)
        gpr[1] = msr.tscAux & 0xFFFF_FFFF
    }

    /// RDPID r: IA32_TSC_AUX into a register. In VMX non-root operation it needs "enable
    /// RDTSCP" like RDTSCP (SDM Vol. 3C §26.3: RDPID #UD when the control is 0).
    func execRdpid(_ i: Inst) throws(Fault) {
        guard model.has(.rdpid) else { throw Fault.ud }
        if nonRoot && !controls.secondary.contains(.enableRDTSCP) { throw Fault.ud }
        writeReg(i.pointee.rm, is64 ? 8 : 4, msr.tscAux)
    }

    /// RDPMC (SDM Vol. 2B "RDPMC"; AMD64 APM Vol. 3 "RDPMC"): after the CR4.PCE privilege
    /// check, EDX:EAX ← the counter ECX selects. An Intel-vendor model has no counters
    /// (CPUID.0AH reports version 0), so every index is invalid: #GP(0). An AMD-vendor model
    /// has the four legacy counters every AMD64 processor has, ECX 0–3 → PerfCtr0–3
    /// (C0010004H–C0010007H), so RDPMC reads what RDMSR reads; other indices #GP(0).
    func execRdpmc(_ i: Inst) throws(Fault) {
        if cr4 & CR4.pce == 0 && cpl > 0 { throw Fault.gp(0) }
        if nonRoot && controls.primary.contains(.rdpmcExiting) { throw instructionExit(i, .rdpmc) }
        let counter = gpr[1] & 0xFFFF_FFFF
        guard model.isAMD, counter < 4 else { throw Fault.gp(0) }
        let v = msr.legacyPerformance[4 + Int(counter)]
        gpr[0] = v & 0xFFFF_FFFF
        gpr[2] = v >> 32
    }

    /// RDRAND/RDSEED are not advertised: #UD.
    func execRdrand(_ i: Inst) throws(Fault) { throw Fault.ud }
    func execRdseed(_ i: Inst) throws(Fault) { throw Fault.ud }
}
