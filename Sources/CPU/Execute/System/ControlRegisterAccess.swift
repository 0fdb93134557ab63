/// MOV to and from control registers, CLTS, LMSW and SMSW (SDM Vol. 2B "MOV—Move to/from
/// Control Registers", Vol. 3A §2.5 "Control Registers", §4.10.4 TLB invalidation).
extension Processor {
    /// CR4 bits this processor lets software set (VME/PVI: virtual-8086 extensions are not
    /// implemented, CPUID.1:EDX.VME = 0): the base set plus the bits of
    /// the optional features the model implements.
    var cr4Writable: UInt64 {
        var m: UInt64 = CR4.tsd | CR4.de | CR4.pse | CR4.pae | CR4.mce | CR4.pge | CR4.pce
            | CR4.osfxsr | CR4.osxmmexcpt
        if model.has(.umip) { m |= CR4.umip }
        if model.has(.la57) { m |= CR4.la57 }
        if model.has(.vmx) { m |= CR4.vmxe }
        if model.has(.fsgsbase) { m |= CR4.fsgsbase }
        if model.has(.pcid) { m |= CR4.pcide }
        if model.has(.xsave) { m |= CR4.osxsave }
        if model.has(.smep) { m |= CR4.smep }
        if model.has(.smap) { m |= CR4.smap }
        if model.has(.pku) { m |= CR4.pke }
        if model.has(.pks) { m |= CR4.pks }
        return m
    }

    /// PAE paging is (or would be) in use: CR0.PG, CR4.PAE and not IA-32e mode.
    static func usesPAEPaging(cr0: UInt64, cr4: UInt64, lma: Bool) -> Bool {
        cr0 & CR0.pg != 0 && cr4 & CR4.pae != 0 && !lma
    }

    /// Loads CR0 with the checks and side effects of MOV to CR0 (SDM Vol. 2B "MOV to CR0"
    /// #GP conditions; Vol. 3A §9.8.5 activating IA-32e mode; §4.4.1 PDPTE loading; §4.10.4.1).
    func writeCR0(_ value: UInt64) throws(Fault) {
        if value >> 32 != 0 { throw Fault.gp(0) }
        // SDM Vol. 3C §24.8: in VMX operation the bits IA32_VMX_CR0_FIXED0 fixes at 1 (PE and
        // PG not with "unrestricted guest") cannot be cleared; the guest/host mask already kept
        // the bits the host owns (`guestControlRegisterWrite`).
        if nonRoot {
            var fixed = vmxCapabilities.cr0Fixed0
            if controls.secondary.contains(.unrestrictedGuest) { fixed &= ~(CR0.pe | CR0.pg) }
            if value & fixed != fixed { throw Fault.gp(0) }
        }
        var v = (value & CR0.defined) | CR0.et
        if v & CR0.pg != 0 && v & CR0.pe == 0 { throw Fault.gp(0) }
        if v & CR0.nw != 0 && v & CR0.cd == 0 { throw Fault.gp(0) }
        let enablingPaging = v & CR0.pg != 0 && cr0 & CR0.pg == 0
        let disablingPaging = v & CR0.pg == 0 && cr0 & CR0.pg != 0
        var newEFER = efer
        if enablingPaging && efer & EFER.lme != 0 {
            // Activating IA-32e mode needs PAE paging and no PCIDE from before (§9.8.5).
            if cr4 & CR4.pae == 0 { throw Fault.gp(0) }
            newEFER |= EFER.lma
        }
        if disablingPaging {
            if is64 { throw Fault.gp(0) }             // cannot leave IA-32e mode from 64-bit code
            if cr4 & CR4.pcide != 0 { throw Fault.gp(0) }
            newEFER &= ~EFER.lma
        }
        if Self.usesPAEPaging(cr0: v, cr4: cr4, lma: newEFER & EFER.lma != 0)
            && (enablingPaging || (v ^ cr0) & (CR0.cd | CR0.nw) != 0) {
            try loadPDPTEs(cr3: cr3)
        }
        v |= CR0.et
        let changed = v ^ cr0
        cr0 = v
        efer = newEFER
        // §4.10.4.1: a CR0.WP change invalidates nothing; it selects the TLB set of the new
        // controls (`pagingControlBasis`). WP governs data writes only, so the mode, the access
        // masks and the decoded blocks' links are unaffected by it.
        if changed == CR0.wp {
            selectTLBSetForDataAccessControls()
            return
        }
        if changed & (CR0.pg | CR0.pe | CR0.cd) != 0 {
            invalidateMappingsOfCurrentVPID()
        } else if changed & CR0.wp != 0 {
            activateTranslationContext()
        }
        updateMode()
        pending |= PendingBit.modeChanged
    }

    /// Loads CR4 with the checks of MOV to CR4 (SDM Vol. 2B; §2.5; §4.10.4.1 flushes).
    func writeCR4(_ value: UInt64) throws(Fault) {
        // In VMX operation CR4.VMXE is fixed to 1 (SDM Vol. 3C §24.8, IA32_VMX_CR4_FIXED0); a
        // guest that must not see it is given a guest/host mask and read shadow by L0.
        let writable = nonRoot ? cr4Writable | CR4.vmxe : cr4Writable
        if value & ~writable != 0 { throw Fault.gp(0) }
        // §24.8: nor can a bit IA32_VMX_CR4_FIXED0 fixes at 1 be cleared (a guest-owned VMXE).
        if nonRoot && value & vmxCapabilities.cr4Fixed0 != vmxCapabilities.cr4Fixed0 { throw Fault.gp(0) }
        let lma = efer & EFER.lma != 0
        if lma && value & CR4.pae == 0 { throw Fault.gp(0) }                 // leaving PAE in IA-32e mode
        if lma && (value ^ cr4) & CR4.la57 != 0 { throw Fault.gp(0) }         // LA57 fixed in IA-32e mode
        if value & CR4.pcide != 0 && cr4 & CR4.pcide == 0 {
            if !lma || cr3 & 0xFFF != 0 { throw Fault.gp(0) }
        }
        let changed = value ^ cr4
        let pagingBits = CR4.pae | CR4.pse | CR4.pge | CR4.smep | CR4.smap | CR4.pke | CR4.pks
        if Self.usesPAEPaging(cr0: cr0, cr4: value, lma: lma) && changed & pagingBits != 0 {
            try loadPDPTEs(cr3: cr3)
        }
        cr4 = value
        // §4.10.4.1: PGE, PAE, PCIDE and SMEP 0 → 1 invalidate (PSE, LA57 too here); SMAP, PKE,
        // PKS and SMEP 1 → 0 only select the TLB set of the new controls (`pagingControlBasis`).
        if changed & (CR4.pge | CR4.pae | CR4.pse | CR4.pcide | CR4.la57) != 0 || changed & value & CR4.smep != 0 {
            invalidateMappingsOfCurrentVPID()
        } else if changed & (CR4.smap | CR4.pke | CR4.pks | CR4.smep) != 0 {
            activateTranslationContext()
        }
        updateMode()   // SMAP/UMIP/… change the access masks
        pending |= PendingBit.modeChanged
    }

    /// Loads CR3 (SDM Vol. 2B "MOV to CR3"; §4.10.4.1: the non-global translations of the PCID
    /// loaded are flushed — for the current VPID, Vol. 3C §29.4.3.1 — unless CR4.PCIDE = 1 and
    /// bit 63 of the source is set).
    func writeCR3(_ value: UInt64) throws(Fault) {
        var v = value
        var noFlush = false
        if efer & EFER.lma != 0 {
            if cr4 & CR4.pcide != 0 && v & (1 << 63) != 0 {
                noFlush = true
                v &= ~(1 << 63)
            }
            if v & ~model.physicalAddressMask != 0 { throw Fault.gp(0) }
        } else {
            v &= 0xFFFF_FFFF
        }
        if Self.usesPAEPaging(cr0: cr0, cr4: cr4, lma: efer & EFER.lma != 0) {
            try loadPDPTEs(cr3: v)
        }
        cr3 = v
        activateTranslationContext()                 // the PCID may have changed
        if !noFlush { invalidateNonGlobalMappings(pcid: currentPCID) }
        pending |= PendingBit.modeChanged
    }

    /// MOV CR8 ← r: the task-priority class (SDM Vol. 3A §10.8.6.1; bits 63:4 reserved).
    func writeCR8(_ value: UInt64) throws(Fault) {
        if value & ~0xF != 0 { throw Fault.gp(0) }
        cr8 = value
        platformRegisters?.taskPriorityWritten(cpu: self, value: value)
        pending |= PendingBit.eventWindow
    }

    /// SDM Vol. 2B "MOV—Move to/from Control Registers": MOV CRn, r.
    func execMovToCR(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        let v = readReg(i.pointee.rm, i.pointee.opSize)
        let cr = i.pointee.reg
        if nonRoot {
            let q = ControlRegisterAccessQualification(controlRegister: cr, access: .movToCR, register: i.pointee.rm).rawValue
            if cr == 3 && controls.primary.contains(.cr3LoadExiting) && !controls.cr3Targets.contains(v) {
                throw instructionExit(i, .crAccess, qualification: q)
            }
            if cr == 8 && controls.primary.contains(.cr8LoadExiting) { throw instructionExit(i, .crAccess, qualification: q) }
        }
        switch cr {
        case 0: try writeCR0(try guestControlRegisterWrite(i, cr: 0, value: v))
        case 2: cr2 = v
        case 3: try writeCR3(v)
        case 4: try writeCR4(try guestControlRegisterWrite(i, cr: 4, value: v))
        case 8:
            if nonRoot && controls.primary.contains(.useTPRShadow) {
                if v & ~0xF != 0 { throw Fault.gp(0) }
                try virtualizeMOVToCR8(v)                 // §30.3: VTPR, not the APIC's TPR
            } else {
                try writeCR8(v)
            }
        default: throw Fault.ud
        }
    }

    /// MOV r, CRn. Outside 64-bit mode the result is the low 32 bits.
    func execMovFromCR(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        if nonRoot {
            let cr = i.pointee.reg
            let q = ControlRegisterAccessQualification(controlRegister: cr, access: .movFromCR, register: i.pointee.rm).rawValue
            if (cr == 3 && controls.primary.contains(.cr3StoreExiting)) || (cr == 8 && controls.primary.contains(.cr8StoreExiting)) {
                throw instructionExit(i, .crAccess, qualification: q)
            }
        }
        let v: UInt64
        switch i.pointee.reg {
        case 0: v = guestControlRegisterRead(cr: 0, value: cr0)
        case 2: v = cr2
        case 3: v = cr3
        case 4: v = guestControlRegisterRead(cr: 4, value: cr4)
        case 8: v = nonRoot && controls.primary.contains(.useTPRShadow) ? virtualizedCR8Read()
                                                                         : platformRegisters?.taskPriority(cpu: self) ?? cr8
        default: throw Fault.ud
        }
        writeReg(i.pointee.rm, i.pointee.opSize, v)
    }

    /// SDM Vol. 2A "CLTS": clears CR0.TS (CPL 0).
    func execClts(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        cr0 &= ~CR0.ts
    }

    /// SDM Vol. 2A "LMSW": loads CR0 bits 3:0 (PE, MP, EM, TS); can set PE but not clear it.
    func execLmsw(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        let src = try readRM(i, 2) & 0xF
        let newLow = (cr0 & CR0.pe) | src   // PE stays set once set
        try writeCR0((cr0 & ~0xF) | newLow)
    }

    /// SDM Vol. 2B "SMSW": CR0 bits 15:0 to memory (16 bits) or a register (operand size;
    /// upper bits of a 32/64-bit destination get CR0's, per the SDM's "undefined" — we store
    /// CR0). CR4.UMIP with CPL > 0 → #GP(0).
    /// In VMX non-root operation the host-owned bits read from the CR0 read shadow, as for
    /// MOV from CR0 (SDM Vol. 3C §26.3 "SMSW").
    func execSmsw(_ i: Inst) throws(Fault) {
        if cr4 & CR4.umip != 0 && cpl > 0 { throw Fault.gp(0) }
        let visible = guestControlRegisterRead(cr: 0, value: cr0)
        if i.pointee.isMemory {
            try writeRM(i, 2, visible & 0xFFFF)
        } else {
            writeReg(i.pointee.rm, i.pointee.opSize, visible & Processor.mask(i.pointee.opSize))
        }
    }
}
