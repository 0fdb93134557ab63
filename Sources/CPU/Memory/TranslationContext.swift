/// The context cached translations are created and used in — (VPID, PCID, EP4TA) — and the
/// invalidations that operations independent of VMX perform in it (SDM Vol. 3A §4.10.4.1
/// "Operations that Invalidate TLBs and Paging-Structure Caches"; Vol. 3C §29.4.3.1: they
/// act on the current VPID only, and for combined mappings on all EP4TAs).
extension Processor {
    /// The current VPID (SDM Vol. 3C §29.1): the VMCS's VPID in VMX non-root operation with
    /// "enable VPID" = 1; VPID 0000H otherwise (outside non-root operation, or VPIDs disabled).
    var currentVPID: UInt16 {
        nonRoot && controls.secondary.contains(.enableVPID) ? controls.vpid : 0
    }

    /// The current PCID: CR3[11:0] when CR4.PCIDE = 1, else 000H (Vol. 3A §4.10.1).
    var currentPCID: UInt16 { cr4 & CR4.pcide != 0 ? UInt16(cr3 & 0xFFF) : 0 }

    /// The current EP4TA when EPT is in use (Vol. 3C §29.4.1), else `TranslationTag.linear`.
    var currentEP4TA: UInt64 {
        nonRoot && controls.ept ? TranslationTag.ep4ta(ofEPTP: controls.eptPointer.raw) : TranslationTag.linear
    }

    /// The tag of translations created now (§29.4.1: linear mappings when EPT is not in use,
    /// combined mappings when it is).
    var currentTranslationTag: TranslationTag {
        TranslationTag(vpid: currentVPID, pcid: currentPCID, ep4ta: currentEP4TA)
    }

    /// The paging controls the software TLB bakes into an entry's permission bits and walk
    /// (CR0.PE/PG/WP, CR4.PSE/PAE/PGE/SMEP/SMAP/PKE/LA57, EFER.NXE/LMA, and the PKRU / PKRS
    /// values protection keys apply). A cached entry is
    /// only used under the controls it was made under: each basis has its own TLB set
    /// (`SoftwareTLB.activate`), and the changes §4.10.4.1 ties to an invalidation also drop
    /// the sets (`invalidateMappingsOfCurrentVPID`).
    /// The controls take `controls` bits 11:0; bits 63:12 hold the APIC-access page while "virtualize
    /// APIC accesses" is in effect (`apicAccessBasis`), so no translation cached as RAM for
    /// that page is used while accesses to it must be checked (Vol. 3C §30.4).
    var pagingControlBasis: TLBBasis {
        @inline(__always) func bit(_ on: Bool, _ k: UInt64) -> UInt64 { on ? 1 << k : 0 }
        let c0 = bit(cr0 & CR0.pe != 0, 0) | bit(cr0 & CR0.wp != 0, 1) | bit(cr0 & CR0.pg != 0, 2)
        let c4 = bit(cr4 & CR4.pse != 0, 3) | bit(cr4 & CR4.pae != 0, 4) | bit(cr4 & CR4.pge != 0, 5)
            | bit(cr4 & CR4.smep != 0, 6) | bit(cr4 & CR4.smap != 0, 7) | bit(cr4 & CR4.pke != 0, 8)
            | bit(cr4 & CR4.la57 != 0, 9)
        let e = bit(efer & EFER.nxe != 0, 10) | bit(efer & EFER.lma != 0, 11)
        return TLBBasis(controls: c0 | c4 | e | apicAccessBasis, keys: protectionKeyBasis)
    }

    /// Makes the TLB cache and use translations of the current context. Call after anything
    /// that can change the VPID, PCID, EP4TA or `pagingControlBasis`.
    func activateTranslationContext() {
        rootContextDeferred = false
        tlb.activate(currentTranslationTag, basis: pagingControlBasis)
        pending |= PendingBit.modeChanged
    }

    /// Selects the TLB set for a change of controls that govern data accesses only (CR0.WP,
    /// CR4.SMAP, PKRU, IA32_PKRS):
    /// instruction fetches translate as before, so the interpreter's block links stay valid.
    func selectTLBSetForDataAccessControls() {
        tlb.activate(currentTranslationTag, basis: pagingControlBasis, fetchUnaffected: true)
    }

    // MARK: Vol. 3A §4.10.4.1 operations, restricted to the current VPID (Vol. 3C §29.4.3.1)

    /// INVLPG (Vol. 3A §4.10.4.1): invalidates the translations of the page for the current
    /// PCID and the global translations of the page for any PCID — for the current VPID, all
    /// EP4TAs, linear and combined mappings alike (Vol. 3C §29.4.3.1).
    func invalidateMappingsForINVLPG(_ la: UInt64) {
        let vpid = currentVPID, pcid = currentPCID
        tlb.invalidatePage(la) { t in
            guard t.vpid == vpid else { return .none }
            return t.pcid == pcid ? .all : .globalOnly
        }
        pending |= PendingBit.modeChanged
    }

    /// A page fault (Vol. 3A §4.10.4.1: it invalidates the translations of the faulting page
    /// for the current PCID) — for the current VPID and all EP4TAs (Vol. 3C §29.4.3.1).
    func invalidateMappingsForPageFault(_ la: UInt64) {
        let vpid = currentVPID, pcid = currentPCID
        tlb.invalidatePage(la) { $0.vpid == vpid && $0.pcid == pcid ? .all : .none }
    }

    /// An EPT violation on the translation of linear address `la` (Vol. 3C §29.4.3.1): drops the
    /// combined mappings for `la` of the current VPID, PCID and EP4TA.
    func invalidateMappingsForEPTViolation(_ la: UInt64) {
        let tag = currentTranslationTag
        tlb.invalidatePage(la) { $0 == tag ? .all : .none }
    }

    /// MOV to CR3 (Vol. 3A §4.10.4.1): unless CR4.PCIDE = 1 and bit 63 of the source is 1,
    /// invalidates the non-global translations of the PCID being loaded (000H when PCIDE = 0),
    /// for the current VPID and all EP4TAs.
    func invalidateNonGlobalMappings(pcid: UInt16) {
        let vpid = currentVPID
        tlb.invalidateNonGlobal { $0.vpid == vpid && $0.pcid == pcid }
        pending |= PendingBit.modeChanged
    }

    /// MOV to CR0 changing PG (or PE, CD here), MOV to CR4 changing PGE, PAE, PCIDE, SMEP 0 → 1
    /// (or PSE, LA57 here), and WRMSR changing EFER.NXE (Vol. 3A §4.10.4.1): invalidate every
    /// translation, global ones included, of every PCID — for the current VPID (Vol. 3C
    /// §29.4.3.1). Then re-selects the context under the new controls.
    func invalidateMappingsOfCurrentVPID() {
        let vpid = currentVPID
        tlb.invalidate { $0.vpid == vpid }
        activateTranslationContext()
    }

    /// INVPCID (Vol. 2A "INVPCID", Vol. 3A §4.10.4.1), for the current VPID and all EP4TAs:
    /// type 0 drops the non-global translation of one page for one PCID; type 1 the non-global
    /// translations of one PCID; type 2 every translation of every PCID; type 3 every
    /// non-global translation of every PCID.
    func invalidateMappingsForINVPCID(type: UInt64, pcid: UInt16, linearAddress: UInt64) {
        let vpid = currentVPID
        switch type {
        case 0: tlb.invalidatePage(linearAddress) { $0.vpid == vpid && $0.pcid == pcid ? .nonGlobalOnly : .none }
        case 1: tlb.invalidateNonGlobal { $0.vpid == vpid && $0.pcid == pcid }
        case 2: tlb.invalidate { $0.vpid == vpid }
        default: tlb.invalidateNonGlobal { $0.vpid == vpid }
        }
        pending |= PendingBit.modeChanged
    }
}
