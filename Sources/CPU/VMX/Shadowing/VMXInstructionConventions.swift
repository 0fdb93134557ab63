/// How VMX instructions report success and failure (SDM Vol. 3C §31.2 "Conventions"):
/// VMsucceed clears CF, PF, AF, ZF, SF, OF; VMfailInvalid sets CF and clears the others;
/// VMfailValid sets ZF, clears the others and stores the error number in the VM-instruction
/// error field of the current VMCS.
extension Processor {
    /// VMsucceed (§31.2).
    func vmSucceed() { flags.set(0) }

    /// VMfailInvalid (§31.2): CF = 1.
    func vmFailInvalid() { flags.set(RFLAGS.cf) }

    /// VMfailValid(error) (§31.2): ZF = 1 and the VM-instruction error field of the current
    /// VMCS — in VMX non-root operation the ordinary VMCS the processor is running under —
    /// holds `error` (Table 31-1).
    func vmFailValid(_ error: UInt32) {
        flags.set(RFLAGS.zf)
        controls.currentVMCS?[.vmInstructionError] = UInt64(error)
    }
}
