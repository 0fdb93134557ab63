/// Cache and TLB management and hints (SDM Vol. 2A/2B "INVLPG", "INVPCID", "INVD", "WBINVD",
/// "CLFLUSH", "LFENCE/MFENCE/SFENCE", "PAUSE"; Vol. 3A §4.10.4).
extension Processor {
    /// INVLPG m: drop the translation of the page containing the linear address (CPL 0). A
    /// non-canonical address in 64-bit mode is a no-op (§4.10.4.1).
    func execInvlpg(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        if nonRoot && controls.primary.contains(.invlpgExiting) {
            throw instructionExit(i, .invlpg, qualification: effectiveAddress(i) &+ segments[Int(i.pointee.seg)].base)
        }
        // In 64-bit mode a non-canonical address makes INVLPG a NOP, not #GP (SDM Vol. 2A
        // INVLPG, 64-bit mode exceptions); segment limits apply outside it.
        if is64 {
            let seg = Int(i.pointee.seg)
            let la = effectiveAddress(i) &+ (seg >= 4 ? segments[seg].base : 0)   // FS/GS only
            if isCanonical(la) { invalidateMappingsForINVLPG(la) }
            return
        }
        invalidateMappingsForINVLPG(try memoryOperandLinear(i, 1, write: false))
    }

    /// INVPCID r, m128 (SDM Vol. 2A "INVPCID"): descriptor = PCID in bits 11:0, linear address
    /// in 127:64; types 0 (individual address), 1 (single context), 2 (all incl. global),
    /// 3 (all but global), each for the current VPID (`invalidateMappingsForINVPCID`).
    func execInvpcid(_ i: Inst) throws(Fault) {
        guard model.has(.invpcid), i.pointee.isMemory else { throw Fault.ud }
        // In VMX non-root operation INVPCID needs "enable INVPCID" (else #UD) and exits with
        // "INVLPG exiting" (SDM Vol. 3C §26.3, §26.1.3).
        if nonRoot && !controls.secondary.contains(.enableINVPCID) { throw Fault.ud }
        if cpl != 0 { throw Fault.gp(0) }
        if nonRoot && controls.primary.contains(.invlpgExiting) {
            throw instructionExit(i, .invpcid, qualification: UInt64(bitPattern: i.pointee.disp), info: vmxInstructionInformation(i))
        }
        let type = readReg(i.pointee.reg, is64 ? 8 : 4)
        let ea = effectiveAddress(i)
        let lo = try read(Int(i.pointee.seg), ea, UInt64.self)
        let hi = try read(Int(i.pointee.seg), ea &+ 8, UInt64.self)
        if lo >> 12 != 0 { throw Fault.gp(0) }                     // descriptor bits 63:12 reserved
        let pcid = lo & 0xFFF
        switch type {
        case 0:
            if !isCanonical(hi) { throw Fault.gp(0) }
            if cr4 & CR4.pcide == 0 && pcid != 0 { throw Fault.gp(0) }
        case 1:
            if cr4 & CR4.pcide == 0 && pcid != 0 { throw Fault.gp(0) }
        case 2, 3: break
        default: throw Fault.gp(0)
        }
        invalidateMappingsForINVPCID(type: type, pcid: UInt16(pcid), linearAddress: hi)
    }

    /// INVD / WBINVD: CPL 0; caches are coherent here, so nothing else happens.
    func execInvd(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        try exitUnconditionally(i, .invd)
    }

    func execWbinvd(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        if nonRoot && controls.secondary.contains(.wbinvdExiting) { throw instructionExit(i, .wbinvd) }
    }

    /// CLFLUSH m8: faults as a byte read of the address would (except #PF on a not-present
    /// page behaves as a read), then does nothing.
    func execClflush(_ i: Inst) throws(Fault) {
        guard i.pointee.isMemory else { throw Fault.ud }
        let la = try memoryOperandLinear(i, 1, write: false)
        _ = try readLinear(la, UInt8.self)
    }

    func execLfence(_ i: Inst) throws(Fault) {}
    func execMfence(_ i: Inst) throws(Fault) {}
    func execSfence(_ i: Inst) throws(Fault) {}

    /// PAUSE: a spin-loop hint (a VM exit with "PAUSE exiting", SDM Vol. 3C §26.1.3); it
    /// takes the model's PAUSE latency of virtual time (`stallTime`).
    func execPause(_ i: Inst) throws(Fault) {
        if nonRoot && controls.primary.contains(.pauseExiting) { throw instructionExit(i, .pause) }
        stallTime &+= model.pauseLatency
        if vmxEvents.timer.active { pending |= PendingBit.eventWindow }   // the timer counts it
    }
}
