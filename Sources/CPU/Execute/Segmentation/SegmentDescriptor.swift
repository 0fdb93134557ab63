/// A segment or gate descriptor as read from the GDT/LDT/IDT (SDM Vol. 3A §3.4.5 Figure 3-8,
/// §3.5 system descriptors, §5.8.3 call gates, §6.11 IDT gates; 16-byte forms in IA-32e mode,
/// §3.5.2, §6.14.1).
struct SegmentDescriptor {
    var low: UInt32
    var high: UInt32
    /// Bits 95:64 of a 16-byte system descriptor or gate (IA-32e mode); 0 otherwise.
    var upper: UInt32 = 0
    /// Linear address the descriptor was read from (for setting accessed/busy bits).
    var address: UInt64 = 0

    var type: UInt32 { (high >> 8) & 0xF }
    /// S = 1: code or data segment.
    var isCodeOrData: Bool { high & (1 << 12) != 0 }
    var dpl: Int { Int((high >> 13) & 3) }
    var present: Bool { high & (1 << 15) != 0 }
    var isCode: Bool { isCodeOrData && type & 8 != 0 }
    var isConforming: Bool { isCode && type & 4 != 0 }
    var readable: Bool { !isCode || type & 2 != 0 }
    var writable: Bool { !isCode && type & 2 != 0 }
    var longMode: Bool { high & (1 << 21) != 0 }
    var defaultBig: Bool { high & (1 << 22) != 0 }

    /// The descriptor-cache form (VMCS access-rights layout) for selector `sel`.
    func cached(_ sel: UInt16) -> SegmentRegister {
        var s = SegmentRegister.fromDescriptor(selector: sel, low: low, high: high)
        if !isCodeOrData { s.base |= UInt64(upper) << 32 }
        return s
    }

    // Gate fields (call, interrupt, trap, task gates).
    var gateSelector: UInt16 { UInt16(truncatingIfNeeded: low >> 16) }
    var gateOffset: UInt64 {
        UInt64(low & 0xFFFF) | UInt64(high & 0xFFFF_0000) | (UInt64(upper) << 32)
    }
    var gateParameterCount: Int { Int(high & 0x1F) }
    /// Interrupt-stack-table index of a 64-bit IDT gate (bits 34:32).
    var ist: Int { Int(high & 7) }
}

/// Where a selector points (SDM Vol. 3A §3.4.2).
struct SelectorParts {
    let raw: UInt16
    var index: UInt64 { UInt64(raw >> 3) }
    var ti: Bool { raw & 4 != 0 }
    var rpl: Int { Int(raw & 3) }
    var isNull: Bool { raw & 0xFFFC == 0 }
    /// The error code for faults naming this selector.
    var errorCode: UInt32 { UInt32(raw & 0xFFFC) }
    init(_ raw: UInt16) { self.raw = raw }
}

extension Processor {
    /// Reads the descriptor `sel` names from the GDT or LDT. #GP(selector) when it lies beyond
    /// the table's limit or the LDT is unusable (SDM Vol. 3A §3.4.2, §5.3). `wide` reads the
    /// 16-byte form of system descriptors in IA-32e mode.
    func fetchDescriptor(_ sel: UInt16, wide: Bool = false, fault: (UInt32) -> Fault = { Fault.gp($0) }) throws(Fault) -> SegmentDescriptor {
        let s = SelectorParts(sel)
        let base: UInt64, limit: UInt64
        if s.ti {
            if ldtr.unusable || ldtr.selector & 0xFFFC == 0 { throw fault(s.errorCode) }
            base = ldtr.base
            limit = UInt64(ldtr.limit)
        } else {
            base = gdtr.base
            limit = UInt64(gdtr.limit)
        }
        let offset = s.index * 8
        let size: UInt64 = wide ? 16 : 8
        if offset + size - 1 > limit { throw fault(s.errorCode) }
        let la = (base &+ offset) & (is64 || efer & EFER.lma != 0 ? ~0 : 0xFFFF_FFFF)
        var d = SegmentDescriptor(low: try readSystem(la, UInt32.self), high: try readSystem(la &+ 4, UInt32.self))
        d.address = la
        if wide { d.upper = try readSystem(la &+ 8, UInt32.self) }
        return d
    }

    /// Sets the accessed bit of a code/data descriptor in memory (SDM Vol. 3A §3.4.5.1).
    func markAccessed(_ d: inout SegmentDescriptor) throws(Fault) {
        guard d.isCodeOrData, d.type & 1 == 0 else { return }
        d.high |= 1 << 8
        try writeSystem(d.address &+ 4, d.high)
    }

    /// A null selector's cache in protected/IA-32e mode: unusable (SDM Vol. 3A §3.4.3).
    func nullSegment(_ sel: UInt16, keepDPL: Int = 0) -> SegmentRegister {
        SegmentRegister(selector: sel, base: 0, limit: 0, accessRights: SegmentRegister.unusableBit | UInt32(keepDPL << 5))
    }

    /// Virtual-8086 and real-mode segment loads: base = selector × 16 (SDM Vol. 3A §20.1.1).
    func realModeSegment(_ index: SegmentRegisterIndex, _ sel: UInt16) {
        var s = segments[index.rawValue]
        s.selector = sel
        s.base = UInt64(sel) << 4
        if mode == .virtual8086 {
            s.limit = 0xFFFF
            s.accessRights = index == .cs ? 0xFB : 0xF3
        }
        // Real mode keeps the cached limit and attributes ("big real mode"), but a segment made
        // unusable in protected mode becomes usable again.
        s.accessRights &= ~SegmentRegister.unusableBit
        if s.accessRights & 0x80 == 0 { s.accessRights |= 0x93 }
        setSegment(index, s)
    }

    /// Loads DS, ES, FS, GS or SS with the protected-mode checks of MOV/POP/LxS (SDM Vol. 2B
    /// "MOV" pseudo-code, "POP"; Vol. 3A §5.5–5.7).
    func loadDataSegment(_ index: SegmentRegisterIndex, _ sel: UInt16) throws(Fault) {
        if mode == .real || mode == .virtual8086 {
            realModeSegment(index, sel)
            return
        }
        let s = SelectorParts(sel)
        if index == .ss {
            if s.isNull {
                // A null SS is allowed only in 64-bit mode at CPL < 3 with RPL = CPL.
                if !is64 || cpl == 3 || s.rpl != cpl { throw Fault.gp(0) }
                setSegment(.ss, nullSegment(sel, keepDPL: cpl))
                return
            }
            if s.rpl != cpl { throw Fault.gp(s.errorCode) }
            var d = try fetchDescriptor(sel)
            if !d.isCodeOrData || d.isCode || !d.writable || d.dpl != cpl { throw Fault.gp(s.errorCode) }
            if !d.present { throw Fault.ss(s.errorCode) }
            try markAccessed(&d)
            setSegment(.ss, d.cached(sel))
            return
        }
        if s.isNull {
            setSegment(index, nullSegment(sel))
            return
        }
        var d = try fetchDescriptor(sel)
        if !d.isCodeOrData || !d.readable { throw Fault.gp(s.errorCode) }
        // Data and non-conforming code: both RPL and CPL must be ≤ DPL.
        if !d.isConforming && (s.rpl > d.dpl || cpl > d.dpl) { throw Fault.gp(s.errorCode) }
        if !d.present { throw Fault.np(s.errorCode) }
        try markAccessed(&d)
        setSegment(index, d.cached(sel))
    }
}
