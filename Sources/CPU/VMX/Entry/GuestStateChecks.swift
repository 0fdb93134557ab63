/// The VM-entry checks on the guest-state area (SDM Vol. 3C §27.3.1) as `VMEntryCheck` rows:
/// a failure makes the entry fail with exit reason 33 ("VM-entry failure due to invalid guest
/// state", bit 31 set) and the row's exit qualification (§27.8: 0, or 2 for a PDPTE, 4 for the
/// VMCS link pointer). Rows are evaluated in table order; a row over several segments names
/// the first of them as its field.
public enum GuestStateChecks {
    typealias S = GuestStateArea
    typealias C = GuestStateCheckContext

    static func canonical(_ a: UInt64, _ c: C) -> Bool { CanonicalAddress.isCanonical(a, width: c.linearAddressBits) }
    static func v86(_ s: S) -> Bool { s.rflags & (1 << 17) != 0 }
    static func cr0Fixed0(_ c: C) -> UInt64 {
        // Unrestricted guest relaxes PE and PG (§27.3.1.1).
        c.unrestrictedGuest ? c.cr0Fixed0 & ~0x8000_0001 : c.cr0Fixed0
    }
    /// G consistent with the limit: limit[11:0] not all ones → G = 0; limit[31:20] ≠ 0 → G = 1.
    static func granularityConsistent(_ g: S.Segment) -> Bool {
        if g.limit & 0xFFF != 0xFFF && g.g { return false }
        if g.limit >> 20 != 0 && !g.g { return false }
        return true
    }
    /// DS, ES, FS and GS all satisfy `p` (no array is built: entries run these on every exit).
    @inline(__always)
    static func dataSegments(_ s: S, _ p: (S.Segment) -> Bool) -> Bool { p(s.ds) && p(s.es) && p(s.fs) && p(s.gs) }
    /// SS, DS, ES, FS and GS all satisfy `p`.
    @inline(__always)
    static func stackAndDataSegments(_ s: S, _ p: (S.Segment) -> Bool) -> Bool { p(s.ss) && dataSegments(s, p) }
    static func paeWithoutLongMode(_ s: S, _ c: C) -> Bool {
        s.cr0 & (1 << 31) != 0 && s.cr4 & (1 << 5) != 0 && !c.ia32eModeGuest
    }
    static func pdpteReservedClear(_ e: UInt64, _ c: C) -> Bool {
        guard e & 1 != 0 else { return true }
        let beyond = c.physicalAddressBits >= 64 ? 0 : ~((UInt64(1) << UInt64(c.physicalAddressBits)) &- 1)
        return e & (0x1E6 | beyond) == 0
    }
    static func blockingBySTIOrMovSS(_ s: S) -> Bool { !s.blocking.isDisjoint(with: .blockingBySTIOrMovSS) }
    /// Each PAT entry one WRMSR accepts: 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB), 7 (UC-).
    static func patValid(_ pat: UInt64) -> Bool {
        (0..<8).allSatisfy { [0, 1, 4, 5, 6, 7].contains((pat >> (8 * UInt64($0))) & 0xFF) }
    }

    static func check(_ id: String, field: VMCSField, _ section: String, _ requirement: String, qualification: UInt64 = 0,
                      reads: [VMCSField], _ holds: VMEntryCheck.GuestPredicate) -> VMEntryCheck {
        VMEntryCheck(id, section, requirement, field: field, .invalidGuestState(qualification: qualification), reads: reads,
                     guest: holds)
    }

    /// The controls `GuestStateCheckContext` is made of: every guest-state row reads them.
    static let contextFields: [VMCSField] = [.entryControls, .pinBasedControls, .primaryProcessorBasedControls,
                                             .secondaryProcessorBasedControls]
    /// What the segment-register rows read: every segment field, RFLAGS (virtual-8086 mode)
    /// and CR0 (PE).
    static let segmentReads: [VMCSField] = {
        let all = GuestStateArea.segmentFields.map(\.1) + [GuestStateArea.ldtrFields, GuestStateArea.trFields]
        return all.flatMap { [$0.selector, $0.base, $0.limit, $0.accessRights] } + [.guestRFLAGS, .guestCR0]
    }()
    /// The RFLAGS bits some row reads (1, 3, 5, 8 TF, 9 IF, 15, 17 VM, 63:22): a change of the
    /// others (the status flags above all) re-runs nothing.
    static let rflagsReadBits: UInt64 = ~0x3F_FFFF | 0x2_832A

    // MARK: §27.3.1.1 control registers, debug registers and MSRs
    static let controlRegisters: [VMEntryCheck] = [
        check("cr0-fixed", field: .guestCR0, "27.3.1.1", "CR0 has every bit fixed in VMX operation at its fixed value (PE/PG free with unrestricted guest)", reads: []) { s, c in
            let f0 = cr0Fixed0(c)
            return s.cr0 & f0 == f0 && s.cr0 & ~c.cr0Fixed1 == 0
        },
        check("cr0-pg-requires-pe", field: .guestCR0, "27.3.1.1", "CR0.PG = 1 requires CR0.PE = 1", reads: []) { s, _ in
            s.cr0 & (1 << 31) == 0 || s.cr0 & 1 != 0
        },
        check("cr4-fixed", field: .guestCR4, "27.3.1.1", "CR4 has every bit fixed in VMX operation at its fixed value", reads: []) { s, c in
            s.cr4 & c.cr4Fixed0 == c.cr4Fixed0 && s.cr4 & ~c.cr4Fixed1 == 0
        },
        check("debugctl-reserved", field: .guestIA32DebugCtl, "27.3.1.1", "with \"load debug controls\", reserved IA32_DEBUGCTL bits are 0", reads: []) { s, c in
            !c.loadDebugControls || s.debugCtl & ~c.debugCtlSupported == 0
        },
        check("ia32e-requires-pae", field: .guestCR4, "27.3.1.1", "an IA-32e mode guest has CR4.PAE = 1", reads: []) { s, c in
            !c.ia32eModeGuest || s.cr4 & (1 << 5) != 0
        },
        check("pcide-requires-ia32e", field: .guestCR4, "27.3.1.1", "CR4.PCIDE = 0 unless the guest is IA-32e mode", reads: []) { s, c in
            c.ia32eModeGuest || s.cr4 & (1 << 17) == 0
        },
        check("cr3-width", field: .guestCR3, "27.3.1.1", "CR3 sets no bit beyond the physical-address width", reads: []) { s, c in
            s.cr3 >> UInt64(c.physicalAddressBits) == 0
        },
        check("dr7-upper", field: .guestDR7, "27.3.1.1", "with \"load debug controls\", DR7 bits 63:32 are 0", reads: []) { s, c in
            !c.loadDebugControls || s.dr7 >> 32 == 0
        },
        check("sysenter-esp-canonical", field: .guestIA32SysenterESP, "27.3.1.1", "IA32_SYSENTER_ESP is canonical", reads: []) { s, c in canonical(s.sysenterESP, c) },
        check("sysenter-eip-canonical", field: .guestIA32SysenterEIP, "27.3.1.1", "IA32_SYSENTER_EIP is canonical", reads: []) { s, c in canonical(s.sysenterEIP, c) },
        check("pat-valid", field: .guestIA32PAT, "27.3.1.1", "with \"load IA32_PAT\", every PAT entry is 0, 1, 4, 5, 6 or 7", reads: []) { s, c in
            !c.loadPAT || patValid(s.pat)
        },
        check("efer-reserved", field: .guestIA32EFER, "27.3.1.1", "with \"load IA32_EFER\", reserved IA32_EFER bits are 0", reads: []) { s, c in
            !c.loadEFER || s.efer & ~c.eferSupported == 0
        },
        check("efer-lma-matches-ia32e", field: .guestIA32EFER, "27.3.1.1", "with \"load IA32_EFER\", EFER.LMA equals \"IA-32e mode guest\"", reads: []) { s, c in
            !c.loadEFER || (s.efer & (1 << 10) != 0) == c.ia32eModeGuest
        },
        check("efer-lma-matches-lme", field: .guestIA32EFER, "27.3.1.1", "with \"load IA32_EFER\" and CR0.PG = 1, EFER.LMA equals EFER.LME", reads: [.guestCR0]) { s, c in
            !c.loadEFER || s.cr0 & (1 << 31) == 0 || (s.efer & (1 << 10) != 0) == (s.efer & (1 << 8) != 0)
        },
    ]

    // MARK: §27.3.1.2 segment registers
    static let segmentRegisters: [VMEntryCheck] = [
        check("tr-ti", field: .guestTRSelector, "27.3.1.2", "TR selector TI = 0", reads: segmentReads) { s, _ in s.tr.selector & 4 == 0 },
        check("ldtr-ti", field: .guestLDTRSelector, "27.3.1.2", "usable LDTR selector TI = 0", reads: segmentReads) { s, _ in !s.ldtr.usable || s.ldtr.selector & 4 == 0 },
        check("ss-rpl-equals-cs-rpl", field: .guestSSSelector, "27.3.1.2", "SS.RPL = CS.RPL unless virtual-8086 or unrestricted guest", reads: segmentReads) { s, c in
            v86(s) || c.unrestrictedGuest || s.ss.rpl == s.cs.rpl
        },
        check("v86-bases", field: .guestCSBase, "27.3.1.2", "virtual-8086: each base of CS…GS is selector × 16", reads: segmentReads) { s, _ in
            !v86(s) || [s.cs, s.ss, s.ds, s.es, s.fs, s.gs].allSatisfy { $0.base == UInt64($0.selector) << 4 }
        },
        check("system-bases-canonical", field: .guestTRBase, "27.3.1.2", "TR, FS, GS and usable LDTR bases are canonical", reads: segmentReads) { s, c in
            canonical(s.tr.base, c) && canonical(s.fs.base, c) && canonical(s.gs.base, c)
                && (!s.ldtr.usable || canonical(s.ldtr.base, c))
        },
        check("cs-base-upper", field: .guestCSBase, "27.3.1.2", "CS base bits 63:32 are 0", reads: segmentReads) { s, _ in s.cs.base >> 32 == 0 },
        check("ss-ds-es-base-upper", field: .guestSSBase, "27.3.1.2", "usable SS, DS, ES bases have bits 63:32 = 0", reads: segmentReads) { s, _ in
            [s.ss, s.ds, s.es].allSatisfy { !$0.usable || $0.base >> 32 == 0 }
        },
        check("v86-limits", field: .guestCSLimit, "27.3.1.2", "virtual-8086: each limit of CS…GS is 0xFFFF", reads: segmentReads) { s, _ in
            !v86(s) || [s.cs, s.ss, s.ds, s.es, s.fs, s.gs].allSatisfy { $0.limit == 0xFFFF }
        },
        check("v86-access-rights", field: .guestCSAccessRights, "27.3.1.2", "virtual-8086: each access-rights field of CS…GS is 0xF3", reads: segmentReads) { s, _ in
            !v86(s) || [s.cs, s.ss, s.ds, s.es, s.fs, s.gs].allSatisfy { $0.accessRights == 0xF3 }
        },
        check("cs-type", field: .guestCSAccessRights, "27.3.1.2", "CS type is 9, 11, 13 or 15 (or 3 with unrestricted guest)", reads: segmentReads) { s, c in
            v86(s) || [9, 11, 13, 15].contains(s.cs.type) || (c.unrestrictedGuest && s.cs.type == 3)
        },
        check("ss-type", field: .guestSSAccessRights, "27.3.1.2", "usable SS type is 3 or 7", reads: segmentReads) { s, _ in
            v86(s) || !s.ss.usable || s.ss.type == 3 || s.ss.type == 7
        },
        check("data-type", field: .guestDSAccessRights, "27.3.1.2", "usable DS/ES/FS/GS are accessed, and readable if code", reads: segmentReads) { s, _ in
            v86(s) || dataSegments(s) { !$0.usable || ($0.type & 1 != 0 && ($0.type & 8 == 0 || $0.type & 2 != 0)) }
        },
        check("s-bit", field: .guestCSAccessRights, "27.3.1.2", "CS and usable SS/DS/ES/FS/GS have S = 1", reads: segmentReads) { s, _ in
            v86(s) || (s.cs.s && stackAndDataSegments(s) { !$0.usable || $0.s })
        },
        check("cs-dpl", field: .guestCSAccessRights, "27.3.1.2", "CS.DPL: 0 for type 3; = SS.DPL for 9/11; ≤ SS.DPL for 13/15", reads: segmentReads) { s, _ in
            if v86(s) { return true }
            switch s.cs.type {
            case 3: return s.cs.dpl == 0
            case 9, 11: return s.cs.dpl == s.ss.dpl
            case 13, 15: return s.cs.dpl <= s.ss.dpl
            default: return true
            }
        },
        check("ss-dpl", field: .guestSSAccessRights, "27.3.1.2", "SS.DPL = SS.RPL (unless unrestricted guest); 0 if CS type is 3 or CR0.PE = 0", reads: segmentReads) { s, c in
            if v86(s) { return true }
            if !c.unrestrictedGuest && s.ss.dpl != s.ss.rpl { return false }
            if (s.cs.type == 3 || s.cr0 & 1 == 0) && s.ss.dpl != 0 { return false }
            return true
        },
        check("data-dpl", field: .guestDSAccessRights, "27.3.1.2", "usable DS/ES/FS/GS of type 0–11: DPL ≥ RPL (unless unrestricted guest)", reads: segmentReads) { s, c in
            v86(s) || c.unrestrictedGuest || dataSegments(s) { !$0.usable || $0.type > 11 || $0.dpl >= $0.rpl }
        },
        check("present", field: .guestCSAccessRights, "27.3.1.2", "CS and usable SS/DS/ES/FS/GS have P = 1", reads: segmentReads) { s, _ in
            v86(s) || (s.cs.present && stackAndDataSegments(s) { !$0.usable || $0.present })
        },
        check("ar-reserved-11-8", field: .guestCSAccessRights, "27.3.1.2", "CS and usable SS/DS/ES/FS/GS have access-rights bits 11:8 = 0", reads: segmentReads) { s, _ in
            v86(s) || (s.cs.accessRights & 0xF00 == 0 && stackAndDataSegments(s) { !$0.usable || $0.accessRights & 0xF00 == 0 })
        },
        check("cs-db-with-l", field: .guestCSAccessRights, "27.3.1.2", "IA-32e mode guest with CS.L = 1 has CS.D/B = 0", reads: segmentReads) { s, c in
            v86(s) || !c.ia32eModeGuest || !s.cs.l || !s.cs.db
        },
        check("granularity", field: .guestCSLimit, "27.3.1.2", "CS and usable SS/DS/ES/FS/GS have G consistent with the limit", reads: segmentReads) { s, _ in
            v86(s) || (granularityConsistent(s.cs) && stackAndDataSegments(s) { !$0.usable || granularityConsistent($0) })
        },
        check("ar-reserved-31-17", field: .guestCSAccessRights, "27.3.1.2", "CS and usable SS/DS/ES/FS/GS have access-rights bits 31:17 = 0", reads: segmentReads) { s, _ in
            v86(s) || (s.cs.accessRights >> 17 == 0 && stackAndDataSegments(s) { !$0.usable || $0.accessRights >> 17 == 0 })
        },
        check("tr-type", field: .guestTRAccessRights, "27.3.1.2", "TR type is 11 (busy 64-bit TSS) in IA-32e mode, else 3 or 11", reads: segmentReads) { s, c in
            c.ia32eModeGuest ? s.tr.type == 11 : (s.tr.type == 3 || s.tr.type == 11)
        },
        check("tr-ar", field: .guestTRAccessRights, "27.3.1.2", "TR: S = 0, P = 1, bits 11:8 = 0, usable, bits 31:17 = 0, G consistent", reads: segmentReads) { s, _ in
            !s.tr.s && s.tr.present && s.tr.accessRights & 0xF00 == 0 && s.tr.usable && s.tr.accessRights >> 17 == 0
                && granularityConsistent(s.tr)
        },
        check("ldtr-ar", field: .guestLDTRAccessRights, "27.3.1.2", "usable LDTR: type 2, S = 0, P = 1, bits 11:8 and 31:17 = 0, G consistent", reads: segmentReads) { s, _ in
            !s.ldtr.usable || (s.ldtr.type == 2 && !s.ldtr.s && s.ldtr.present && s.ldtr.accessRights & 0xF00 == 0
                && s.ldtr.accessRights >> 17 == 0 && granularityConsistent(s.ldtr))
        },
    ]

    // MARK: §27.3.1.3 descriptor-table registers, §27.3.1.4 RIP and RFLAGS
    static let tablesRIPAndFlags: [VMEntryCheck] = [
        check("gdtr-idtr-canonical", field: .guestGDTRBase, "27.3.1.3", "GDTR and IDTR bases are canonical", reads: [.guestIDTRBase]) { s, c in
            canonical(s.gdtrBase, c) && canonical(s.idtrBase, c)
        },
        check("gdtr-idtr-limit", field: .guestGDTRLimit, "27.3.1.3", "GDTR and IDTR limits have bits 31:16 = 0", reads: [.guestIDTRLimit]) { s, _ in
            s.gdtrLimit >> 16 == 0 && s.idtrLimit >> 16 == 0
        },
        check("rip-upper", field: .guestRIP, "27.3.1.4", "RIP bits 63:32 are 0 unless the guest is IA-32e mode with CS.L = 1", reads: [.guestCSAccessRights]) { s, c in
            (c.ia32eModeGuest && s.cs.l) || s.rip >> 32 == 0
        },
        check("rip-high-bits", field: .guestRIP, "27.3.1.4", "in 64-bit mode RIP bits 63:N (N = linear-address width) are identical", reads: [.guestCSAccessRights]) { s, c in
            // Not canonicality: RIP = 2^47 (after an instruction ending at the edge) enters and
            // the next fetch raises #GP.
            let high = s.rip >> UInt64(c.linearAddressBits)
            return !(c.ia32eModeGuest && s.cs.l) || high == 0 || high == ~UInt64(0) >> UInt64(c.linearAddressBits)
        },
        check("rflags-reserved", field: .guestRFLAGS, "27.3.1.4", "RFLAGS bits 63:22, 15, 5, 3 are 0 and bit 1 is 1", reads: []) { s, _ in
            s.rflags & ~0x3F_FFFF == 0 && s.rflags & 0x8028 == 0 && s.rflags & 2 != 0
        },
        check("rflags-vm", field: .guestRFLAGS, "27.3.1.4", "RFLAGS.VM = 0 for an IA-32e mode guest or with CR0.PE = 0", reads: [.guestCR0]) { s, c in
            !v86(s) || (!c.ia32eModeGuest && s.cr0 & 1 != 0)
        },
        check("rflags-if-for-external-interrupt", field: .guestRFLAGS, "27.3.1.4", "RFLAGS.IF = 1 when injecting an external interrupt", reads: [.entryInterruptionInformation]) { s, c in
            !(c.injecting && c.injectionType == .external) || s.rflags & (1 << 9) != 0
        },
    ]

    // MARK: §27.3.1.5 non-register state
    static let nonRegisterState: [VMEntryCheck] = [
        check("activity-supported", field: .guestActivityState, "27.3.1.5", "the activity state is 0–3 and supported (IA32_VMX_MISC)", reads: []) { s, c in
            s.activityState == 0 || (s.activityState <= 3 && c.supportedActivityStates & (1 << (s.activityState - 1)) != 0)
        },
        check("activity-hlt-ss-dpl", field: .guestActivityState, "27.3.1.5", "HLT activity requires SS.DPL = 0", reads: [.guestSSAccessRights]) { s, _ in
            s.activityState != 1 || s.ss.dpl == 0
        },
        check("activity-active-when-blocking", field: .guestActivityState, "27.3.1.5", "blocking by STI or MOV SS requires the active state", reads: [.guestInterruptibilityState]) { s, _ in
            !blockingBySTIOrMovSS(s) || s.activityState == 0
        },
        check("activity-allows-injection", field: .entryInterruptionInformation, "27.3.1.5", "an injected event is one the activity state does not block", reads: [.guestActivityState]) { s, c in
            guard c.injecting else { return true }
            let type = c.injectionType, vector = c.injectionVector
            switch s.activityState {
            case 1:
                return type == .external || type == .nmi
                    || (type == .hardwareException && (vector == Vector.db || vector == Vector.mc)) || (type == .other && vector == 0)
            case 2: return type == .nmi || (type == .hardwareException && vector == Vector.mc)
            case 3: return false
            default: return true
            }
        },
        check("activity-sipi-smm", field: .guestActivityState, "27.3.1.5", "wait-for-SIPI is not allowed with \"entry to SMM\"", reads: []) { s, c in
            !(c.entryToSMM && s.activityState == 3)
        },
        check("interruptibility-reserved", field: .guestInterruptibilityState, "27.3.1.5", "interruptibility-state bits 31:4 are 0 (no SGX: bit 4 too)", reads: []) { s, _ in
            s.interruptibility >> 4 == 0
        },
        check("interruptibility-sti-and-movss", field: .guestInterruptibilityState, "27.3.1.5", "blocking by STI and by MOV SS are not both set", reads: []) { s, _ in
            !s.blocking.isSuperset(of: .blockingBySTIOrMovSS)
        },
        check("interruptibility-sti-needs-if", field: .guestInterruptibilityState, "27.3.1.5", "blocking by STI requires RFLAGS.IF = 1", reads: [.guestRFLAGS]) { s, _ in
            !s.blocking.contains(.blockingBySTI) || s.rflags & (1 << 9) != 0
        },
        check("interruptibility-external-injection", field: .guestInterruptibilityState, "27.3.1.5", "injecting an external interrupt requires no STI/MOV-SS blocking", reads: [.entryInterruptionInformation]) { s, c in
            !(c.injecting && c.injectionType == .external) || !blockingBySTIOrMovSS(s)
        },
        check("interruptibility-nmi-injection-movss", field: .guestInterruptibilityState, "27.3.1.5", "injecting an NMI requires no MOV-SS blocking", reads: [.entryInterruptionInformation]) { s, c in
            !(c.injecting && c.injectionType == .nmi) || !s.blocking.contains(.blockingByMovSS)
        },
        check("interruptibility-smi", field: .guestInterruptibilityState, "27.3.1.5", "blocking by SMI is 0 outside SMM, and 1 with \"entry to SMM\"", reads: []) { s, c in
            s.blocking.contains(.blockingBySMI) == c.entryToSMM
        },
        check("interruptibility-virtual-nmi-injection", field: .guestInterruptibilityState, "27.3.1.5", "with virtual NMIs, injecting an NMI requires no NMI blocking", reads: [.entryInterruptionInformation]) { s, c in
            !(c.virtualNMIs && c.injecting && c.injectionType == .nmi) || !s.blocking.contains(.blockingByNMI)
        },
        check("pending-debug-reserved", field: .guestPendingDebugExceptions, "27.3.1.5", "pending debug exceptions bits 11:4, 13, 15, 63:17 are 0 (no RTM: 16 too)", reads: []) { s, _ in
            s.pendingDebugExceptions & ~0x500F == 0
        },
        check("pending-debug-bs", field: .guestPendingDebugExceptions, "27.3.1.5", "with STI/MOV-SS blocking or HLT, BS = 1 iff RFLAGS.TF = 1 and DEBUGCTL.BTF = 0", reads: [.guestInterruptibilityState, .guestActivityState, .guestRFLAGS, .guestIA32DebugCtl]) { s, _ in
            guard blockingBySTIOrMovSS(s) || s.activityState == 1 else { return true }
            let bs = s.pendingDebugExceptions & (1 << 14) != 0
            let single = s.rflags & (1 << 8) != 0 && s.debugCtl & 2 == 0
            return bs == single
        },
        check("link-pointer-alignment", field: .vmcsLinkPointer, "27.3.1.5", "a VMCS link pointer other than all ones is 4-KByte aligned within MAXPHYADDR", qualification: 4, reads: []) { s, c in
            s.vmcsLinkPointer == ~0 || (s.vmcsLinkPointer & 0xFFF == 0 && s.vmcsLinkPointer >> UInt64(c.physicalAddressBits) == 0)
        },
        check("link-pointer-revision", field: .vmcsLinkPointer, "27.3.1.5", "the VMCS at the link pointer has our revision and a shadow indicator equal to \"VMCS shadowing\"", qualification: 4, reads: []) { s, c in
            // Only a well-formed pointer is followed (the alignment check reports the others).
            guard s.vmcsLinkPointer != ~0, s.vmcsLinkPointer & 0xFFF == 0,
                  s.vmcsLinkPointer >> UInt64(c.physicalAddressBits) == 0 else { return true }
            guard let word = c.read32(s.vmcsLinkPointer) else { return false }
            return word & 0x7FFF_FFFF == c.vmcsRevision && (word >> 31 != 0) == c.vmcsShadowing
        },
    ]

    // MARK: §27.3.1.6 PDPTEs (PAE paging without IA-32e mode)
    static let pdptes: [VMEntryCheck] = [
        check("pdpte-fields", field: .guestPDPTE0, "27.3.1.6", "with EPT, present PDPTE fields have reserved bits 0", qualification: 2, reads: [.guestPDPTE1, .guestPDPTE2, .guestPDPTE3, .guestCR0, .guestCR4]) { s, c in
            guard paeWithoutLongMode(s, c), c.enableEPT else { return true }
            return [s.pdpte.0, s.pdpte.1, s.pdpte.2, s.pdpte.3].allSatisfy { pdpteReservedClear($0, c) }
        },
        check("pdpte-memory", field: .guestCR3, "27.3.1.6", "without EPT, present PDPTEs at CR3 have reserved bits 0", qualification: 2, reads: [.guestCR0, .guestCR4]) { s, c in
            guard paeWithoutLongMode(s, c), !c.enableEPT else { return true }
            let base = s.cr3 & 0xFFFF_FFE0
            for k in 0..<4 {
                guard let e = c.read64(base + UInt64(k) * 8) else { return false }
                if !pdpteReservedClear(e, c) { return false }
            }
            return true
        },
    ]

    /// Every guest-state check, in the order VM entry evaluates them.
    public static let all: [VMEntryCheck] = controlRegisters + segmentRegisters + tablesRIPAndFlags + nonRegisterState + pdptes

    /// The first check `input` fails, or nil when VM entry may load the state.
    public static func firstViolation(_ input: VMEntryCheckInput) -> VMEntryCheckFailure? {
        VMEntryCheck.firstFailure(of: all, input)
    }

    /// The first check a guest-state area fails under `context` (no VMCS at hand: tests, tools).
    public static func firstViolation(_ state: GuestStateArea, _ context: GuestStateCheckContext) -> VMEntryCheckFailure? {
        firstViolation(VMEntryCheckInput(guestState: state, context: context))
    }
}
