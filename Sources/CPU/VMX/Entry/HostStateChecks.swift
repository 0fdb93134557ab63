/// VM-entry checks on the host-state area (SDM Vol. 3C §27.2.2 "Checks on Host Control
/// Registers, MSRs, and SSP", §27.2.3 "Checks on Host Segment and Descriptor-Table Registers",
/// §27.2.4 "Checks Related to Address-Space Size" → VMfailValid, VM-instruction error 8).
///
/// Canonical here is relative to the linear-address width the host will run with after a VM
/// exit: 57 bits when the host CR4 field sets LA57 (5-level paging), else 48 (Vol. 3A §4.5) —
/// the CR4 rows have already required LA57 to be a bit the processor implements.
extension VMEntryChecks {
    static func host(_ id: String, _ section: String, _ requirement: String, field: VMCSField, reads: [VMCSField],
                     _ holds: VMEntryCheck.FieldsPredicate) -> VMEntryCheck {
        VMEntryCheck(id, section, requirement, field: field, .vmFail(.invalidHostState), reads: reads, fields: holds)
    }

    /// Canonical for the host's paging mode (host CR4.LA57).
    static func hostCanonical(_ a: UInt64, _ v: VMCS) -> Bool {
        CanonicalAddress.isCanonical(a, width: CanonicalAddress.width(la57: v[.hostCR4] & CR4.la57 != 0))
    }

    static func host64(_ v: VMCS) -> Bool { v.exitControls.contains(.hostAddressSpaceSize) }

    static let hostRows: [VMEntryCheck] = [
        // §27.2.2
        host("host-cr0-fixed", "27.2.2", "host CR0 has the bits IA32_VMX_CR0_FIXED0/FIXED1 fix at their fixed values", field: .hostCR0, reads: []) { v, x in
            let cr0 = v[.hostCR0]
            return cr0 & x.capabilities.cr0Fixed0 == x.capabilities.cr0Fixed0 && cr0 & ~x.capabilities.cr0Fixed1 == 0
        },
        host("host-cr4-fixed", "27.2.2", "host CR4 has the bits IA32_VMX_CR4_FIXED0/FIXED1 fix at their fixed values", field: .hostCR4, reads: []) { v, x in
            let cr4 = v[.hostCR4]
            return cr4 & x.capabilities.cr4Fixed0 == x.capabilities.cr4Fixed0 && cr4 & ~x.capabilities.cr4Fixed1 == 0
        },
        host("host-cr3-width", "27.2.2", "host CR3 sets no bit beyond the physical-address width", field: .hostCR3, reads: []) { v, x in
            v[.hostCR3] >> UInt64(x.capabilities.physicalAddressBits) == 0
        },
        host("host-sysenter-esp-canonical", "27.2.2", "host IA32_SYSENTER_ESP is canonical", field: .hostIA32SysenterESP, reads: [.hostCR4]) { v, _ in
            hostCanonical(v[.hostIA32SysenterESP], v)
        },
        host("host-sysenter-eip-canonical", "27.2.2", "host IA32_SYSENTER_EIP is canonical", field: .hostIA32SysenterEIP, reads: [.hostCR4]) { v, _ in
            hostCanonical(v[.hostIA32SysenterEIP], v)
        },
        host("host-pat", "27.2.2", "with \"load IA32_PAT\", every host PAT entry is 0, 1, 4, 5, 6 or 7", field: .hostIA32PAT, reads: [.exitControls]) { v, _ in
            !v.exitControls.contains(.loadPAT) || GuestStateChecks.patValid(v[.hostIA32PAT])
        },
        host("host-efer", "27.2.2", "with \"load IA32_EFER\", reserved host EFER bits are 0 and LMA and LME equal \"host address-space size\"",
             field: .hostIA32EFER, reads: [.exitControls]) { v, x in
            guard v.exitControls.contains(.loadEFER) else { return true }
            let efer = v[.hostIA32EFER], h = host64(v)
            return efer & ~x.capabilities.eferSupported == 0 && (efer & EFER.lma != 0) == h && (efer & EFER.lme != 0) == h
        },
        // §27.2.3
        host("host-selector-rpl-ti", "27.2.3", "host ES, CS, SS, DS, FS, GS and TR selectors have RPL 0 and TI 0", field: .hostCSSelector, reads: [.hostESSelector, .hostCSSelector, .hostSSSelector, .hostDSSelector, .hostFSSelector, .hostGSSelector, .hostTRSelector]) { v, _ in
            for s: VMCSField in [.hostESSelector, .hostCSSelector, .hostSSSelector, .hostDSSelector, .hostFSSelector,
                                 .hostGSSelector, .hostTRSelector] where v[s] & 7 != 0 { return false }
            return true
        },
        host("host-cs-nonnull", "27.2.3", "the host CS selector is not 0000H", field: .hostCSSelector, reads: []) { v, _ in v[.hostCSSelector] != 0 },
        host("host-tr-nonnull", "27.2.3", "the host TR selector is not 0000H", field: .hostTRSelector, reads: []) { v, _ in v[.hostTRSelector] != 0 },
        host("host-ss-nonnull", "27.2.3", "the host SS selector is not 0000H unless \"host address-space size\" is 1", field: .hostSSSelector, reads: [.exitControls]) { v, _ in
            v[.hostSSSelector] != 0 || host64(v)
        },
        host("host-fs-base-canonical", "27.2.3", "the host FS base is canonical", field: .hostFSBase, reads: [.hostCR4]) { v, _ in hostCanonical(v[.hostFSBase], v) },
        host("host-gs-base-canonical", "27.2.3", "the host GS base is canonical", field: .hostGSBase, reads: [.hostCR4]) { v, _ in hostCanonical(v[.hostGSBase], v) },
        host("host-tr-base-canonical", "27.2.3", "the host TR base is canonical", field: .hostTRBase, reads: [.hostCR4]) { v, _ in hostCanonical(v[.hostTRBase], v) },
        host("host-gdtr-base-canonical", "27.2.3", "the host GDTR base is canonical", field: .hostGDTRBase, reads: [.hostCR4]) { v, _ in hostCanonical(v[.hostGDTRBase], v) },
        host("host-idtr-base-canonical", "27.2.3", "the host IDTR base is canonical", field: .hostIDTRBase, reads: [.hostCR4]) { v, _ in hostCanonical(v[.hostIDTRBase], v) },
        // §27.2.4
        host("host-64-requires-pae", "27.2.4", "with \"host address-space size\", host CR4.PAE is 1", field: .hostCR4, reads: [.exitControls]) { v, _ in
            !host64(v) || v[.hostCR4] & CR4.pae != 0
        },
        host("host-64-rip-canonical", "27.2.4", "with \"host address-space size\", the host RIP is canonical", field: .hostRIP, reads: [.exitControls, .hostCR4]) { v, _ in
            !host64(v) || hostCanonical(v[.hostRIP], v)
        },
        host("host-32-no-ia32e-guest", "27.2.4", "without \"host address-space size\", \"IA-32e mode guest\" is 0", field: .entryControls, reads: [.exitControls]) { v, _ in
            host64(v) || !v.entryControls.contains(.ia32eModeGuest)
        },
        host("host-32-pcide", "27.2.4", "without \"host address-space size\", host CR4.PCIDE is 0", field: .hostCR4, reads: [.exitControls]) { v, _ in
            host64(v) || v[.hostCR4] & CR4.pcide == 0
        },
        host("host-32-rip", "27.2.4", "without \"host address-space size\", host RIP bits 63:32 are 0", field: .hostRIP, reads: [.exitControls]) { v, _ in
            host64(v) || v[.hostRIP] >> 32 == 0
        },
    ]
}
