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
            throw instructionExit(i, .crAccess, qualification: UInt64(cr) | (UInt64(i.pointee.rm & 15) << 8))
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

    /// Qualification for MOV CR (Table 28-3): CR number 3:0, access type 5:4, GPR 11:8.
    static func crQualification(_ cr: UInt8, toCR: Bool, _ gpr: UInt8) -> UInt64 {
        UInt64(cr) | (toCR ? 0 : 1 << 4) | (UInt64(gpr & 15) << 8)
    }

    /// I/O instruction exits (§26.1.3: unconditional I/O exiting, or the I/O bitmaps when
    /// "use I/O bitmaps" is 1) with the qualification of Table 28-5.
    func ioExit(_ i: Inst, port: UInt16, size: Int, input: Bool, string: Bool, immediate: Bool) throws(Fault) {
        guard nonRoot && !emulatingForL0 else { return }
        var exits: Bool
        if controls.primary.contains(.useIOBitmaps) {
            exits = false
            for k in 0..<size {
                let p = UInt32(port) &+ UInt32(k)
                if p > 0xFFFF { exits = true; break }          // wrap-around exits
                let base = p < 0x8000 ? controls.ioBitmapA : controls.ioBitmapB
                let byte = (try? memory.load(UInt8.self, at: base &+ UInt64((p & 0x7FFF) >> 3))) ?? 0xFF
                if byte & (1 << (p & 7)) != 0 { exits = true; break }
            }
        } else {
            exits = controls.primary.contains(.unconditionalIOExiting)
        }
        guard exits else { return }
        let rep = i.pointee.flags & (DecodedInstruction.Flags.rep | DecodedInstruction.Flags.repne) != 0
        let q = UInt64(size - 1) | (input ? 1 << 3 : 0) | (string ? 1 << 4 : 0) | (string && rep ? 1 << 5 : 0)
            | (immediate ? 1 << 6 : 0) | (UInt64(port) << 16)
        throw instructionExit(i, .ioInstruction, qualification: q)
    }

    /// RDMSR/WRMSR exits: always without MSR bitmaps; with them, by the read/write bitmap bit
    /// for the low (0–0x1FFF) and high (0xC0000000–0xC0001FFF) ranges, all others exiting
    /// (§26.1.3, §25.6.9).
    func msrExit(_ i: Inst, write: Bool) throws(Fault) {
        guard nonRoot && !emulatingForL0 else { return }
        let index = UInt32(truncatingIfNeeded: gpr[1])
        var exits = true
        if controls.primary.contains(.useMSRBitmaps) {
            var offset: UInt64?
            if index <= 0x1FFF { offset = write ? 0x800 : 0 }
            else if index >= 0xC000_0000 && index <= 0xC000_1FFF { offset = write ? 0xC00 : 0x400 }
            if let o = offset {
                let bit = UInt64(index & 0x1FFF)
                let byte = (try? memory.load(UInt8.self, at: controls.msrBitmaps &+ o &+ (bit >> 3))) ?? 0xFF
                exits = byte & (1 << (bit & 7)) != 0
            }
        }
        if exits { throw instructionExit(i, write ? .wrmsr : .rdmsr) }
    }
}
