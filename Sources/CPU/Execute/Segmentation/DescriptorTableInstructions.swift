/// Descriptor-table register instructions and descriptor queries (SDM Vol. 2A/2B "LGDT/LIDT",
/// "SGDT", "SIDT", "SLDT", "STR", "LLDT", "LTR", "LAR", "LSL", "VERR/VERW").
extension Processor {
    /// SLDT/STR/LLDT/LTR/LAR/LSL/VERR/VERW do not exist in real-address and virtual-8086 mode.
    func requireProtectedMode() throws(Fault) {
        if mode == .real || mode == .virtual8086 { throw Fault.ud }
    }

    /// Descriptor-table exiting (SDM Vol. 3C §26.1.3): LGDT/LIDT/SGDT/SIDT exit with reason 46,
    /// LLDT/LTR/SLDT/STR with reason 47; instruction information per Tables 28-10/28-11
    /// (the operation identity in bits 29:28).
    func descriptorTableExit(_ i: Inst, ldtrTR: Bool, identity: UInt32) throws(Fault) {
        guard nonRoot && controls.secondary.contains(.descriptorTableExiting) else { return }
        var info = vmxInstructionInformation(i) & ~(0xF << 28)
        info |= identity << 28
        let q = i.pointee.isMemory ? UInt64(bitPattern: i.pointee.disp) : 0
        throw instructionExit(i, ldtrTR ? .ldtrTrAccess : .gdtrIdtrAccess, qualification: q, info: info)
    }

    /// UMIP (SDM Vol. 3A §2.5): SGDT, SIDT, SLDT, SMSW, STR at CPL > 0 raise #GP(0).
    func checkUMIP() throws(Fault) {
        if cr4 & CR4.umip != 0 && cpl > 0 { throw Fault.gp(0) }
    }

    /// LGDT/LIDT m: limit (16 bits) then base — 64 bits in 64-bit mode, otherwise 32 bits of
    /// which a 16-bit operand size keeps 24.
    private func loadTableRegister(_ i: Inst) throws(Fault) -> DescriptorTableRegister {
        guard i.pointee.isMemory else { throw Fault.ud }
        if cpl != 0 { throw Fault.gp(0) }
        let ea = effectiveAddress(i)
        let seg = Int(i.pointee.seg)
        let limit = try read(seg, ea, UInt16.self)
        var base: UInt64
        if is64 {
            base = try read(seg, ea &+ 2, UInt64.self)
            if !isCanonical(base) { throw Fault.gp(0) }
        } else {
            base = UInt64(try read(seg, ea &+ 2, UInt32.self))
            if i.pointee.opSize == 2 { base &= 0xFF_FFFF }
        }
        return DescriptorTableRegister(base: base, limit: UInt32(limit))
    }

    func execLgdt(_ i: Inst) throws(Fault) {
        guard i.pointee.isMemory else { throw Fault.ud }
        if cpl != 0 { throw Fault.gp(0) }
        try descriptorTableExit(i, ldtrTR: false, identity: 2)
        gdtr = try loadTableRegister(i)
    }

    func execLidt(_ i: Inst) throws(Fault) {
        guard i.pointee.isMemory else { throw Fault.ud }
        if cpl != 0 { throw Fault.gp(0) }
        try descriptorTableExit(i, ldtrTR: false, identity: 3)
        idtr = try loadTableRegister(i)
    }

    private func storeTableRegister(_ i: Inst, _ r: DescriptorTableRegister) throws(Fault) {
        guard i.pointee.isMemory else { throw Fault.ud }
        try checkUMIP()
        let ea = effectiveAddress(i)
        let seg = Int(i.pointee.seg)
        let baseSize = is64 ? 8 : 4
        try probeWrite(seg, ea, 2 + baseSize)
        try write(seg, ea, UInt16(truncatingIfNeeded: r.limit))
        if is64 { try write(seg, ea &+ 2, r.base) }
        else { try write(seg, ea &+ 2, UInt32(truncatingIfNeeded: r.base)) }
    }

    func execSgdt(_ i: Inst) throws(Fault) {
        guard i.pointee.isMemory else { throw Fault.ud }
        try checkUMIP()
        try descriptorTableExit(i, ldtrTR: false, identity: 0)
        try storeTableRegister(i, gdtr)
    }

    func execSidt(_ i: Inst) throws(Fault) {
        guard i.pointee.isMemory else { throw Fault.ud }
        try checkUMIP()
        try descriptorTableExit(i, ldtrTR: false, identity: 1)
        try storeTableRegister(i, idtr)
    }

    /// SLDT/STR: the selector; a register destination is zero-extended to the operand size.
    private func storeSelector(_ i: Inst, _ sel: UInt16) throws(Fault) {
        try requireProtectedMode()
        try checkUMIP()
        if i.pointee.isMemory { try writeRM(i, 2, UInt64(sel)) }
        else { writeReg(i.pointee.rm, i.pointee.opSize, UInt64(sel)) }
    }

    func execSldt(_ i: Inst) throws(Fault) {
        try requireProtectedMode()
        try checkUMIP()
        try descriptorTableExit(i, ldtrTR: true, identity: 0)
        try storeSelector(i, ldtr.selector)
    }

    func execStr(_ i: Inst) throws(Fault) {
        try requireProtectedMode()
        try checkUMIP()
        try descriptorTableExit(i, ldtrTR: true, identity: 1)
        try storeSelector(i, tr.selector)
    }

    /// Whether system descriptors are 16 bytes (IA-32e mode, SDM Vol. 3A §3.5.2).
    var wideSystemDescriptors: Bool { efer & EFER.lma != 0 }

    /// LLDT r/m16 (CPL 0): null → LDTR unusable; otherwise a present LDT descriptor in the GDT.
    func execLldt(_ i: Inst) throws(Fault) {
        try requireProtectedMode()
        if cpl != 0 { throw Fault.gp(0) }
        try descriptorTableExit(i, ldtrTR: true, identity: 2)
        let sel = UInt16(truncatingIfNeeded: try readRM(i, 2))
        let s = SelectorParts(sel)
        if s.isNull {
            ldtr = nullSegment(sel)
            return
        }
        if s.ti { throw Fault.gp(s.errorCode) }
        let d = try fetchDescriptor(sel, wide: wideSystemDescriptors)
        if d.isCodeOrData || d.type != 2 { throw Fault.gp(s.errorCode) }
        if !d.present { throw Fault.np(s.errorCode) }
        let cache = d.cached(sel)
        if wideSystemDescriptors && !isCanonical(cache.base) { throw Fault.gp(s.errorCode) }
        ldtr = cache
    }

    /// LTR r/m16 (CPL 0): an available TSS in the GDT; marks it busy (SDM Vol. 3A §7.2.4).
    func execLtr(_ i: Inst) throws(Fault) {
        try requireProtectedMode()
        if cpl != 0 { throw Fault.gp(0) }
        try descriptorTableExit(i, ldtrTR: true, identity: 3)
        let sel = UInt16(truncatingIfNeeded: try readRM(i, 2))
        let s = SelectorParts(sel)
        if s.isNull { throw Fault.gp(0) }
        if s.ti { throw Fault.gp(s.errorCode) }
        var d = try fetchDescriptor(sel, wide: wideSystemDescriptors)
        let available: Set<UInt32> = wideSystemDescriptors ? [9] : [1, 9]
        if d.isCodeOrData || !available.contains(d.type) { throw Fault.gp(s.errorCode) }
        if !d.present { throw Fault.np(s.errorCode) }
        let cache = d.cached(sel)
        if wideSystemDescriptors && !isCanonical(cache.base) { throw Fault.gp(s.errorCode) }
        d.high |= 2 << 8
        try writeSystem(d.address &+ 4, d.high)
        var busy = cache
        busy.accessRights |= 2
        tr = busy
    }

    /// The descriptor for LAR/LSL/VERR/VERW, or nil when the selector is null or beyond the
    /// table (these instructions then clear ZF instead of faulting).
    private func queryDescriptor(_ sel: UInt16, wide: Bool) throws(Fault) -> SegmentDescriptor? {
        let s = SelectorParts(sel)
        if s.isNull { return nil }
        let limit = s.ti ? (ldtr.unusable ? -1 : Int64(ldtr.limit)) : Int64(gdtr.limit)
        if Int64(s.index * 8) + 7 > limit { return nil }
        return try fetchDescriptor(sel, wide: false)
    }

    /// Privilege rule of LAR/LSL/VERR/VERW: conforming code is always visible; otherwise
    /// DPL ≥ CPL and DPL ≥ RPL.
    private func visible(_ d: SegmentDescriptor, _ sel: UInt16) -> Bool {
        d.isConforming || (d.dpl >= cpl && d.dpl >= SelectorParts(sel).rpl)
    }

    /// LAR r, r/m16: ZF = 1 and the access-rights bytes (descriptor bits 23:8 of the high
    /// dword) when the descriptor is valid and visible (Table in "LAR").
    func execLar(_ i: Inst) throws(Fault) {
        try requireProtectedMode()
        let sel = UInt16(truncatingIfNeeded: try readRM(i, 2))
        let validSystem: Set<UInt32> = wideSystemDescriptors ? [2, 9, 11, 12] : [1, 2, 3, 4, 5, 9, 11, 12]
        guard let d = try queryDescriptor(sel, wide: false),
              d.isCodeOrData || validSystem.contains(d.type), visible(d, sel) else {
            setZF(false)
            return
        }
        writeReg(i.pointee.reg, i.pointee.opSize, UInt64(d.high & 0x00FF_FF00))
        setZF(true)
    }

    /// LSL r, r/m16: ZF = 1 and the byte-granular segment limit.
    func execLsl(_ i: Inst) throws(Fault) {
        try requireProtectedMode()
        let sel = UInt16(truncatingIfNeeded: try readRM(i, 2))
        let validSystem: Set<UInt32> = wideSystemDescriptors ? [2, 9, 11] : [1, 2, 3, 9, 11]
        guard let d = try queryDescriptor(sel, wide: false),
              d.isCodeOrData || validSystem.contains(d.type), visible(d, sel) else {
            setZF(false)
            return
        }
        writeReg(i.pointee.reg, i.pointee.opSize, UInt64(SegmentRegister.fromDescriptor(selector: sel, low: d.low, high: d.high).limit))
        setZF(true)
    }

    /// VERR/VERW r/m16: ZF = 1 when the segment is readable/writable at the current privilege.
    private func verify(_ i: Inst, write: Bool) throws(Fault) {
        try requireProtectedMode()
        let sel = UInt16(truncatingIfNeeded: try readRM(i, 2))
        guard let d = try queryDescriptor(sel, wide: false), d.isCodeOrData, visible(d, sel) else {
            setZF(false)
            return
        }
        setZF(write ? d.writable : d.readable)
    }

    func execVerr(_ i: Inst) throws(Fault) { try verify(i, write: false) }
    func execVerw(_ i: Inst) throws(Fault) { try verify(i, write: true) }

    /// Sets or clears ZF, keeping the other status flags.
    func setZF(_ on: Bool) {
        var f = flags.value
        if on { f |= RFLAGS.zf } else { f &= ~RFLAGS.zf }
        flags.set(f)
    }
}
