/// VMREAD and VMWRITE in VMX non-root operation with "VMCS shadowing" (SDM Vol. 3C ch. 31
/// "VMREAD", "VMWRITE" Operation; §26.1.3; §25.6.15 "VMCS Shadowing Bitmap Addresses"): an
/// access the VMREAD/VMWRITE bitmap lets through reads or writes the shadow VMCS the VMCS link
/// pointer references, without a VM exit.
extension Processor {
    /// Whether VMREAD/VMWRITE of `encoding` causes a VM exit (ch. 31 Operation): always when
    /// "VMCS shadowing" is 0 or the encoding sets any of bits 63:15; otherwise when its bit in
    /// the bitmap is 1 — bit x & 7 of the byte at physical address bitmap | (x >> 3), x =
    /// encoding[14:0]. An unreadable bitmap byte counts as all ones.
    func vmcsAccessExits(encoding: UInt64, bitmap: UInt64) -> Bool {
        guard controls.secondary.contains(.vmcsShadowing), encoding >> 15 == 0 else { return true }
        let x = encoding & 0x7FFF
        let byte = (try? memory.load(UInt8.self, at: bitmap | (x >> 3))) ?? 0xFF
        return byte & (1 << UInt8(x & 7)) != 0
    }

    /// The shadow VMCS for an access that did not exit, after the checks that come first: CPL
    /// > 0 → #GP(0); link pointer FFFFFFFF_FFFFFFFFH → VMfailInvalid (nil). A link pointer
    /// naming no VMCS registered with `registerVMCS` makes the access exit instead, so L0
    /// handles it.
    func shadowVMCSForAccess(_ i: Inst, _ reason: ExitReason) throws(Fault) -> VMCS? {
        if cpl > 0 { throw Fault.gp(0) }
        if controls.vmcsLinkPointer == ~0 {
            vmFailInvalid()
            return nil
        }
        guard let shadow = controls.shadowVMCS else { try vmxInstruction(i, reason); return nil }
        return shadow
    }

    /// What VMREAD and VMWRITE do first (SDM Vol. 3C ch. 31, "VMREAD"/"VMWRITE" Operation): #UD
    /// outside VMX operation and in the modes where VMX instructions are undefined; the operand
    /// size (64 bits in 64-bit mode, 32 otherwise) and the field encoding in the register operand.
    func vmcsAccessOperands(_ i: Inst) throws(Fault) -> (size: UInt8, encoding: UInt64) {
        guard nonRoot else { throw Fault.ud }
        if vmxInstructionUndefinedInMode { throw Fault.ud }
        let size: UInt8 = is64 ? 8 : 4
        return (size, readReg(i.pointee.reg, size))
    }

    /// VMREAD r/m, r: the register holds the field encoding; the destination is 64 bits in
    /// 64-bit mode, 32 bits otherwise (a longer field is truncated, a shorter one zero-extended).
    /// Unsupported field → VMfailValid(12), before any access to a memory destination.
    func execVmread(_ i: Inst) throws(Fault) {
        let (size, encoding) = try vmcsAccessOperands(i)
        if let root = l0Emulation?.guestVMXRoot { return try emulateVMREAD(i, encoding, size, root) }
        if vmcsAccessExits(encoding: encoding, bitmap: controls.vmreadBitmap) { return try vmxInstruction(i, .vmread) }
        guard let shadow = try shadowVMCSForAccess(i, .vmread) else { return }
        switch shadow.read(encoding: encoding) {
        case .failure(let e): vmFailValid(e.rawValue)
        case .success(let value):
            try writeRM(i, size, value)
            vmSucceed()
        }
    }

    /// VMWRITE r, r/m: the register holds the field encoding, r/m the value (64 bits in 64-bit
    /// mode, 32 otherwise). The source is read after the link pointer is found valid and before
    /// the field is checked; unsupported field → VMfailValid(12); a VM-exit information field
    /// → VMfailValid(13) unless IA32_VMX_MISC[29] allows writing it.
    func execVmwrite(_ i: Inst) throws(Fault) {
        let (size, encoding) = try vmcsAccessOperands(i)
        if let root = l0Emulation?.guestVMXRoot { return try emulateVMWRITE(i, encoding, size, root) }
        if vmcsAccessExits(encoding: encoding, bitmap: controls.vmwriteBitmap) { return try vmxInstruction(i, .vmwrite) }
        guard let shadow = try shadowVMCSForAccess(i, .vmwrite) else { return }
        let value = try readRM(i, size)
        let anyFieldWritable = vmxCapabilities.misc & (1 << 29) != 0
        if let e = shadow.write(encoding: encoding, value: value, anyFieldWritable: anyFieldWritable) {
            vmFailValid(e.rawValue)
        } else {
            vmSucceed()
        }
    }

    /// VMREAD in (a guest hypervisor's) VMX root operation (ch. 31 "VMREAD" Operation): CPL > 0
    /// → #GP(0); no current VMCS → VMfailInvalid; unsupported field → VMfailValid(12); else the
    /// field to r/m (truncated to 32 bits outside 64-bit mode), then VMsucceed.
    func emulateVMREAD(_ i: Inst, _ encoding: UInt64, _ size: UInt8, _ root: GuestVMXRootOperation) throws(Fault) {
        if let r = root.check(.vmread, cpl: cpl) { return try completeVMXRoot(r, root) }
        guard root.hasCurrentVMCS else { return vmFailInvalid() }
        switch root.vmread(encoding: encoding) {
        case .failure(let e): try completeVMXRoot(.fail(e), root)
        case .success(let value):
            try writeRM(i, size, value)
            vmSucceed()
        }
    }

    /// VMWRITE in VMX root operation (ch. 31 "VMWRITE" Operation): CPL > 0 → #GP(0); no
    /// current VMCS → VMfailInvalid; the source read; unsupported field → VMfailValid(12),
    /// read-only field → VMfailValid(13) (unless IA32_VMX_MISC[29]); else VMsucceed.
    func emulateVMWRITE(_ i: Inst, _ encoding: UInt64, _ size: UInt8, _ root: GuestVMXRootOperation) throws(Fault) {
        if let r = root.check(.vmwrite, cpl: cpl) { return try completeVMXRoot(r, root) }
        guard root.hasCurrentVMCS else { return vmFailInvalid() }
        let value = try readRM(i, size)
        if let e = root.vmwrite(encoding: encoding, value: value) { try completeVMXRoot(.fail(e), root) } else { vmSucceed() }
    }
}
