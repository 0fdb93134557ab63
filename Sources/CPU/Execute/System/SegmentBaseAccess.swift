/// SWAPGS and the FS/GS base instructions (SDM Vol. 2B "SWAPGS", "RDFSBASE/RDGSBASE",
/// "WRFSBASE/WRGSBASE").
extension Processor {
    /// SWAPGS: exchanges GS.base with IA32_KERNEL_GS_BASE; 64-bit mode only, CPL 0.
    func execSwapgs(_ i: Inst) throws(Fault) {
        if !is64 { throw Fault.ud }
        if cpl != 0 { throw Fault.gp(0) }
        let gs = SegmentRegisterIndex.gs.rawValue
        let t = segments[gs].base
        segments[gs].base = msr.kernelGSBase
        msr.kernelGSBase = t                  // (advances systemStateEpoch)
    }

    private func checkFSGSBase() throws(Fault) {
        if !is64 || cr4 & CR4.fsgsbase == 0 || !model.has(.fsgsbase) { throw Fault.ud }
    }

    func execRdfsbase(_ i: Inst) throws(Fault) {
        try checkFSGSBase()
        writeReg(i.pointee.rm, i.pointee.opSize, segments[SegmentRegisterIndex.fs.rawValue].base)
    }

    func execRdgsbase(_ i: Inst) throws(Fault) {
        try checkFSGSBase()
        writeReg(i.pointee.rm, i.pointee.opSize, segments[SegmentRegisterIndex.gs.rawValue].base)
    }

    func execWrfsbase(_ i: Inst) throws(Fault) {
        try checkFSGSBase()
        let v = readReg(i.pointee.rm, i.pointee.opSize)
        if !isCanonical(v) { throw Fault.gp(0) }
        segments[SegmentRegisterIndex.fs.rawValue].base = v
        systemStateEpoch &+= 1
    }

    func execWrgsbase(_ i: Inst) throws(Fault) {
        try checkFSGSBase()
        let v = readReg(i.pointee.rm, i.pointee.opSize)
        if !isCanonical(v) { throw Fault.gp(0) }
        segments[SegmentRegisterIndex.gs.rawValue].base = v
        systemStateEpoch &+= 1
    }
}
