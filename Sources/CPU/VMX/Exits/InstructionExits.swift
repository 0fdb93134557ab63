/// VM exits caused by instructions in VMX non-root operation (SDM Vol. 3C §26.1.2
/// "Instructions That Cause VM Exits Unconditionally", §26.1.3 "… Conditionally"), with the
/// exit information of §28.2.1 (qualifications), §28.2.4 (instruction length) and §28.2.5
/// (instruction information). Handlers call these after the checks with priority over VM
/// exits (#UD, CPL-based faults; §26.1.1).
extension Processor {
    /// Records an instruction-caused exit and returns the fault that ends the instruction.
    func instructionExit(_ i: Inst, _ reason: ExitReason, qualification: UInt64 = 0, info: UInt32 = 0) -> Fault {
        pendingExit = PendingExit()
        pendingExit.reason = reason
        pendingExit.qualification = qualification
        pendingExit.instructionLength = UInt32(i.pointee.length)
        pendingExit.instructionInfo = info
        return .vmExit
    }

    /// CPUID, INVD, GETSEC, XSETBV and the VMX instructions exit unconditionally.
    func exitUnconditionally(_ i: Inst, _ reason: ExitReason) throws(Fault) {
        if nonRoot && !emulatingForL0 { throw instructionExit(i, reason) }
    }

    /// MOV to CR0/CR4 under a guest/host mask: exits when a masked bit would differ from the
    /// read shadow (§26.1.3); otherwise the masked bits keep their current values.
    func guestControlRegisterWrite(_ i: Inst, cr: UInt8, value: UInt64) throws(Fault) -> UInt64 {
        guard nonRoot else { return value }
        let (mask, shadow, current) = cr == 0 ? (controls.cr0Mask, controls.cr0Shadow, cr0)
                                               : (controls.cr4Mask, controls.cr4Shadow, cr4)
        if (value ^ shadow) & mask != 0 && !emulatingForL0 {
            let q = ControlRegisterAccessQualification(controlRegister: cr, access: .movToCR, register: i.pointee.rm)
            throw instructionExit(i, .crAccess, qualification: q.rawValue)
        }
        return (value & ~mask) | (current & mask)
    }

    /// MOV from CR0/CR4: masked bits read from the read shadow (§26.3 "Changes to Instruction
    /// Behavior in VMX Non-Root Operation").
    func guestControlRegisterRead(cr: UInt8, value: UInt64) -> UInt64 {
        guard nonRoot else { return value }
        let (mask, shadow) = cr == 0 ? (controls.cr0Mask, controls.cr0Shadow) : (controls.cr4Mask, controls.cr4Shadow)
        return (value & ~mask) | (shadow & mask)
    }

    /// I/O instruction exits (§26.1.3: unconditional I/O exiting, or the I/O bitmaps when
    /// "use I/O bitmaps" is 1) with the qualification of Table 28-5.
    func ioExit(_ i: Inst, port: UInt16, size: Int, input: Bool, string: Bool, immediate: Bool) throws(Fault) {
        guard nonRoot && !emulatingForL0 else { return }
        let exits = IOBitmaps.accessExits(port: port, size: size, controls: controls.primary, bitmapA: controls.ioBitmapA,
                                          bitmapB: controls.ioBitmapB) { try? memory.load(UInt8.self, at: $0) }
        guard exits else { return }
        let rep = i.pointee.flags & (DecodedInstruction.Flags.rep | DecodedInstruction.Flags.repne) != 0
        let q = IOInstructionQualification(port: port, size: size, input: input, string: string, rep: rep, immediate: immediate)
        throw instructionExit(i, .ioInstruction, qualification: q.rawValue)
    }

    /// RDMSR/WRMSR exits: always without MSR bitmaps; with them, by the read/write bitmap bit
    /// for the low (0–0x1FFF) and high (0xC0000000–0xC0001FFF) ranges, all others exiting
    /// (§26.1.3, §25.6.9).
    func msrExit(_ i: Inst, write: Bool) throws(Fault) {
        guard nonRoot && !emulatingForL0 else { return }
        let index = UInt32(truncatingIfNeeded: gpr[1])
        let exits = MSRBitmap.accessExits(index: index, write: write, controls: controls.primary,
                                          bitmap: controls.msrBitmaps) { try? memory.load(UInt8.self, at: $0) }
        if exits { throw instructionExit(i, write ? .wrmsr : .rdmsr) }
    }
}
