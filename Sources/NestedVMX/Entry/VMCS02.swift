import CPU

/// VMCS02: the VMCS the processor runs L2 under, made from vmcs12 (what L1 asked for) and
/// VMCS01 (what L0 needs), brought up to date at every virtual VM entry (Xen's "virtual VMCS"
/// merge): the fields copied from vmcs12 only where L1 changed vmcs12 or L2's exits changed
/// VMCS02 since the last entry (both VMCSs' `.vmcs02` dirty sets), everything else recomputed.
///
/// - Guest state: vmcs12's, with IA32_EFER, IA32_PAT, IA32_DEBUGCTL and DR7 made explicit —
///   vmcs12's fields where its VM-entry controls load them, else L1's current values (§27.3.2:
///   a VM entry that does not load them leaves the processor's) — so VMCS02 always loads and
///   saves them and nothing of L2's lives only in the processor between L0's exits.
/// - Controls: vmcs12's, plus L0's: every I/O instruction and RDMSR/WRMSR exits (L0's devices
///   answer what L1 lets through), EPT (EPT02, or EPT01 when vmcs12 does without EPT: L1's
///   memory is EPT01's either way), a VPID of L0's choosing, the VMX-preemption timer value
///   saved at every exit. Bitmaps L1 wrote are consulted at exit time (`route`); the VMREAD/
///   VMWRITE bitmaps of VMCS shadowing are copied into L0's pages.
/// - Host state: VMCS01's (L0 is Swift code; the processor only checks it).
/// - VM-entry and VM-exit MSR lists: none — L0 processes vmcs12's at the virtual entry and exit.
extension VirtualVMX {
    /// Every guest-state field the processor implements (type bits 11:10 = 2, Table 25-21).
    static let guestStateFields: [VMCSField] = VMCSFieldTable.entries.filter { $0.supported && $0.field.type == .guestState }.map(\.field)
    /// Host-state fields (copied from VMCS01).
    static let hostStateFields: [VMCSField] = VMCSFieldTable.entries.filter { $0.supported && $0.field.type == .hostState }.map(\.field)
    /// Control fields VMCS02 takes from vmcs12 unchanged.
    static let controlFieldsFromVMCS12: [VMCSField] = [
        .exceptionBitmap, .pageFaultErrorCodeMask, .pageFaultErrorCodeMatch, .cr0GuestHostMask, .cr4GuestHostMask,
        .cr0ReadShadow, .cr4ReadShadow, .cr3TargetCount, .cr3Target0, .cr3Target1, .cr3Target2, .cr3Target3,
        .tscOffset, .tprThreshold, .entryInterruptionInformation, .entryExceptionErrorCode, .entryInstructionLength,
        .apicAccessAddress,
    ]

    /// vmcs12 fields VMCS02 takes unchanged (unless a control below overrides one).
    static let copiedFromVMCS12 = DirtyFields(guestStateFields + controlFieldsFromVMCS12)
    static let hostStateSet = DirtyFields(hostStateFields)
    /// Guest fields a build may take from elsewhere than vmcs12 (L1's values, memory): copied
    /// from vmcs12 at every build before the controls decide, as a full rebuild would.
    static let overriddenGuestFields = DirtyFields([
        .guestIA32EFER, .guestIA32PAT, .guestIA32DebugCtl, .guestDR7, .guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3,
    ])

    /// Builds (or brings up to date) the VMCS02 of `v12` for a virtual VM entry. Nil when L0
    /// cannot make EPT02's root (its pool is exhausted even after reclaiming).
    ///
    /// The result equals a rebuild from scratch: after each build VMCS02's copied fields equal
    /// vmcs12's; a field neither L1 changed in vmcs12 (VMWRITE, shadowed or not, marks it) nor
    /// anything changed in VMCS02 since (the processor's saves at L2's exits, L0's rewrites)
    /// still does, so only the marked ones are copied.
    func buildVMCS02(_ v12: VMCS12) -> VMCS? {
        let g = v12.vmcs
        let v = v12.vmcs02 ?? VMCS()                       // a new VMCS counts every field changed
        v12.vmcs02 = v
        let changed = g.takeDirty(.vmcs02).union(v.takeDirty(.vmcs02)).union(v12.changedSinceBuild)
        v12.changedSinceBuild = DirtyFields()
        v.copy(changed.intersection(Self.copiedFromVMCS12).union(Self.overriddenGuestFields), from: g)
        // VMCS01's host state, again only when it or VMCS02's copy changed since this VMCS02's
        // last build (VMCS01's `.vmcs02` dirty set is read here only).
        if vmcs01.takeDirty(.vmcs02).intersection(Self.hostStateSet) != DirtyFields() { vmcs01HostStateGeneration &+= 1 }
        if v12.hostStateGeneration != vmcs01HostStateGeneration || changed.intersection(Self.hostStateSet) != DirtyFields() {
            v.copy(Self.hostStateSet, from: vmcs01)
            v12.hostStateGeneration = vmcs01HostStateGeneration
        }
        defer { _ = v.takeDirty(.vmcs02) }               // VMCS02 now holds this build

        let entry12 = g.entryControls, exit12 = g.exitControls, pin12 = g.pin
        let primary12 = g.primary, secondary12 = g.secondary

        // §27.3.2.1: what a VM entry loads only under its controls.
        if !entry12.contains(.loadEFER) {
            var efer = l1EFER
            if entry12.contains(.ia32eModeGuest) { efer |= EFER.lma | EFER.lme } else { efer &= ~(EFER.lma | EFER.lme) }
            v[index: ix.layout.efer] = efer
        }
        if !entry12.contains(.loadPAT) { v[index: ix.layout.pat] = vmcs01[index: ix.layout.pat] }
        if !entry12.contains(.loadDebugControls) {
            v[index: ix.layout.debugCtl] = vmcs01[index: ix.layout.debugCtl]
            v[index: ix.layout.dr7] = vmcs01[index: ix.layout.dr7]
        }
        // Without EPT in vmcs12, PAE paging's PDPTEs come from memory at entry (§27.3.2.4);
        // VMCS02 has EPT (EPT01), so L0 loads them into the PDPTE fields itself.
        if !secondary12.contains(.enableEPT) { loadPDPTEs(into: v, ia32eModeGuest: entry12.contains(.ia32eModeGuest)) }

        var pin = pin12
        pin.remove(.processPostedInterrupts)
        var primary = primary12
        // L1's window exits stay; L0 adds its own for the events it delivers to L2 (`deliverEvents`).
        primary.subtract([.useIOBitmaps, .useMSRBitmaps])
        primary.formUnion([.unconditionalIOExiting, .activateSecondaryControls])
        var secondary = secondary12
        secondary.formUnion([.enableEPT, .enableVPID])
        var exit = exit12
        exit.formUnion([.hostAddressSpaceSize, .saveDebugControls, .savePAT, .saveEFER])
        exit.subtract([.loadPAT, .loadEFER, .loadPerfGlobalCtrl])
        if pin.contains(.activateVMXPreemptionTimer) { exit.insert(.saveVMXPreemptionTimer) }
        var entry = entry12
        entry.formUnion([.loadDebugControls, .loadPAT, .loadEFER])
        v.pin = pin; v.primary = primary; v.secondaryField = secondary
        v.exitControls = exit; v.entryControls = entry

        // EPT: EPT02 for vmcs12's EPTP, or EPT01.
        if secondary12.contains(.enableEPT) {
            guard let p = ept02.pointer(for: EPTPointer(g[index: ix.eptPointer])) else { return nil }
            v[index: ix.eptPointer] = p.raw
        } else {
            v[index: ix.eptPointer] = vmcs01[index: ix.eptPointer]
        }
        v[index: ix.virtualProcessorIdentifier] = UInt64(vpid02(for: g, secondary12))

        // Addresses the processor itself reads and writes must be L1 RAM: anything else gets
        // L0's scratch page (a read of it gives zeros, not L0's memory).
        v[index: ix.virtualAPICAddress] = primary12.contains(.useTPRShadow) ? l1Page(g[index: ix.virtualAPICAddress]) : 0

        // VMCS shadowing for L1's guest: copies of the VMREAD/VMWRITE bitmaps (they decide the
        // exits even when the link pointer is FFFFFFFF_FFFFFFFFH, where an access that does not
        // exit is VMfailInvalid) and the shadow vmcs12 the link pointer names, registered at
        // L0's link page (free while L2 runs: VMCS01 shadows vmcs12 for L1 only). §27.3.1.5
        // checks the region at the link pointer at every VM entry; in L1's memory L2 could
        // rewrite its revision word between L0's entries of VMCS02.
        v[index: ix.vmcsLinkPointer] = ~0
        if secondary12.contains(.vmcsShadowing) {
            copyBitmap(g[.vmreadBitmapAddress], to: pages.vmreadBitmap)
            copyBitmap(g[.vmwriteBitmapAddress], to: pages.vmwriteBitmap)
            v[.vmreadBitmapAddress] = pages.vmreadBitmap
            v[.vmwriteBitmapAddress] = pages.vmwriteBitmap
            if g[.vmcsLinkPointer] != ~0 {
                let shadow = cache.activate(g[.vmcsLinkPointer], from: l1)
                processor.registerVMCS(shadow.vmcs, at: pages.shadowLink, asShadow: true)
                v[.vmcsLinkPointer] = pages.shadowLink
            }
        }
        // VMfailValid of L2's shadow accesses lands here and goes back to vmcs12 at the exit.
        v[index: ix.vmInstructionError] = g[index: ix.vmInstructionError]
        v[index: ix.layout.entryMSRLoadCount] = 0
        v[index: ix.layout.exitMSRStoreCount] = 0
        v[index: ix.layout.exitMSRLoadCount] = 0
        return v
    }

    /// SDM Vol. 3C §27.3.1.5 checks BS in the pending debug exceptions against BTF in the
    /// IA32_DEBUGCTL *field* (with RFLAGS.TF and STI/MOV-SS blocking or HLT), and vmcs12's
    /// passed. VMCS02's IA32_DEBUGCTL is the one in effect — L1's without "load debug
    /// controls", or what vmcs12's MSR-load list wrote — and may differ in BTF; where the check
    /// applies, VMCS02 takes vmcs12's BTF so L0's entries pass it too. This processor
    /// single-steps whatever BTF says, so only the check sees the bit.
    func keepCheckedBTF(_ v: VMCS, _ g: VMCS) {
        let blocking = !v.guestInterruptibility.isDisjoint(with: .blockingBySTIOrMovSS)
            || v[.guestActivityState] == UInt64(ActivityState.hlt.rawValue)
        guard blocking, v[.guestRFLAGS] & (1 << 8) != 0 else { return }
        v[.guestIA32DebugCtl] = v[.guestIA32DebugCtl] & ~2 | g[.guestIA32DebugCtl] & 2
    }

    /// `address` when its page is L1 RAM, else L0's scratch page.
    func l1Page(_ address: UInt64) -> UInt64 {
        l1.isRAM(address & ~0xFFF, length: 4096) ? address : pages.scratch | (address & 0xFFF)
    }

    /// Copies a 4-KByte bitmap from L1 memory into L0's page (all ones where L1's is not RAM:
    /// every access exits to L1).
    func copyBitmap(_ from: UInt64, to page: UInt64) {
        let bytes = l1.page(at: from & ~0xFFF) ?? [UInt8](repeating: 0xFF, count: 4096)
        try? l1.memory.write(bytes, at: page)
    }

    /// §27.3.2.4 (without EPT): the four PDPTEs of a PAE-paging guest, read from its CR3. The
    /// IA-32e mode guest control comes from vmcs12: VMCS02's entry controls are written after.
    func loadPDPTEs(into v: VMCS, ia32eModeGuest: Bool) {
        let cr0 = v[.guestCR0], cr4 = v[.guestCR4]
        guard cr0 & CR0.pg != 0, cr4 & CR4.pae != 0, !ia32eModeGuest else { return }
        let base = v[.guestCR3] & 0xFFFF_FFE0
        let fields: [VMCSField] = [.guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3]
        for (k, f) in fields.enumerated() { v[f] = l1.load(UInt64.self, at: base + UInt64(k) * 8) ?? 0 }
    }

    /// VPID02: a VPID of L0's for each VPID L1 gives its guests, and one for guests without
    /// "enable VPID" (whose translations L0 flushes at every virtual entry and exit, §29.4.3.3).
    func vpid02(for g: VMCS, _ secondary12: SecondaryProcessorBasedControls) -> UInt16 {
        guard secondary12.contains(.enableVPID) else { return noVPID02 }
        let vpid12 = UInt16(truncatingIfNeeded: g[.virtualProcessorIdentifier])
        if let v = vpid02[vpid12] { return v }
        let v = nested.allocateVPID02()
        vpid02[vpid12] = v
        return v
    }
}
