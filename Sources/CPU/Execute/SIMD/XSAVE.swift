/// XSAVE/XRSTOR (standard form) and XGETBV/XSETBV for the x87, SSE and PKRU state components
/// (SDM Vol. 1 ch. 13; Vol. 2 XSAVE, XRSTOR, XGETBV, XSETBV). Offered with the `.xsave` model
/// feature: XCR0 may enable x87 (bit 0, always set), SSE (bit 1) and, with `.pku`, PKRU
/// (bit 9, at offset 2688 of the standard form, §13.5.7). The area is 576 bytes (legacy region
/// + XSAVE header), 2696 with PKRU. XSAVEOPT, XSAVEC, XSAVES and the compacted form are not
/// implemented (CPUID.(EAX=0DH,ECX=1):EAX = 0).
extension Processor {
    /// XCR0 bits this processor supports (CPUID.(EAX=0DH,ECX=0):EAX).
    var supportedXCR0: UInt64 { model.has(.pku) ? 0b10_0000_0011 : 0b11 }
    /// PKRU state (component 9): offset and size in the standard form (CPUID.(EAX=0DH,ECX=9)).
    static let pkruOffset: UInt32 = 2688, pkruSize: UInt32 = 8
    /// Size of the XSAVE area for the components in `features` (CPUID.(EAX=0DH,ECX=0):EBX
    /// for XCR0, ECX for every supported component).
    static func xsaveAreaSize(for features: UInt64) -> UInt32 {
        features & (1 << 9) != 0 ? pkruOffset + pkruSize : 576
    }

    /// #UD without XSAVE or with CR4.OSXSAVE = 0, #NM with CR0.TS, #GP(0) unless the area is
    /// 64-byte aligned.
    private func xsaveArea(_ i: Inst, write: Bool) throws(Fault) -> UInt64 {
        if !model.has(.xsave) || cr4 & CR4.osxsave == 0 || i.pointee.hasLock { throw Fault.ud }
        if cr0 & CR0.ts != 0 { throw Fault.nm }
        let la = try linearAddress(Int(i.pointee.seg), effectiveAddress(i), Int(Self.xsaveAreaSize(for: requestedFeatures)), write: write)
        if la & 63 != 0 { throw Fault.gp(0) }
        return la
    }

    /// RFBM = XCR0 ∧ EDX:EAX.
    private var requestedFeatures: UInt64 {
        xcr0 & ((gpr[GPR.rdx.rawValue] & 0xFFFF_FFFF) << 32 | (gpr[GPR.rax.rawValue] & 0xFFFF_FFFF))
    }

    func execXsave(_ i: Inst) throws(Fault) {
        let la = try xsaveArea(i, write: true)
        let rfbm = requestedFeatures
        try probeLinear(la, Int(Self.xsaveAreaSize(for: rfbm)), currentAccess(.write))
        try writeLegacyRegion(la, rex64: i.pointee.flags & DecodedInstruction.Flags.rexW != 0,
                              x87: rfbm & 1 != 0, mxcsr: rfbm & 6 != 0, xmm: rfbm & 2 != 0)
        if rfbm & (1 << 9) != 0 { try writeLinear(la + UInt64(Self.pkruOffset), extended.pkru) }
        // XSTATE_BV[i] ← XINUSE[i] for i in RFBM (this processor tracks every component as
        // in use), other bits unchanged (SDM Vol. 1 §13.7).
        let bv = try readLinear(la + 512, UInt64.self)
        try writeLinear(la + 512, bv | rfbm)
    }

    func execXrstor(_ i: Inst) throws(Fault) {
        let la = try xsaveArea(i, write: false)
        let rfbm = requestedFeatures
        let xstateBV = try readLinear(la + 512, UInt64.self)
        let xcompBV = try readLinear(la + 520, UInt64.self)
        let reserved = try readLinear(la + 528, UInt64.self)
        // Standard form only: XCOMP_BV and header bytes 23:16 zero, XSTATE_BV within XCR0
        // (SDM Vol. 1 §13.8.1; the compacted form needs XSAVEC).
        if xcompBV != 0 || reserved != 0 || xstateBV & ~xcr0 != 0 { throw Fault.gp(0) }
        let loadMXCSR = rfbm & 6 != 0
        let mx = try readLinear(la + 24, UInt32.self)
        if loadMXCSR && mx & ~ExtendedState.mxcsrMask != 0 { throw Fault.gp(0) }
        let rex64 = i.pointee.flags & DecodedInstruction.Flags.rexW != 0
        let x87 = rfbm & 1 != 0 && xstateBV & 1 != 0 ? try readLegacyX87(la, rex64: rex64) : nil
        let xmm = rfbm & 2 != 0 && xstateBV & 2 != 0 ? try readLegacyXMM(la) : []
        let pkru = rfbm & (1 << 9) != 0 && xstateBV & (1 << 9) != 0
            ? try readLinear(la + UInt64(Self.pkruOffset), UInt32.self) : 0
        // Commit: a requested component whose XSTATE_BV bit is 0 takes its initial state.
        if rfbm & 1 != 0 {
            if let (c, regs) = x87 {
                extended.control = c
                for k in 0..<8 { extended.x87[k] = regs[k] }
            } else {
                extended.control = X87Control.initialized
                for k in 0..<8 { extended.x87[k] = X87Register() }
            }
        }
        if rfbm & 2 != 0 {
            if xmm.isEmpty { for k in 0..<16 { extended.xmm[k] = XMMRegister() } }
            else { for (k, v) in xmm.enumerated() { extended.xmm[k] = v } }
        }
        // MXCSR is loaded whenever RFBM[1] or RFBM[2] is set, whatever XSTATE_BV says.
        if loadMXCSR { extended.mxcsr = mx }
        if rfbm & (1 << 9) != 0 { loadPKRU(pkru) }              // initial value 0
    }

    /// XGETBV: EDX:EAX ← XCR[ECX]; only XCR0 exists (#GP(0) otherwise).
    func execXgetbv(_ i: Inst) throws(Fault) {
        if !model.has(.xsave) || cr4 & CR4.osxsave == 0 { throw Fault.ud }
        if gpr[GPR.rcx.rawValue] & 0xFFFF_FFFF != 0 { throw Fault.gp(0) }
        gpr[GPR.rax.rawValue] = xcr0 & 0xFFFF_FFFF
        gpr[GPR.rdx.rawValue] = xcr0 >> 32
    }

    /// XSETBV: XCR0 ← EDX:EAX at CPL 0; bit 0 must be set and unsupported bits clear (#GP(0)).
    func execXsetbv(_ i: Inst) throws(Fault) {
        if !model.has(.xsave) || cr4 & CR4.osxsave == 0 { throw Fault.ud }
        // Privilege-level faults have priority over the VM exit (SDM Vol. 3C §26.1.1).
        if cpl != 0 { throw Fault.gp(0) }
        try exitUnconditionally(i, .xsetbv)
        if gpr[GPR.rcx.rawValue] & 0xFFFF_FFFF != 0 { throw Fault.gp(0) }
        let v = (gpr[GPR.rdx.rawValue] & 0xFFFF_FFFF) << 32 | (gpr[GPR.rax.rawValue] & 0xFFFF_FFFF)
        if v & 1 == 0 || v & ~supportedXCR0 != 0 { throw Fault.gp(0) }
        xcr0 = v
    }
}
