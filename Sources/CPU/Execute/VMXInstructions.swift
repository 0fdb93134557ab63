/// VMX instructions executed by guest code. In VMX non-root operation every one of them
/// causes a VM exit (SDM Vol. 3C §26.1.2) — L0 emulates them for its guests (nested VMX) —
/// except VMREAD/VMWRITE that "VMCS shadowing" lets reach the shadow VMCS (§26.1.3).
/// Outside VMX non-root operation the processor has no VMX root mode of its own (L0 is
/// Swift), so they raise #UD, as they do on any processor with CR4.VMXE = 0.
extension Processor {
    /// VM-exit instruction information for a memory or register operand (§28.2.5, Tables
    /// 28-12 to 28-14): scaling 1:0, register 6:3 (reg forms), address size 9:7, register
    /// operand 10, segment 17:15, index 21:18 (+ invalid 22), base 26:23 (+ invalid 27),
    /// second register 31:28.
    func vmxInstructionInformation(_ i: Inst) -> UInt32 {
        var info: UInt32 = UInt32(i.pointee.reg & 15) << 28
        let addrSize: UInt32 = i.pointee.addrSize == 2 ? 0 : (i.pointee.addrSize == 4 ? 1 : 2)
        info |= addrSize << 7
        if i.pointee.isMemory {
            info |= UInt32(i.pointee.scale & 3)
            info |= UInt32(i.pointee.seg & 7) << 15
            if i.pointee.index == DecodedInstruction.noRegister { info |= 1 << 22 }
            else { info |= UInt32(i.pointee.index & 15) << 18 }
            if i.pointee.base == DecodedInstruction.noRegister || i.pointee.base == DecodedInstruction.ripBase { info |= 1 << 27 }
            else { info |= UInt32(i.pointee.base & 15) << 23 }
        } else {
            info |= 1 << 10
            info |= UInt32(i.pointee.rm & 15) << 3
        }
        return info
    }

    /// The #UD conditions every VMX instruction but VMCALL and VMFUNC checks before anything
    /// else (ch. 31 Operation): CR0.PE = 0, RFLAGS.VM = 1, or compatibility mode.
    var vmxInstructionUndefinedInMode: Bool { mode == .real || mode == .virtual8086 || mode == .compatibility }

    /// SDM Vol. 3C §26.1.2 — in VMX non-root operation a VMX instruction (after its #UD
    /// checks) causes a VM exit, with the displacement as qualification for memory operands
    /// (§28.2.1) and the instruction information (§28.2.5). When L0 emulates the instruction
    /// for a guest hypervisor, its root-operation semantics run instead (`emulateVMXRoot`).
    func vmxInstruction(_ i: Inst, _ reason: ExitReason) throws(Fault) {
        guard nonRoot else { throw Fault.ud }
        if reason != .vmcall && vmxInstructionUndefinedInMode { throw Fault.ud }
        if let root = l0Emulation?.guestVMXRoot { return try emulateVMXRoot(i, reason, root) }
        let q = i.pointee.isMemory ? UInt64(bitPattern: i.pointee.disp) : 0
        throw instructionExit(i, reason, qualification: q, info: vmxInstructionInformation(i))
    }

    func execVmcall(_ i: Inst) throws(Fault) { try vmxInstruction(i, .vmcall) }
    func execVmlaunch(_ i: Inst) throws(Fault) { try vmxInstruction(i, .vmlaunch) }
    func execVmresume(_ i: Inst) throws(Fault) { try vmxInstruction(i, .vmresume) }
    func execVmxoff(_ i: Inst) throws(Fault) { try vmxInstruction(i, .vmxoff) }
    /// SDM Vol. 3C ch. 31 "VMFUNC": #UD outside VMX non-root operation or with "enable VM
    /// functions" = 0 (this processor implements no VM function, so it is never 1).
    func execVmfunc(_ i: Inst) throws(Fault) {
        guard nonRoot, controls.secondary.contains(.enableVMFunctions) else { throw Fault.ud }
        try vmxInstruction(i, .vmfunc)
    }
    // VMREAD and VMWRITE: see ShadowVMCSAccess.swift (VMCS shadowing).
    func execVmptrld(_ i: Inst) throws(Fault) { try vmxInstruction(i, .vmptrld) }
    func execVmptrst(_ i: Inst) throws(Fault) { try vmxInstruction(i, .vmptrst) }
    func execVmclear(_ i: Inst) throws(Fault) { try vmxInstruction(i, .vmclear) }
    func execVmxon(_ i: Inst) throws(Fault) { try vmxInstruction(i, .vmxon) }
    func execInvept(_ i: Inst) throws(Fault) { try vmxInstruction(i, .invept) }
    func execInvvpid(_ i: Inst) throws(Fault) { try vmxInstruction(i, .invvpid) }
}
