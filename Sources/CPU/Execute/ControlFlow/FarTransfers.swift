/// Far JMP, far CALL and far RET (SDM Vol. 2A "JMP", "CALL", Vol. 2B "RET" pseudo-code;
/// Vol. 3A §5.8 "Privilege Level Checking When Transferring Program Control Between Code
/// Segments", §5.8.3–5.8.6 call gates).
extension Processor {
    /// The far pointer of JMP/CALL m16:16/32/64: offset (operand size) then selector.
    func farPointerOperand(_ i: Inst) throws(Fault) -> (sel: UInt16, offset: UInt64) {
        guard i.pointee.isMemory else { throw Fault.ud }
        let ea = effectiveAddress(i)
        let seg = Int(i.pointee.seg)
        let size = i.pointee.opSize
        let off = try readSized(seg, ea, size)
        let sel = try read(seg, ea &+ UInt64(size), UInt16.self)
        return (sel, off)
    }

    func execJmpFar(_ i: Inst) throws(Fault) {
        try farJump(UInt16(truncatingIfNeeded: i.pointee.imm2), i.pointee.imm, size: i.pointee.opSize)
    }

    func execJmpFarRM(_ i: Inst) throws(Fault) {
        let p = try farPointerOperand(i)
        try farJump(p.sel, p.offset, size: i.pointee.opSize)
    }

    func execCallFar(_ i: Inst) throws(Fault) {
        try farCall(UInt16(truncatingIfNeeded: i.pointee.imm2), i.pointee.imm, size: i.pointee.opSize)
    }

    func execCallFarRM(_ i: Inst) throws(Fault) {
        let p = try farPointerOperand(i)
        try farCall(p.sel, p.offset, size: i.pointee.opSize)
    }

    /// Checks a code segment as the target of a direct far JMP/CALL (§5.8.1, §5.8.2): conforming
    /// needs DPL ≤ CPL; non-conforming needs RPL ≤ CPL and DPL = CPL.
    func directCodeTarget(_ sel: UInt16, _ d: SegmentDescriptor) throws(Fault) {
        let s = SelectorParts(sel)
        if d.isConforming {
            if d.dpl > cpl { throw Fault.gp(s.errorCode) }
        } else if s.rpl > cpl || d.dpl != cpl {
            throw Fault.gp(s.errorCode)
        }
        if !d.present { throw Fault.np(s.errorCode) }
    }

    /// Loads CS:RIP for a transfer that stays at CPL (the RPL of CS becomes CPL).
    func commitCodeSegment(_ sel: UInt16, _ d: SegmentDescriptor, offset: UInt64, size: UInt8) throws(Fault) {
        var desc = d
        var cache = desc.cached((sel & 0xFFFC) | UInt16(cpl))
        let target64 = efer & EFER.lma != 0 && cache.longMode
        let offsetMask: UInt64 = target64 ? ~0 : (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
        let newRIP = offset & offsetMask
        if target64 {
            if !isCanonical(newRIP) { throw Fault.gp(0) }
        } else if newRIP > UInt64(cache.limit) {
            throw Fault.gp(0)
        }
        try markAccessed(&desc)
        cache.accessRights |= 1
        setSegment(.cs, cache)
        nextRIP = newRIP
    }

    /// A far JMP/CALL's target in real-address or virtual-8086 mode: CS = the selector (base
    /// selector × 16), IP or EIP = the offset at the operand size (SDM Vol. 2A "JMP", "CALL").
    func realModeFarTarget(_ sel: UInt16, _ offset: UInt64, size: UInt8) {
        realModeSegment(.cs, sel)
        nextRIP = offset & (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
    }

    /// A far JMP/CALL's target descriptor in protected mode: a null selector is #GP(0)
    /// (SDM Vol. 2A "JMP", "CALL" Operation).
    func farTargetDescriptor(_ sel: UInt16) throws(Fault) -> SegmentDescriptor {
        if SelectorParts(sel).isNull { throw Fault.gp(0) }
        return try fetchDescriptor(sel)
    }

    /// Far JMP in every mode. Call gates transfer at the same privilege for JMP; task gates
    /// and TSS descriptors would need a task switch (not implemented: #GP).
    func farJump(_ sel: UInt16, _ offset: UInt64, size: UInt8) throws(Fault) {
        if mode == .real || mode == .virtual8086 {
            realModeFarTarget(sel, offset, size: size)
            return
        }
        let d = try farTargetDescriptor(sel)
        if d.isCode {
            try directCodeTarget(sel, d)
            try commitCodeSegment(sel, d, offset: offset, size: size)
            return
        }
        let gate = try callGate(sel, d)
        let target = try fetchDescriptor(gate.gateSelector)
        let ts = SelectorParts(gate.gateSelector)
        if !target.isCode { throw Fault.gp(ts.errorCode) }
        // JMP through a call gate: conforming DPL ≤ CPL, non-conforming DPL = CPL (§5.8.6).
        if (target.isConforming && target.dpl > cpl) || (!target.isConforming && target.dpl != cpl) {
            throw Fault.gp(ts.errorCode)
        }
        if !target.present { throw Fault.np(ts.errorCode) }
        try commitCodeSegment(gate.gateSelector, target, offset: gate.gateOffset, size: gate.type == 4 ? 2 : 4)
    }

    /// Validates a call-gate descriptor (§5.8.4): DPL ≥ CPL and ≥ RPL, present; 64-bit gates
    /// (16 bytes, type 12) in IA-32e mode. Anything else that is not code is #GP(selector).
    func callGate(_ sel: UInt16, _ d: SegmentDescriptor) throws(Fault) -> SegmentDescriptor {
        let s = SelectorParts(sel)
        let lma = efer & EFER.lma != 0
        guard !d.isCodeOrData, d.type == 12 || (!lma && d.type == 4) else { throw Fault.gp(s.errorCode) }
        if d.dpl < cpl || d.dpl < s.rpl { throw Fault.gp(s.errorCode) }
        if !d.present { throw Fault.np(s.errorCode) }
        if lma {
            var wide = try fetchDescriptor(sel, wide: true)
            // The upper half's type field must be 0 (§5.8.3.1).
            let typeHigh = try readSystem(wide.address &+ 12, UInt32.self)
            if (typeHigh >> 8) & 0x1F != 0 { throw Fault.gp(s.errorCode) }
            wide.address = d.address
            return wide
        }
        return d
    }

    /// Far CALL in every mode, including call gates to a more privileged level with a stack
    /// switch from the TSS and parameter copying (§5.8.5, Figure 5-13).
    func farCall(_ sel: UInt16, _ offset: UInt64, size: UInt8) throws(Fault) {
        let oldCS = UInt64(segments[SegmentRegisterIndex.cs.rawValue].selector)
        let ret = nextRIP
        if mode == .real || mode == .virtual8086 {
            let sp0 = gpr[GPR.rsp.rawValue]
            try push(oldCS, size: size)
            do throws(Fault) { try push(ret, size: size) } catch { gpr[GPR.rsp.rawValue] = sp0; throw error }
            realModeFarTarget(sel, offset, size: size)
            return
        }
        let d = try farTargetDescriptor(sel)
        if d.isCode {
            try directCodeTarget(sel, d)
            let sp0 = gpr[GPR.rsp.rawValue]
            try push(oldCS, size: size)
            do throws(Fault) {
                try push(ret, size: size)
                try commitCodeSegment(sel, d, offset: offset, size: size)
            } catch { gpr[GPR.rsp.rawValue] = sp0; throw error }
            return
        }
        let gate = try callGate(sel, d)
        let target = try fetchDescriptor(gate.gateSelector)
        let ts = SelectorParts(gate.gateSelector)
        if ts.isNull { throw Fault.gp(0) }
        if !target.isCode || target.dpl > cpl { throw Fault.gp(ts.errorCode) }
        if efer & EFER.lma != 0 && (!target.longMode || target.defaultBig) { throw Fault.gp(ts.errorCode) }
        if !target.present { throw Fault.np(ts.errorCode) }
        let gateSize: UInt8 = efer & EFER.lma != 0 ? 8 : (gate.type == 4 ? 2 : 4)
        if !target.isConforming && target.dpl < cpl {
            try callGateToInnerLevel(gate, target, oldCS: oldCS, ret: ret, gateSize: gateSize)
            return
        }
        let sp0 = gpr[GPR.rsp.rawValue]
        try push(oldCS, size: gateSize)
        do throws(Fault) {
            try push(ret, size: gateSize)
            try commitCodeSegment(gate.gateSelector, target, offset: gate.gateOffset, size: gateSize)
        } catch { gpr[GPR.rsp.rawValue] = sp0; throw error }
    }

    /// CALL through a call gate to a more privileged non-conforming segment: new SS:ESP from
    /// the TSS (or a null SS and RSPn in IA-32e mode), old SS:ESP pushed, parameters copied
    /// for 16/32-bit gates, then CS:EIP (SDM Vol. 2A "CALL" pseudo-code MORE-PRIVILEGE).
    func callGateToInnerLevel(_ gate: SegmentDescriptor, _ target: SegmentDescriptor, oldCS: UInt64, ret: UInt64,
                              gateSize: UInt8) throws(Fault) {
        let newCPL = target.dpl
        let oldSS = segments[SegmentRegisterIndex.ss.rawValue]
        let oldSP = gpr[GPR.rsp.rawValue]
        var t = target
        if efer & EFER.lma != 0 {
            var sp = try stackFrom64BitTSS(offset: 4 + 8 * UInt64(newCPL), ext: 0)
            if !isCanonical(sp) { throw Fault.ss(0) }
            let frame: [UInt64] = [UInt64(oldSS.selector), oldSP, oldCS, ret]
            for k in 0..<frame.count { try probeLinear(sp &- UInt64(8 * (k + 1)), 8, AccessType.write.user(newCPL == 3)) }
            for v in frame { sp &-= 8; try writeLinearAs(sp, v, user: newCPL == 3) }
            try markAccessed(&t)
            setSegment(.ss, nullSegment(UInt16(newCPL), keepDPL: newCPL))
            var cs = t.cached((gate.gateSelector & 0xFFFC) | UInt16(newCPL))
            cs.selector = (gate.gateSelector & 0xFFFC) | UInt16(newCPL)
            setSegment(.cs, cs)
            gpr[GPR.rsp.rawValue] = sp
            nextRIP = gate.gateOffset
            return
        }
        let (ssSel, sp) = try innerStackFromTSS(newCPL, ext: 0)
        var ssDesc = try innerStackSegment(ssSel, cpl: newCPL, ext: 0)
        let newSS = ssDesc.cached(ssSel)
        let size = UInt64(gateSize)
        // Parameters from the old stack, read before anything changes.
        var params: [UInt64] = []
        for k in 0..<gate.gateParameterCount {
            let off = (oldSP &+ UInt64(k) * size) & (oldSS.defaultBig ? 0xFFFF_FFFF : 0xFFFF)
            params.append(try readSized(SegmentRegisterIndex.ss.rawValue, off, UInt8(size)))
        }
        var frame: [UInt64] = [UInt64(oldSS.selector), oldSP]
        frame += params.reversed()
        frame += [oldCS, ret]
        let newSP = try pushFrame(frame, size: size, ss: newSS, top: sp, big: newSS.defaultBig,
                                  user: newCPL == 3, fault: UInt32(ssSel & 0xFFFC))
        try markAccessed(&ssDesc)
        try markAccessed(&t)
        setSegment(.ss, ssDesc.cached(ssSel))
        gpr[GPR.rsp.rawValue] = newSP
        var cs = t.cached((gate.gateSelector & 0xFFFC) | UInt16(newCPL))
        cs.selector = (gate.gateSelector & 0xFFFC) | UInt16(newCPL)
        setSegment(.cs, cs)
        nextRIP = gateSize == 2 ? gate.gateOffset & 0xFFFF : gate.gateOffset & 0xFFFF_FFFF
    }

    func execRetFar(_ i: Inst) throws(Fault) { try farReturn(size: i.pointee.opSize, release: 0) }
    func execRetFarImm(_ i: Inst) throws(Fault) { try farReturn(size: i.pointee.opSize, release: i.pointee.imm & 0xFFFF) }

    /// RETF [imm16] (SDM Vol. 2B "RET" pseudo-code): same privilege, or to an outer level with
    /// SS:ESP popped and data segments the new level may not use nulled.
    func farReturn(size: UInt8, release: UInt64) throws(Fault) {
        let sz = UInt64(size)
        let newIP = try peek(size: size)
        let sel = UInt16(truncatingIfNeeded: try peek(size: size, offset: sz))
        if mode == .real || mode == .virtual8086 {
            realModeSegment(.cs, sel)
            nextRIP = newIP & (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
            adjustSP(2 * sz &+ release)
            return
        }
        let s = SelectorParts(sel)
        if s.isNull { throw Fault.gp(0) }
        let d = try fetchDescriptor(sel)
        if !d.isCode || s.rpl < cpl { throw Fault.gp(s.errorCode) }
        if d.isConforming ? d.dpl > s.rpl : d.dpl != s.rpl { throw Fault.gp(s.errorCode) }
        if !d.present { throw Fault.np(s.errorCode) }
        if s.rpl == cpl {
            try commitCodeSegment(sel, d, offset: newIP, size: size)
            adjustSP(2 * sz &+ release)
            return
        }
        // Return to an outer privilege level.
        let newSP = try peek(size: size, offset: 2 * sz &+ release)
        let ssSel = UInt16(truncatingIfNeeded: try peek(size: size, offset: 3 * sz &+ release))
        let newCPL = s.rpl
        let ss = try outerStackSegment(ssSel, cpl: newCPL, codeIs64: efer & EFER.lma != 0 && d.longMode)
        var code = d
        var cs = code.cached(sel)
        let target64 = efer & EFER.lma != 0 && cs.longMode
        let ip = target64 ? newIP : newIP & (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
        if target64 ? !isCanonical(ip) : ip > UInt64(cs.limit) { throw Fault.gp(0) }
        try markAccessed(&code)
        cs.accessRights |= 1
        setSegment(.cs, cs)
        setSegment(.ss, ss)
        gpr[GPR.rsp.rawValue] = (newSP &+ release) & (ss.defaultBig || target64 ? ~0 : 0xFFFF)
        nextRIP = ip
        nullInaccessibleDataSegments()
    }

    /// The SS for a return to an outer level (RET, IRET): RPL = new CPL, writable data with
    /// DPL = new CPL, present (#GP(selector) / #SS(selector)); a null SS is allowed only when
    /// returning to 64-bit code at CPL < 3.
    func outerStackSegment(_ sel: UInt16, cpl newCPL: Int, codeIs64: Bool) throws(Fault) -> SegmentRegister {
        let s = SelectorParts(sel)
        if s.isNull {
            if codeIs64 && newCPL < 3 && s.rpl == newCPL { return nullSegment(sel, keepDPL: newCPL) }
            throw Fault.gp(0)
        }
        var d = try fetchDescriptor(sel)
        if s.rpl != newCPL || !d.isCodeOrData || d.isCode || !d.writable || d.dpl != newCPL { throw Fault.gp(s.errorCode) }
        if !d.present { throw Fault.ss(s.errorCode) }
        try markAccessed(&d)
        return d.cached(sel)
    }

    /// After a return to an outer level, DS/ES/FS/GS holding data or non-conforming code with
    /// DPL < new CPL become null (SDM Vol. 2B "RET", "IRET": "segment registers made NULL, not
    /// the segment base" — the hidden base stays, which 64-bit FS/GS users rely on).
    func nullInaccessibleDataSegments() {
        for idx in [SegmentRegisterIndex.es, .ds, .fs, .gs] {
            let sg = segments[idx.rawValue]
            if sg.unusable { continue }
            let conformingCode = sg.isCode && sg.type & 4 != 0
            if !conformingCode && sg.dpl < cpl {
                var n = nullSegment(0)
                n.base = sg.base
                setSegment(idx, n)
            }
        }
    }
}
