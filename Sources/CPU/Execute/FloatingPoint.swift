/// x87 instructions. This processor implements no x87 FPU (CPUID.1:EDX.FPU = 0). ESC (D8–DF)
/// and WAIT follow CR0.EM/TS for #NM (SDM Vol. 3A §2.5, Table 2-2); without an FPU they then
/// raise #UD. MMX/SSE and FXSAVE/FXRSTOR/XSAVE/XRSTOR are in Execute/SIMD/.
extension Processor {
    func checkDeviceNotAvailable() throws(Fault) {
        if cr0 & (CR0.em | CR0.ts) != 0 { throw Fault.nm }
    }

    func execX87(_ i: Inst) throws(Fault) {
        try checkDeviceNotAvailable()
        throw Fault.ud
    }

    func execFwait(_ i: Inst) throws(Fault) {
        // WAIT checks only MP and TS; with no FPU and no pending x87 exception it is a no-op.
        if cr0 & (CR0.mp | CR0.ts) == CR0.mp | CR0.ts { throw Fault.nm }
    }
}
