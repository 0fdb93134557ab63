/// x87 escape (D8–DF) and WAIT entry points; the x87 FPU itself is in Execute/X87/, MMX/SSE
/// and FXSAVE/FXRSTOR/XSAVE/XRSTOR in Execute/SIMD/. ESC and WAIT follow CR0.EM/MP/TS for
/// #NM (SDM Vol. 3A §2.5, Table 2-2) first; without the `.x87` feature in the model (or on a
/// host without an x87 `Float80`, which the implementation computes with) ESC then raises #UD.
extension Processor {
    func checkDeviceNotAvailable() throws(Fault) {
        if cr0 & (CR0.em | CR0.ts) != 0 { throw Fault.nm }
    }

    func execX87(_ i: Inst) throws(Fault) {
        try checkDeviceNotAvailable()
        guard model.has(.x87) else { throw Fault.ud }
        #if arch(x86_64) && canImport(Glibc)
        try x87Execute(i)
        #else
        throw Fault.ud
        #endif
    }

    /// WAIT/FWAIT (SDM Vol. 2B WAIT/FWAIT): #NM only when CR0.MP = 1 and CR0.TS = 1; then
    /// #MF for a pending unmasked x87 exception (X87Exceptions.swift).
    func execFwait(_ i: Inst) throws(Fault) {
        if cr0 & (CR0.mp | CR0.ts) == CR0.mp | CR0.ts { throw Fault.nm }
        if model.has(.x87) { try x87PendingFault() }
    }
}
