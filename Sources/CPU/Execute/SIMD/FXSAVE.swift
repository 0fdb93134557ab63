/// FXSAVE/FXRSTOR and FXSAVE64/FXRSTOR64 (SDM Vol. 2A FXSAVE, Tables 3-43 … 3-46; Vol. 1
/// §10.5). XSAVE/XRSTOR are not implemented (CPUID.XSAVE = 0) and stay #UD.
extension Processor {
    /// #NM if CR0.TS or CR0.EM is set, #UD without FXSR; the 512-byte area must be 16-byte
    /// aligned (#GP(0)).
    private func fxsaveArea(_ i: Inst, write: Bool) throws(Fault) -> UInt64 {
        if !model.has(.sse) { throw Fault.ud }
        if cr0 & (CR0.ts | CR0.em) != 0 { throw Fault.nm }
        let la = try linearAddress(Int(i.pointee.seg), effectiveAddress(i), 512, write: write)
        if la & 15 != 0 { throw Fault.gp(0) }
        return la
    }

    /// The abridged tag word: bit i set when physical register i is not empty.
    static func abridgedTags(_ tags: UInt16) -> UInt8 {
        var t: UInt8 = 0
        for k in 0..<8 where (tags >> UInt16(2 * k)) & 3 != 3 { t |= 1 << UInt8(k) }
        return t
    }

    /// The full tag of a non-empty register from its contents (SDM Vol. 1 §8.1.7):
    /// 01 zero, 10 special (NaN, ∞, denormal, unnormal), 00 valid.
    static func tag(of r: X87Register) -> UInt16 {
        let e = r.signExponent & 0x7FFF
        if e == 0x7FFF { return 2 }
        if e == 0 { return r.significand == 0 ? 1 : 2 }
        return r.significand >> 63 == 0 ? 2 : 0
    }

    /// Writes the legacy region (SDM Vol. 2A FXSAVE Tables 3-43 … 3-46; Vol. 1 §13.4.1) at
    /// `la`, whose pages have been checked: the x87 part (bytes 0–23, 32–159), MXCSR and
    /// MXCSR_MASK (24–31), XMM0–15 in 64-bit mode or XMM0–7 (160–415).
    func writeLegacyRegion(_ la: UInt64, rex64: Bool, x87: Bool, mxcsr: Bool, xmm: Bool) throws(Fault) {
        let x = extended.control
        if x87 {
            let w0 = UInt64(x.control) | UInt64(x.statusWord) << 16 | UInt64(Self.abridgedTags(x.tags)) << 32
                | UInt64(x.opcode & 0x7FF) << 48
            let w1 = rex64 ? x.instructionPointer : (x.instructionPointer & 0xFFFF_FFFF) | UInt64(x.instructionSelector) << 32
            let w2 = rex64 ? x.dataPointer : (x.dataPointer & 0xFFFF_FFFF) | UInt64(x.dataSelector) << 32
            try writeLinear(la, w0); try writeLinear(la + 8, w1); try writeLinear(la + 16, w2)
            for k in 0..<8 {
                let r = extended.x87[(Int(x.top) + k) & 7]
                try writeLinear(la + 32 + UInt64(16 * k), r.significand)
                try writeLinear(la + 40 + UInt64(16 * k), UInt64(r.signExponent))
            }
        }
        if mxcsr { try writeLinear(la + 24, UInt64(extended.mxcsr) | UInt64(ExtendedState.mxcsrMask) << 32) }
        if xmm {
            for k in 0..<(is64 ? 16 : 8) { try writeLinear128(la + 160 + UInt64(16 * k), extended.xmm[k]) }
        }
    }

    /// The x87 state of a legacy region: control registers (tags recomputed from the abridged
    /// tag word and the register contents) and R0–R7.
    func readLegacyX87(_ la: UInt64, rex64: Bool) throws(Fault) -> (X87Control, [X87Register]) {
        let w0 = try readLinear(la, UInt64.self)
        let w1 = try readLinear(la + 8, UInt64.self)
        let w2 = try readLinear(la + 16, UInt64.self)
        var c = X87Control()
        c.control = UInt16(truncatingIfNeeded: w0)
        let fsw = UInt16(truncatingIfNeeded: w0 >> 16)
        c.top = UInt8((fsw >> 11) & 7)
        c.status = fsw & ~0x3800
        c.opcode = UInt16(truncatingIfNeeded: w0 >> 48) & 0x7FF
        if rex64 {
            c.instructionPointer = w1
            c.dataPointer = w2
        } else {
            c.instructionPointer = w1 & 0xFFFF_FFFF
            c.instructionSelector = UInt16(truncatingIfNeeded: w1 >> 32)
            c.dataPointer = w2 & 0xFFFF_FFFF
            c.dataSelector = UInt16(truncatingIfNeeded: w2 >> 32)
        }
        var regs = [X87Register](repeating: X87Register(), count: 8)
        for k in 0..<8 {
            let st = X87Register(significand: try readLinear(la + 32 + UInt64(16 * k), UInt64.self),
                                 signExponent: try readLinear(la + 40 + UInt64(16 * k), UInt16.self))
            regs[(Int(c.top) + k) & 7] = st
        }
        let abridged = UInt8(truncatingIfNeeded: w0 >> 32)
        var tags: UInt16 = 0
        for p in 0..<8 {
            let t: UInt16 = abridged & (1 << UInt8(p)) == 0 ? 3 : Self.tag(of: regs[p])
            tags |= t << UInt16(2 * p)
        }
        c.tags = tags
        return (c, regs)
    }

    func readLegacyXMM(_ la: UInt64) throws(Fault) -> [XMMRegister] {
        var xmm = [XMMRegister]()
        for k in 0..<(is64 ? 16 : 8) {
            xmm.append(XMMRegister(low: try readLinear(la + 160 + UInt64(16 * k), UInt64.self),
                                   high: try readLinear(la + 168 + UInt64(16 * k), UInt64.self)))
        }
        return xmm
    }

    func execFxsave(_ i: Inst) throws(Fault) {
        let la = try fxsaveArea(i, write: true)
        try probeLinear(la, 512, currentAccess(.write))
        let sse = cr4 & CR4.osfxsr != 0
        try writeLegacyRegion(la, rex64: i.pointee.flags & DecodedInstruction.Flags.rexW != 0,
                              x87: true, mxcsr: sse, xmm: sse)
    }

    func execFxrstor(_ i: Inst) throws(Fault) {
        let la = try fxsaveArea(i, write: false)
        let sse = cr4 & CR4.osfxsr != 0
        let mx = try readLinear(la + 24, UInt32.self)
        if sse && mx & ~ExtendedState.mxcsrMask != 0 { throw Fault.gp(0) }
        let (c, regs) = try readLegacyX87(la, rex64: i.pointee.flags & DecodedInstruction.Flags.rexW != 0)
        let xmm = sse ? try readLegacyXMM(la) : []
        // Commit.
        extended.control = c
        for k in 0..<8 { extended.x87[k] = regs[k] }
        if sse {
            extended.mxcsr = mx
            for (k, v) in xmm.enumerated() { extended.xmm[k] = v }
        }
    }
}
