/// Moving guest state between a VMCS and the processor (SDM Vol. 3C §25.4 layout, §27.3.2
/// loading at VM entry, §28.3 saving at VM exit) and unpacking the execution controls.
extension Processor {
    // MARK: Guest state (§25.4, §27.3.2 loading, §28.3 saving)

    /// §27.3.2: loads the checked guest state into the processor.
    func loadGuestState(_ s: GuestStateArea, _ v: VMCS, _ entry: VMEntryControls) {
        var efer = self.efer
        if entry.contains(.loadEFER) {
            efer = s.efer
        } else {
            // LMA and LME follow "IA-32e mode guest" (§27.3.2.1).
            if entry.contains(.ia32eModeGuest) { efer |= EFER.lma | EFER.lme } else { efer &= ~(EFER.lma | EFER.lme) }
        }
        cr0 = s.cr0
        cr4 = s.cr4
        cr3 = s.cr3
        self.efer = efer
        if entry.contains(.loadDebugControls) {
            dr7 = s.dr7
            msr.debugCtl = s.debugCtl
        }
        if entry.contains(.loadPAT) { msr.pat = s.pat }
        msr.sysenterCS = UInt64(s.sysenterCS)
        msr.sysenterESP = s.sysenterESP
        msr.sysenterEIP = s.sysenterEIP
        for (k, _) in GuestStateArea.segmentFields {
            let g = s[segment: k]
            segments[k.rawValue] = SegmentRegister(selector: g.selector, base: g.base, limit: g.limit, accessRights: g.accessRights)
        }
        ldtr = SegmentRegister(selector: s.ldtr.selector, base: s.ldtr.base, limit: s.ldtr.limit, accessRights: s.ldtr.accessRights)
        tr = SegmentRegister(selector: s.tr.selector, base: s.tr.base, limit: s.tr.limit, accessRights: s.tr.accessRights)
        gdtr = DescriptorTableRegister(base: s.gdtrBase, limit: s.gdtrLimit)
        idtr = DescriptorTableRegister(base: s.idtrBase, limit: s.idtrLimit)
        gpr[GPR.rsp.rawValue] = s.rsp
        rip = s.rip
        setRFLAGS(s.rflags)
        if Self.usesPAEPaging(cr0: cr0, cr4: cr4, lma: efer & EFER.lma != 0) {
            if v.secondary.contains(.enableEPT) { pdpte = s.pdpte } else { try? loadPDPTEs(cr3: cr3) }
        }
        activity = ActivityState(rawValue: s.activityState) ?? .active
        loadInterruptibility(s.blocking)
        updateMode()
    }

    /// §27.3.2.5 (via §25.4.2 Table 25-3): the blocking the guest resumes with.
    func loadInterruptibility(_ s: InterruptibilityState) {
        interruptShadow = s.shadow
        nmiBlocked = s.contains(.blockingByNMI)
    }

    /// A segment register in the guest-state area's terms (§25.4.1).
    static func vmcsSegment(_ s: SegmentRegister) -> GuestStateArea.Segment {
        GuestStateArea.Segment(selector: s.selector, base: s.base, limit: s.limit, accessRights: s.accessRights)
    }

    static let cr3TargetFields: [VMCSField] = [.cr3Target0, .cr3Target1, .cr3Target2, .cr3Target3]

    /// Unpacks the controls the instruction handlers consult (`NonRootControls`).
    func unpackControls(_ v: VMCS) {
        var c = NonRootControls()
        c.pin = v.pin
        c.primary = v.primary
        c.secondary = v.secondary
        c.exit = v.exitControls
        c.ept = c.secondary.contains(.enableEPT)
        c.eptPointer = EPTPointer(v[.eptPointer])
        c.vpid = UInt16(truncatingIfNeeded: v[.virtualProcessorIdentifier])
        c.exceptionBitmap = UInt32(truncatingIfNeeded: v[.exceptionBitmap])
        c.pageFaultErrorCodeMask = UInt32(truncatingIfNeeded: v[.pageFaultErrorCodeMask])
        c.pageFaultErrorCodeMatch = UInt32(truncatingIfNeeded: v[.pageFaultErrorCodeMatch])
        c.cr0Mask = v[.cr0GuestHostMask]; c.cr0Shadow = v[.cr0ReadShadow]
        c.cr4Mask = v[.cr4GuestHostMask]; c.cr4Shadow = v[.cr4ReadShadow]
        let count = Int(min(v[.cr3TargetCount], 4))
        // No array is built for the usual count of 0 (this runs at every entry).
        c.cr3Targets = count == 0 ? [] : Self.cr3TargetFields.prefix(count).map { v[$0] }
        c.ioBitmapA = v[.ioBitmapA]; c.ioBitmapB = v[.ioBitmapB]
        c.msrBitmaps = v[.msrBitmaps]
        c.tscOffset = v[.tscOffset]
        unpackShadowingControls(v, into: &c)
        unpackAPICVirtualizationControls(v, into: &c)
        unpackAPICAccessControls(v, into: &c)
        controls = c
        vmxEvents.virtualizedAPICWrite = nil
        c.currentVMCS = nil
        v.unpackedControls = c
        v.unpackedUnder = vmcsRegistryToken
    }

    /// The controls `unpackControls` made from `v` the last time, if still valid for this
    /// processor (the caller knows no control field changed since): false when they must be
    /// unpacked. Entries alternating between two VMCSs (L1's and L2's) unpack each once.
    func reuseUnpackedControls(_ v: VMCS) -> Bool {
        guard v.unpackedUnder === vmcsRegistryToken else { return false }
        controls = v.unpackedControls
        controls.currentVMCS = v
        vmxEvents.virtualizedAPICWrite = nil
        return true
    }

    /// §28.3: saves the guest's state into the guest-state area. Only values that differ from
    /// the field's mark it changed (for the entry checks; the processor holds them already).
    /// When nothing but RIP, RSP, RFLAGS and the interruptibility/activity state can have
    /// changed since this processor last saved all of `v`'s state (`systemStateEpoch`), only
    /// those are stored.
    func saveGuestState(_ v: VMCS) {
        let L = vmcsLayout
        v.storeSaved(L.rsp, gpr[GPR.rsp.rawValue]); v.storeSaved(L.rip, rip); v.storeSaved(L.rflags, rflags)
        v.storeSaved(L.activity, UInt64(activity.rawValue))
        v.storeSaved(L.interruptibility, UInt64(InterruptibilityState(shadow: interruptShadow, nmiBlocked: nmiBlocked).rawValue))
        if residentVMCS == ObjectIdentifier(v) && systemStateEpochOfVMCS == systemStateEpoch {
            if VMEntryCheckCache.verify { verifySystemStateSaved(v) }
            return
        }
        saveSystemState(v)
        if residentVMCS == ObjectIdentifier(v) { systemStateEpochOfVMCS = systemStateEpoch }
    }

    /// The rest of §28.3's guest state: control, debug and segment registers, descriptor
    /// tables, MSRs, PDPTEs, and "IA-32e mode guest".
    private func saveSystemState(_ v: VMCS) {
        let L = vmcsLayout
        v.storeSaved(L.cr0, cr0); v.storeSaved(L.cr3, cr3); v.storeSaved(L.cr4, cr4); v.storeSaved(L.dr7, dr7)
        for n in 0..<6 { Self.save(segments[n], L.segments[n], into: v) }
        Self.save(ldtr, L.segments[6], into: v)
        Self.save(tr, L.segments[7], into: v)
        v.storeSaved(L.gdtrBase, gdtr.base); v.storeSaved(L.gdtrLimit, UInt64(gdtr.limit))
        v.storeSaved(L.idtrBase, idtr.base); v.storeSaved(L.idtrLimit, UInt64(idtr.limit))
        v.storeSaved(L.sysenterCS, msr.sysenterCS & 0xFFFF_FFFF); v.storeSaved(L.sysenterESP, msr.sysenterESP)
        v.storeSaved(L.sysenterEIP, msr.sysenterEIP)
        let exit = v.exitControls
        if exit.contains(.saveDebugControls) { v.storeSaved(L.debugCtl, msr.debugCtl) }
        if exit.contains(.savePAT) { v.storeSaved(L.pat, msr.pat) }
        if exit.contains(.saveEFER) { v.storeSaved(L.efer, efer) }
        v.storeSaved(L.pdpte0, pdpte.0); v.storeSaved(L.pdpte1, pdpte.1); v.storeSaved(L.pdpte2, pdpte.2); v.storeSaved(L.pdpte3, pdpte.3)
        // §28.3: the "IA-32e mode guest" VM-entry control receives IA32_EFER.LMA, so a guest
        // that entered or left IA-32e mode is re-entered in the mode it is in.
        let ia32e = UInt64(VMEntryControls.ia32eModeGuest.rawValue), entry = v[index: L.entryControls]
        v.storeSaved(L.entryControls, efer & EFER.lma != 0 ? entry | ia32e : entry & ~ia32e)
    }

    /// Tests (`VMEntryCheckCache.verify`): an exit that skipped `saveSystemState` finds every
    /// one of those fields already holding what it would store (a writer of a register that
    /// does not advance `systemStateEpoch` traps here).
    private func verifySystemStateSaved(_ v: VMCS) {
        let before = (0..<VMCSFieldTable.entries.count).map { v[index: $0] }
        saveSystemState(v)
        for k in 0..<before.count where v[index: k] != before[k] {
            preconditionFailure("saveGuestState skipped \(VMCSFieldTable.entries[k].name), which changed to 0x\(String(v[index: k], radix: 16)) without advancing systemStateEpoch")
        }
    }

    @inline(__always)
    static func save(_ s: SegmentRegister, _ f: VMCSLayout.Segment, into v: VMCS) {
        v.storeSaved(f.selector, UInt64(s.selector)); v.storeSaved(f.base, s.base)
        v.storeSaved(f.limit, UInt64(s.limit)); v.storeSaved(f.accessRights, UInt64(s.accessRights))
    }

    // MARK: Loading only what changed

    /// §27.3.2 for an entry into `v`: when this processor still holds `v`'s guest state and
    /// controls (it saved them at `v`'s last exit and nothing else ran since), only the fields
    /// written since (`VMCS.dirty`, consumer `.processor`) are loaded — RIP, RSP, RFLAGS,
    /// interruptibility and activity one by one, anything else the whole area — and the
    /// controls are unpacked again only when one changed (also after another VMCS ran:
    /// `reuseUnpackedControls`). With `checked`, a full load takes the area the entry checks
    /// read from `v`'s check cache (else it reads it from `v`).
    /// Returns whether nothing that selects a translation context (controls, paging
    /// registers) was loaded.
    @discardableResult
    func loadForEntry(_ v: VMCS, checked: Bool) -> Bool {
        let L = vmcsLayout
        let dirty = v.takeDirty(.processor)
        if residentVMCS == ObjectIdentifier(v) && !dirty.intersects(L.slowGuest) {
            if dirty.intersects(L.fastGuest) { loadFastGuestFields(v, dirty, L) }
            let controlsChanged = dirty.intersects(L.controls)
            if controlsChanged {
                unpackControls(v)
                systemStateEpochOfVMCS = ~0      // the VM-exit controls say what an exit saves
            } else {
                vmxEvents.virtualizedAPICWrite = nil
            }
            // §27.3.2.4: without EPT, PAE paging's PDPTEs are read from memory at every entry.
            if !controls.ept && Self.usesPAEPaging(cr0: cr0, cr4: cr4, lma: efer & EFER.lma != 0) { try? loadPDPTEs(cr3: cr3) }
            return !controlsChanged
        }
        if checked, let cache = v.checkCache { loadGuestState(cache.guestState, v, v.entryControls) } else { loadGuestState(GuestStateArea(v), v, v.entryControls) }
        if dirty.intersects(L.controls) || !reuseUnpackedControls(v) { unpackControls(v) }
        residentVMCS = ObjectIdentifier(v)
        // A load does not make every field what an exit would store (EFER, PAT, DR7 and
        // IA32_DEBUGCTL only under their load controls; PDPTEs from memory without EPT): the
        // next exit saves everything.
        systemStateEpochOfVMCS = ~0
        return false
    }

    /// The guest fields L0 edits between exits (RIP, RSP, RFLAGS, interruptibility, activity).
    private func loadFastGuestFields(_ v: VMCS, _ dirty: DirtyFields, _ L: VMCSLayout) {
        // The usual case, one compare: L0 advanced RIP past the instruction it emulated.
        if dirty.intersection(L.fastGuest) == L.ripOnly { rip = v[index: L.rip]; return }
        if dirty.contains(L.rip) { rip = v[index: L.rip] }
        if dirty.contains(L.rsp) { gpr[GPR.rsp.rawValue] = v[index: L.rsp] }
        if dirty.contains(L.rflags) {
            let vm = rflags & RFLAGS.vm
            setRFLAGS(v[index: L.rflags])
            if rflags & RFLAGS.vm != vm { updateMode() }
        }
        if dirty.contains(L.interruptibility) {
            loadInterruptibility(InterruptibilityState(rawValue: UInt32(truncatingIfNeeded: v[index: L.interruptibility])))
        }
        if dirty.contains(L.activity) {
            activity = ActivityState(rawValue: UInt32(truncatingIfNeeded: v[index: L.activity])) ?? .active
        }
    }
}
