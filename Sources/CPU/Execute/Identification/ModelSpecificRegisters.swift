/// The model-specific registers this processor implements, as one table (SDM Vol. 4 Table 2-2
/// "IA-32 Architectural MSRs"), and RDMSR/WRMSR (SDM Vol. 2B "RDMSR", "WRMSR").
/// Platform MSRs (local APIC) go to L0's `platformRegisters` first. An index in neither raises
/// #GP(0).
struct ModelSpecificRegister: Sendable {
    let index: UInt32
    let name: String
    /// nil: the read raises #GP(0).
    let read: @Sendable (Processor) -> UInt64?
    /// false: the write raises #GP(0).
    let write: @Sendable (Processor, UInt64) -> Bool
}

extension Processor {
    static func patValid(_ v: UInt64) -> Bool {
        (0..<8).allSatisfy { [0, 1, 4, 5, 6, 7].contains((v >> (8 * UInt64($0))) & 0xFF) }
    }

    /// EFER bits software may write: SCE (with SYSCALL), LME, NXE (with NX); LMA is read-only.
    var eferWritable: UInt64 {
        var m = EFER.lme | EFER.lma
        if model.has(.syscall) { m |= EFER.sce }
        if model.has(.nx) { m |= EFER.nxe }
        return m
    }

    /// WRMSR IA32_EFER (SDM Vol. 3A §2.2.1): reserved bits → #GP; LME cannot change while
    /// paging is enabled; LMA keeps the value the processor maintains.
    func writeEFER(_ v: UInt64) -> Bool {
        if v & ~eferWritable != 0 { return false }
        if cr0 & CR0.pg != 0 && (v ^ efer) & EFER.lme != 0 { return false }
        let old = efer
        efer = (v & ~EFER.lma) | (efer & EFER.lma)
        if (old ^ efer) & EFER.nxe != 0 { invalidateMappingsOfCurrentVPID() }
        updateMode()
        return true
    }

    /// IA32_ARCH_CAPABILITIES (SDM Vol. 4 Table 2-2, 10AH; Intel's "CPUID Enumeration and
    /// Architectural MSRs"): the "not affected" bits true of a processor that executes nothing
    /// speculatively, keeps no L1D, fill, store or load-port buffers another context could
    /// sample and never raises #MC on a page-size change — this one. (An OS then needs no
    /// page-table isolation, buffer clearing or L1D flush on VM entry.) No mitigation
    /// controls (IBRS_ALL, TSX_CTRL, FB_CLEAR) are claimed.
    static let archCapabilityBits: [(bit: UInt64, name: String)] = [
        (0, "RDCL_NO"), (3, "SKIP_L1DFL_VMENTRY"), (4, "SSB_NO"), (5, "MDS_NO"), (6, "IF_PSCHANGE_MC_NO"),
        (8, "TAA_NO"), (13, "SBDR_SSDP_NO"), (14, "FBSDP_NO"), (15, "PSDP_NO"), (20, "BHI_NO"),
        (24, "PBRSB_NO"), (26, "GDS_NO"), (27, "RFDS_NO"),
    ]
    static let archCapabilities: UInt64 = archCapabilityBits.reduce(0) { $0 | 1 << $1.bit }

    static let msrTable: [ModelSpecificRegister] = [
        ModelSpecificRegister(index: MSRIndex.tsc, name: "IA32_TIME_STAMP_COUNTER",
                              read: { $0.timeStampCounter },
                              write: { p, v in p.msr.tscOffset = Int64(bitPattern: v &- (p.timeStampCounter &- UInt64(bitPattern: p.msr.tscOffset))); return true }),
        ModelSpecificRegister(index: MSRIndex.platformID, name: "IA32_PLATFORM_ID", read: { _ in 0 }, write: { _, _ in false }),
        ModelSpecificRegister(index: MSRIndex.apicBase, name: "IA32_APIC_BASE", read: { $0.msr.apicBase },
                              write: { p, v in
                                  if v & 0x2FF != 0 || v & ~p.model.physicalAddressMask != 0 { return false }
                                  p.msr.apicBase = (v & ~(1 << 8)) | (p.msr.apicBase & (1 << 8)); return true }),
        ModelSpecificRegister(index: MSRIndex.featureControl, name: "IA32_FEATURE_CONTROL", read: { $0.msr.featureControl },
                              write: { p, v in
                                  // Lock (0), VMX in SMX (1), VMX outside SMX (2); locked → #GP.
                                  if p.msr.featureControl & 1 != 0 || v & ~0x7 != 0 { return false }
                                  p.msr.featureControl = v; return true }),
        ModelSpecificRegister(index: MSRIndex.tscAdjust, name: "IA32_TSC_ADJUST", read: { $0.msr.tscAdjust },
                              write: { p, v in
                                  // Writing TSC_ADJUST moves the TSC by the same amount (§18.17.3).
                                  p.msr.tscOffset = p.msr.tscOffset &+ Int64(bitPattern: v &- p.msr.tscAdjust)
                                  p.msr.tscAdjust = v; return true }),
        ModelSpecificRegister(index: MSRIndex.biosSignID, name: "IA32_BIOS_SIGN_ID", read: { _ in 0 }, write: { _, _ in true }),
        ModelSpecificRegister(index: MSRIndex.archCapabilities, name: "IA32_ARCH_CAPABILITIES",
                              read: { p in p.model.has(.archCapabilities) ? Processor.archCapabilities : nil },
                              write: { _, _ in false }),
        ModelSpecificRegister(index: MSRIndex.sysenterCS, name: "IA32_SYSENTER_CS", read: { $0.msr.sysenterCS },
                              write: { p, v in p.msr.sysenterCS = v & 0xFFFF_FFFF; return true }),
        ModelSpecificRegister(index: MSRIndex.sysenterESP, name: "IA32_SYSENTER_ESP", read: { $0.msr.sysenterESP },
                              write: { p, v in guard p.isCanonical(v) else { return false }; p.msr.sysenterESP = v; return true }),
        ModelSpecificRegister(index: MSRIndex.sysenterEIP, name: "IA32_SYSENTER_EIP", read: { $0.msr.sysenterEIP },
                              write: { p, v in guard p.isCanonical(v) else { return false }; p.msr.sysenterEIP = v; return true }),
        ModelSpecificRegister(index: MSRIndex.mcgCap, name: "IA32_MCG_CAP", read: { _ in 0 }, write: { _, _ in false }),
        ModelSpecificRegister(index: MSRIndex.mcgStatus, name: "IA32_MCG_STATUS", read: { $0.msr.mcgStatus },
                              write: { p, v in guard v == 0 else { return false }; p.msr.mcgStatus = 0; return true }),
        ModelSpecificRegister(index: MSRIndex.miscEnable, name: "IA32_MISC_ENABLE", read: { $0.msr.miscEnable },
                              write: { p, v in
                                  // Bits 7 (performance monitoring available), 11 (BTS unavailable)
                                  // and 12 (PEBS unavailable) are read-only.
                                  p.msr.miscEnable = (v & ~0x1880) | (p.msr.miscEnable & 0x1880); return true }),
        ModelSpecificRegister(index: MSRIndex.debugCtl, name: "IA32_DEBUGCTL", read: { $0.msr.debugCtl },
                              write: { p, v in guard v & ~0x3 == 0 else { return false }; p.msr.debugCtl = v; return true }),
        ModelSpecificRegister(index: MSRIndex.pat, name: "IA32_PAT", read: { $0.msr.pat },
                              write: { p, v in guard Processor.patValid(v) else { return false }; p.msr.pat = v; return true }),
        ModelSpecificRegister(index: MSRIndex.efer, name: "IA32_EFER", read: { $0.efer }, write: { p, v in p.writeEFER(v) }),
        ModelSpecificRegister(index: MSRIndex.star, name: "IA32_STAR", read: { $0.msr.star },
                              write: { p, v in p.msr.star = v; return true }),
        ModelSpecificRegister(index: MSRIndex.lstar, name: "IA32_LSTAR", read: { $0.msr.lstar },
                              write: { p, v in guard p.isCanonical(v) else { return false }; p.msr.lstar = v; return true }),
        ModelSpecificRegister(index: MSRIndex.cstar, name: "IA32_CSTAR", read: { $0.msr.cstar },
                              write: { p, v in guard p.isCanonical(v) else { return false }; p.msr.cstar = v; return true }),
        ModelSpecificRegister(index: MSRIndex.sfmask, name: "IA32_FMASK", read: { $0.msr.sfmask },
                              write: { p, v in guard v >> 32 == 0 else { return false }; p.msr.sfmask = v; return true }),
        ModelSpecificRegister(index: MSRIndex.fsBase, name: "IA32_FS_BASE", read: { $0.segments[SegmentRegisterIndex.fs.rawValue].base },
                              write: { p, v in guard p.isCanonical(v) else { return false }
                                  p.segments[SegmentRegisterIndex.fs.rawValue].base = v; p.systemStateEpoch &+= 1; return true }),
        ModelSpecificRegister(index: MSRIndex.gsBase, name: "IA32_GS_BASE", read: { $0.segments[SegmentRegisterIndex.gs.rawValue].base },
                              write: { p, v in guard p.isCanonical(v) else { return false }
                                  p.segments[SegmentRegisterIndex.gs.rawValue].base = v; p.systemStateEpoch &+= 1; return true }),
        ModelSpecificRegister(index: MSRIndex.kernelGSBase, name: "IA32_KERNEL_GS_BASE", read: { $0.msr.kernelGSBase },
                              write: { p, v in guard p.isCanonical(v) else { return false }; p.msr.kernelGSBase = v; return true }),
        ModelSpecificRegister(index: MSRIndex.pkrs, name: "IA32_PKRS",
                              read: { p in p.model.has(.pks) ? p.msr.pkrs : nil },
                              write: { p, v in p.writePKRS(v) }),
        ModelSpecificRegister(index: MSRIndex.tscAux, name: "IA32_TSC_AUX",
                              read: { p in p.model.has(.rdtscp) || p.model.has(.rdpid) ? p.msr.tscAux : nil },
                              write: { p, v in
                                  guard p.model.has(.rdtscp) || p.model.has(.rdpid), v >> 32 == 0 else { return false }
                                  p.msr.tscAux = v; return true }),
    ]

    /// AMD legacy PMU registers (AMD64 APM Vol. 2 §13.2.1): event selects then counters.
    static let amdLegacyPerformance: [ModelSpecificRegister] = (0..<8).map { k in
        ModelSpecificRegister(index: 0xC001_0000 + UInt32(k), name: k < 4 ? "PerfEvtSel\(k)" : "PerfCtr\(k - 4)",
                              read: { p in p.model.isAMD ? p.msr.legacyPerformance[k] : nil },
                              write: { p, v in
                                  guard p.model.isAMD else { return false }
                                  // Counters are 48 bits wide; event selects keep their 32 low bits + bits 35:32.
                                  p.msr.legacyPerformance[k] = k < 4 ? v & 0xF_FFFF_FFFF : v & 0xFFFF_FFFF_FFFF
                                  return true })
    }

    /// Index → table row.
    static let msrByIndex: [UInt32: ModelSpecificRegister] = Dictionary(uniqueKeysWithValues: (msrTable + amdLegacyPerformance).map { ($0.index, $0) })

    /// Reads MSR `index` as RDMSR would (nil: #GP).
    public func readMSR(_ index: UInt32) -> UInt64? {
        if let h = platformRegisters {
            switch h.readMSR(index, cpu: self) {
            case .value(let v): return v
            case .generalProtection: return nil
            case .notHandled: break
            }
        }
        return Self.msrByIndex[index]?.read(self)
    }

    /// Writes MSR `index` as WRMSR would (false: #GP).
    public func writeMSR(_ index: UInt32, _ value: UInt64) -> Bool {
        if let h = platformRegisters {
            switch h.writeMSR(index, value: value, cpu: self) {
            case .value: return true
            case .generalProtection: return false
            case .notHandled: break
            }
        }
        return Self.msrByIndex[index]?.write(self, value) ?? false
    }

    /// SDM Vol. 2B "RDMSR": CPL 0; EDX:EAX ← MSR[ECX].
    func execRdmsr(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        try msrExit(i, write: false)
        guard let v = readMSR(UInt32(truncatingIfNeeded: gpr[1])) else { throw Fault.gp(0) }
        gpr[0] = v & 0xFFFF_FFFF
        gpr[2] = v >> 32
    }

    /// SDM Vol. 2B "WRMSR": CPL 0; MSR[ECX] ← EDX:EAX.
    func execWrmsr(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        try msrExit(i, write: true)
        let v = (gpr[2] << 32) | (gpr[0] & 0xFFFF_FFFF)
        guard writeMSR(UInt32(truncatingIfNeeded: gpr[1]), v) else { throw Fault.gp(0) }
        pending |= PendingBit.modeChanged
    }
}
