/// The MMX/SSE/SSE2 instructions, as `DecodedInstruction.sub` of `Op.simd`.
/// Integer and bitwise operations serve both the MMX (64-bit) and XMM (128-bit) forms; the
/// form comes from `SIMDAttr.xmm`. Floating-point operations take their format (PS, PD, SS,
/// SD) from the prefix column (SIMDAttr.column).
enum SIMDOp: UInt8, Sendable {
    case invalid = 0
    // Data movement (SDM Vol. 1 §10.4.1, §11.4.1, §9.4.1)
    case load128, store128                  // MOVUPS/UPD/APS/APD/DQA/DQU; MOVNTPS/PD/DQ
    case movss, movssStore, movsd, movsdStore
    case movlps, storeLow64, movhps, storeHigh64
    case movmskps, movmskpd, pmovmskb
    case movdToXMM, movdFromXMM, movqLoadXMM, movqStoreXMM
    case movdToMM, movdFromMM, movqLoadMM, movqStoreMM
    case movq2dq, movdq2q, maskmov
    case ldmxcsr, stmxcsr, emms
    // Integer SIMD (SDM Vol. 1 §9.4, §11.4.3)
    case paddb, paddw, paddd, paddq, psubb, psubw, psubd, psubq
    case paddsb, paddsw, paddusb, paddusw, psubsb, psubsw, psubusb, psubusw
    case pcmpeqb, pcmpeqw, pcmpeqd, pcmpgtb, pcmpgtw, pcmpgtd
    case pand, pandn, por, pxor
    case psrlw, psrld, psrlq, psraw, psrad, psllw, pslld, psllq          // count in xmm/mm/m
    case psrlwI, psrldI, psrlqI, psrawI, psradI, psllwI, pslldI, psllqI  // count in imm8
    case psrldq, pslldq
    case pmullw, pmulhw, pmulhuw, pmuludq, pmaddwd
    case packsswb, packssdw, packuswb
    case punpcklbw, punpcklwd, punpckldq, punpcklqdq, punpckhbw, punpckhwd, punpckhdq, punpckhqdq
    case pshufw, pshufd, pshufhw, pshuflw
    case pavgb, pavgw, pminub, pmaxub, pminsw, pmaxsw, psadbw, pextrw, pinsrw
    // Floating point (SDM Vol. 1 §10.4.2, §11.4.1); format by column
    case fadd, fsub, fmul, fdiv, fmin, fmax, fsqrt, rcp, rsqrt, fcmp
    case comi, ucomi, shufps, shufpd
    // Conversions (SDM Vol. 1 §11.4.1.4, Figure 11-8)
    case cvtpi2ps, cvtpi2pd, cvtsi2ss, cvtsi2sd
    case cvttps2pi, cvttpd2pi, cvttss2si, cvttsd2si, cvtps2pi, cvtpd2pi, cvtss2si, cvtsd2si
    case cvtps2pd, cvtpd2ps, cvtss2sd, cvtsd2ss
    case cvtdq2ps, cvtps2dq, cvttps2dq, cvttpd2dq, cvtdq2pd, cvtpd2dq
}

/// Attributes of one SSE table cell. The low byte is kept in `DecodedInstruction.imm2` for
/// execution; the decode-only bits are consumed by the decoder.
enum SIMDAttr {
    /// 128-bit XMM form (otherwise the 64-bit MMX form).
    static let xmm: UInt32 = 1 << 0
    /// A 16-byte memory operand must be 16-byte aligned, else #GP(0) (SDM Vol. 1 §11.6.1).
    static let aligned: UInt32 = 1 << 1
    /// Uses MMX registers: x87 → MMX transition and #MF check (SDM Vol. 1 §9.5, §9.6).
    static let mmx: UInt32 = 1 << 2
    /// SSE execution conditions: CR4.OSFXSR must be 1 (SDM Vol. 3A §13.1.3).
    static let sse: UInt32 = 1 << 3
    /// MMX transition only with a register (MM) source (CVTPI2PS/PD, SDM Vol. 2A CVTPI2PS).
    static let mmxIfRegister: UInt32 = 1 << 4
    /// Prefix column (0 none, 1 66, 2 F3, 3 F2) in bits 9:8.
    static let columnShift: UInt32 = 8
    // Decode-only:
    static let memoryOnly: UInt32 = 1 << 16
    static let registerOnly: UInt32 = 1 << 17
    static let imm8: UInt32 = 1 << 18
}

/// One cell of the prefix-selected SSE opcode space.
struct SSECell: Sendable {
    var op: SIMDOp
    var attr: UInt32
    static let invalid = SSECell(op: .invalid, attr: 0)
}

/// The two-byte opcodes 0F xx with MMX/SSE forms, by mandatory prefix: SDM Vol. 2D
/// Appendix A, Table A-3 (columns none / 66 / F3 / F2), and groups 12–14 (Table A-6).
enum SSEOpcodeTable {
    static let none = 0, p66 = 1, pF3 = 2, pF2 = 3

    /// Opcodes with SSE forms (the decoder marks these in the two-byte map).
    static func hasSSEForm(_ opcode: Int) -> Bool {
        switch opcode {
        case 0x10...0x17, 0x28...0x2F, 0x50...0x77, 0x7E, 0x7F, 0xC2, 0xC4...0xC6, 0xD0...0xFE: return true
        default: return false
        }
    }

    /// cells[opcode * 4 + column]
    static let cells: [SSECell] = build()
    /// Groups 12, 13, 14 (0F 71, 72, 73): groups[(opcode - 0x71) * 16 + reg * 2 + (66 ? 1 : 0)]
    static let groups: [SSECell] = buildGroups()

    /// The column the prefixes select: F3/F2 (the last given) take precedence over 66.
    @inline(__always)
    static func column(rep: UInt8, opsize: Bool) -> Int {
        rep == 0xF3 ? pF3 : rep == 0xF2 ? pF2 : opsize ? p66 : none
    }

    private static func build() -> [SSECell] {
        var t = [SSECell](repeating: .invalid, count: 1024)
        let X = SIMDAttr.xmm, A = SIMDAttr.aligned, M = SIMDAttr.mmx, S = SIMDAttr.sse
        let mem = SIMDAttr.memoryOnly, reg = SIMDAttr.registerOnly, ib = SIMDAttr.imm8
        func set(_ opc: Int, _ col: Int, _ op: SIMDOp, _ a: UInt32) {
            t[opc * 4 + col] = SSECell(op: op, attr: a | (UInt32(col) << SIMDAttr.columnShift))
        }
        let xs = X | S, xsa = X | S | A
        // 0F 10–17
        set(0x10, none, .load128, xs); set(0x10, p66, .load128, xs); set(0x10, pF3, .movss, xs); set(0x10, pF2, .movsd, xs)
        set(0x11, none, .store128, xs); set(0x11, p66, .store128, xs)
        set(0x11, pF3, .movssStore, xs); set(0x11, pF2, .movsdStore, xs)
        set(0x12, none, .movlps, xs); set(0x12, p66, .movlps, xs | mem)
        set(0x13, none, .storeLow64, xs | mem); set(0x13, p66, .storeLow64, xs | mem)
        set(0x14, none, .punpckldq, xsa); set(0x14, p66, .punpcklqdq, xsa)       // UNPCKLPS/PD
        set(0x15, none, .punpckhdq, xsa); set(0x15, p66, .punpckhqdq, xsa)       // UNPCKHPS/PD
        set(0x16, none, .movhps, xs); set(0x16, p66, .movhps, xs | mem)
        set(0x17, none, .storeHigh64, xs | mem); set(0x17, p66, .storeHigh64, xs | mem)
        // 0F 28–2F
        set(0x28, none, .load128, xsa); set(0x28, p66, .load128, xsa)
        set(0x29, none, .store128, xsa); set(0x29, p66, .store128, xsa)
        set(0x2A, none, .cvtpi2ps, xs | SIMDAttr.mmxIfRegister); set(0x2A, p66, .cvtpi2pd, xs | SIMDAttr.mmxIfRegister)
        set(0x2A, pF3, .cvtsi2ss, xs); set(0x2A, pF2, .cvtsi2sd, xs)
        set(0x2B, none, .store128, xsa | mem); set(0x2B, p66, .store128, xsa | mem)
        set(0x2C, none, .cvttps2pi, xs | M); set(0x2C, p66, .cvttpd2pi, xsa | M)
        set(0x2C, pF3, .cvttss2si, xs); set(0x2C, pF2, .cvttsd2si, xs)
        set(0x2D, none, .cvtps2pi, xs | M); set(0x2D, p66, .cvtpd2pi, xsa | M)
        set(0x2D, pF3, .cvtss2si, xs); set(0x2D, pF2, .cvtsd2si, xs)
        set(0x2E, none, .ucomi, xs); set(0x2E, p66, .ucomi, xs)
        set(0x2F, none, .comi, xs); set(0x2F, p66, .comi, xs)
        // 0F 50–5F
        set(0x50, none, .movmskps, xs | reg); set(0x50, p66, .movmskpd, xs | reg)
        for (opc, op) in [(0x51, SIMDOp.fsqrt), (0x58, .fadd), (0x59, .fmul), (0x5C, .fsub),
                          (0x5D, .fmin), (0x5E, .fdiv), (0x5F, .fmax)] {
            set(opc, none, op, xsa); set(opc, p66, op, xsa); set(opc, pF3, op, xs); set(opc, pF2, op, xs)
        }
        set(0x52, none, .rsqrt, xsa); set(0x52, pF3, .rsqrt, xs)
        set(0x53, none, .rcp, xsa); set(0x53, pF3, .rcp, xs)
        for (opc, op) in [(0x54, SIMDOp.pand), (0x55, .pandn), (0x56, .por), (0x57, .pxor)] {
            set(opc, none, op, xsa); set(opc, p66, op, xsa)
        }
        set(0x5A, none, .cvtps2pd, xs); set(0x5A, p66, .cvtpd2ps, xsa)
        set(0x5A, pF3, .cvtss2sd, xs); set(0x5A, pF2, .cvtsd2ss, xs)
        set(0x5B, none, .cvtdq2ps, xsa); set(0x5B, p66, .cvtps2dq, xsa); set(0x5B, pF3, .cvttps2dq, xsa)
        // Integer rows with an MMX (none) and an XMM (66) form.
        let integer: [(Int, SIMDOp)] = [
            (0x60, .punpcklbw), (0x61, .punpcklwd), (0x62, .punpckldq), (0x63, .packsswb),
            (0x64, .pcmpgtb), (0x65, .pcmpgtw), (0x66, .pcmpgtd), (0x67, .packuswb),
            (0x68, .punpckhbw), (0x69, .punpckhwd), (0x6A, .punpckhdq), (0x6B, .packssdw),
            (0x74, .pcmpeqb), (0x75, .pcmpeqw), (0x76, .pcmpeqd),
            (0xD1, .psrlw), (0xD2, .psrld), (0xD3, .psrlq), (0xD4, .paddq), (0xD5, .pmullw),
            (0xD8, .psubusb), (0xD9, .psubusw), (0xDA, .pminub), (0xDB, .pand),
            (0xDC, .paddusb), (0xDD, .paddusw), (0xDE, .pmaxub), (0xDF, .pandn),
            (0xE0, .pavgb), (0xE1, .psraw), (0xE2, .psrad), (0xE3, .pavgw), (0xE4, .pmulhuw), (0xE5, .pmulhw),
            (0xE8, .psubsb), (0xE9, .psubsw), (0xEA, .pminsw), (0xEB, .por),
            (0xEC, .paddsb), (0xED, .paddsw), (0xEE, .pmaxsw), (0xEF, .pxor),
            (0xF1, .psllw), (0xF2, .pslld), (0xF3, .psllq), (0xF4, .pmuludq), (0xF5, .pmaddwd), (0xF6, .psadbw),
            (0xF8, .psubb), (0xF9, .psubw), (0xFA, .psubd), (0xFB, .psubq),
            (0xFC, .paddb), (0xFD, .paddw), (0xFE, .paddd),
        ]
        for (opc, op) in integer { set(opc, none, op, M); set(opc, p66, op, xsa) }
        set(0x6C, p66, .punpcklqdq, xsa); set(0x6D, p66, .punpckhqdq, xsa)
        set(0x6E, none, .movdToMM, M); set(0x6E, p66, .movdToXMM, xs)
        set(0x6F, none, .movqLoadMM, M); set(0x6F, p66, .load128, xsa); set(0x6F, pF3, .load128, xs)
        set(0x70, none, .pshufw, M | ib); set(0x70, p66, .pshufd, xsa | ib)
        set(0x70, pF3, .pshufhw, xsa | ib); set(0x70, pF2, .pshuflw, xsa | ib)
        set(0x77, none, .emms, M)
        set(0x7E, none, .movdFromMM, M); set(0x7E, p66, .movdFromXMM, xs); set(0x7E, pF3, .movqLoadXMM, xs)
        set(0x7F, none, .movqStoreMM, M); set(0x7F, p66, .store128, xsa); set(0x7F, pF3, .store128, xs)
        // 0F C2–C6
        for col in 0..<4 { set(0xC2, col, .fcmp, (col < 2 ? xsa : xs) | ib) }
        set(0xC4, none, .pinsrw, M | ib); set(0xC4, p66, .pinsrw, xs | ib)
        set(0xC5, none, .pextrw, M | ib | reg); set(0xC5, p66, .pextrw, xs | ib | reg)
        set(0xC6, none, .shufps, xsa | ib); set(0xC6, p66, .shufpd, xsa | ib)
        // 0F D6, D7, E6, E7, F7
        set(0xD6, p66, .movqStoreXMM, xs); set(0xD6, pF3, .movq2dq, xs | M | reg); set(0xD6, pF2, .movdq2q, xs | M | reg)
        set(0xD7, none, .pmovmskb, M | reg); set(0xD7, p66, .pmovmskb, xs | reg)
        set(0xE6, p66, .cvttpd2dq, xsa); set(0xE6, pF3, .cvtdq2pd, xs); set(0xE6, pF2, .cvtpd2dq, xsa)
        set(0xE7, none, .movqStoreMM, M | mem); set(0xE7, p66, .store128, xsa | mem)
        set(0xF7, none, .maskmov, M | reg); set(0xF7, p66, .maskmov, xs | reg)
        return t
    }

    private static func buildGroups() -> [SSECell] {
        var t = [SSECell](repeating: .invalid, count: 48)
        let reg = SIMDAttr.registerOnly, ib = SIMDAttr.imm8
        func set(_ opc: Int, _ r: Int, _ op: SIMDOp, mmx: Bool = true) {
            let base = (opc - 0x71) * 16 + r * 2
            if mmx { t[base] = SSECell(op: op, attr: SIMDAttr.mmx | reg | ib) }
            t[base + 1] = SSECell(op: op, attr: SIMDAttr.xmm | SIMDAttr.sse | reg | ib | (1 << SIMDAttr.columnShift))
        }
        set(0x71, 2, .psrlwI); set(0x71, 4, .psrawI); set(0x71, 6, .psllwI)
        set(0x72, 2, .psrldI); set(0x72, 4, .psradI); set(0x72, 6, .pslldI)
        set(0x73, 2, .psrlqI); set(0x73, 3, .psrldq, mmx: false); set(0x73, 6, .psllqI); set(0x73, 7, .pslldq, mmx: false)
        return t
    }

    /// The cell for two-byte opcode `opcode` with ModR/M `modrm` under the given prefixes.
    @inline(__always)
    static func lookup(opcode: UInt8, modrm: UInt8, rep: UInt8, opsize: Bool) -> SSECell {
        let col = column(rep: rep, opsize: opsize)
        if opcode >= 0x71 && opcode <= 0x73 {
            // Groups 12–14 exist without a prefix (MMX) or with 66 (XMM) only.
            if col > p66 { return .invalid }
            return groups[Int(opcode - 0x71) * 16 + Int((modrm >> 3) & 7) * 2 + col]
        }
        return cells[Int(opcode) * 4 + col]
    }
}
