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
        var shadow: InterruptShadow = []
        if s.interruptibility & 1 != 0 { shadow.insert(.sti) }
        if s.interruptibility & 2 != 0 { shadow.insert(.movSS) }
        interruptShadow = shadow
        nmiBlocked = s.interruptibility & 8 != 0
        updateMode()
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
    }

    /// §28.3: saves the guest's state into the guest-state area.
    func saveGuestState(_ v: VMCS) {
        v[.guestCR0] = cr0; v[.guestCR3] = cr3; v[.guestCR4] = cr4; v[.guestDR7] = dr7
        v[.guestRSP] = gpr[GPR.rsp.rawValue]; v[.guestRIP] = rip; v[.guestRFLAGS] = rflags
        for (idx, f) in GuestStateArea.segmentFields { GuestStateArea.store(Self.vmcsSegment(segments[idx.rawValue]), f, into: v) }
        GuestStateArea.store(Self.vmcsSegment(ldtr), GuestStateArea.ldtrFields, into: v)
        GuestStateArea.store(Self.vmcsSegment(tr), GuestStateArea.trFields, into: v)
        v[.guestGDTRBase] = gdtr.base; v[.guestGDTRLimit] = UInt64(gdtr.limit)
        v[.guestIDTRBase] = idtr.base; v[.guestIDTRLimit] = UInt64(idtr.limit)
        v[.guestIA32SysenterCS] = msr.sysenterCS; v[.guestIA32SysenterESP] = msr.sysenterESP
        v[.guestIA32SysenterEIP] = msr.sysenterEIP
        let exit = v.exitControls
        if exit.contains(.saveDebugControls) { v[.guestIA32DebugCtl] = msr.debugCtl }
        if exit.contains(.savePAT) { v[.guestIA32PAT] = msr.pat }
        if exit.contains(.saveEFER) { v[.guestIA32EFER] = efer }
        v[.guestActivityState] = UInt64(activity.rawValue)
        var interruptibility: UInt64 = 0
        let shadow = interruptShadow
        if shadow.contains(.sti) { interruptibility |= 1 }
        if shadow.contains(.movSS) { interruptibility |= 2 }
        if nmiBlocked { interruptibility |= 8 }
        v[.guestInterruptibilityState] = interruptibility
        v[.guestPDPTE0] = pdpte.0; v[.guestPDPTE1] = pdpte.1; v[.guestPDPTE2] = pdpte.2; v[.guestPDPTE3] = pdpte.3
        // §28.3: the "IA-32e mode guest" VM-entry control receives IA32_EFER.LMA, so a guest
        // that entered or left IA-32e mode is re-entered in the mode it is in.
        let ia32e = UInt64(VMEntryControls.ia32eModeGuest.rawValue)
        v[.entryControls] = efer & EFER.lma != 0 ? v[.entryControls] | ia32e : v[.entryControls] & ~ia32e
    }
}
