/// Decoding attributes of one opcode (SDM Vol. 2D Appendix A, opcode maps).
struct OpcodeEntry: Sendable {
    var op: Op
    var attr: UInt32
    var sub: UInt8
    var immediate: ImmediateKind

    init(_ op: Op, _ attr: UInt32 = 0, sub: UInt8 = 0, imm: ImmediateKind = .none) {
        self.op = op
        self.attr = attr
        self.sub = sub
        self.immediate = imm
    }
}

/// Operand-encoding attributes (the SDM's operand-type codes reduced to what decoding needs).
enum OpAttr {
    /// A ModR/M byte follows the opcode.
    static let modrm: UInt32 = 1 << 0
    /// Both operands are bytes (b).
    static let byteOp: UInt32 = 1 << 1
    /// The ModR/M r/m operand is a byte register (Eb source of MOVZX/MOVSX, SETcc).
    static let byteRM: UInt32 = 1 << 2
    /// In 64-bit mode the operand size defaults to 64 bits (d64).
    static let default64: UInt32 = 1 << 3
    /// In 64-bit mode the operand size is always 64 bits (f64; Intel ignores 66h).
    static let force64: UInt32 = 1 << 4
    /// Invalid in 64-bit mode (i64).
    static let invalid64: UInt32 = 1 << 5
    /// Ends the decoded block.
    static let endsBlock: UInt32 = 1 << 6
    /// The ModR/M operand must be memory; mod = 3 is #UD.
    static let memoryOnly: UInt32 = 1 << 7
    /// LOCK is permitted (with a memory destination).
    static let lockable: UInt32 = 1 << 8
    /// Operand size is 16 bits regardless of prefixes (w).
    static let word: UInt32 = 1 << 9
    /// Operand size is 32 bits, or 64 in 64-bit mode with REX.W irrelevant (CR/DR moves: 64 in long mode).
    static let controlRegister: UInt32 = 1 << 10
    /// Operand size is 32 bits, or 64 with REX.W (VMREAD/VMWRITE use 64 in 64-bit mode).
    static let vmxOperand: UInt32 = 1 << 11
    /// The operand-size prefix 66h / REPx select a different instruction (checked by the decoder).
    static let mandatoryPrefix: UInt32 = 1 << 12
}

/// Immediate and displacement operands after the ModR/M bytes.
enum ImmediateKind: UInt8, Sendable {
    case none
    /// 8-bit, zero-extended (INT n, IN/OUT port, ENTER level, shift counts).
    case ib
    /// 8-bit, sign-extended to the operand size.
    case ibs
    /// 16-bit (RET imm16, ENTER size).
    case iw
    /// 16 or 32 bits by operand size; sign-extended to 64 with a 64-bit operand size.
    case iz
    /// Operand-size wide: 16, 32 or 64 bits (MOV r, imm).
    case iv
    /// An absolute offset of address-size width (MOV moffs).
    case moffs
    /// 8-bit branch displacement.
    case rel8
    /// 16- or 32-bit branch displacement (32 in 64-bit mode).
    case relz
    /// Far pointer: offset (16/32) then 16-bit selector.
    case farPointer
    /// ENTER: imm16 then imm8.
    case enter
}

/// The one-byte and two-byte (0F) opcode maps. Group opcodes (their `/reg` selects the
/// instruction) carry a placeholder here and are resolved by `Decoder.resolveGroup`.
enum OpcodeMap {
    static let oneByte: [OpcodeEntry] = buildOneByte()
    static let twoByte: [OpcodeEntry] = buildTwoByte()

    private static func buildOneByte() -> [OpcodeEntry] {
        var t = [OpcodeEntry](repeating: OpcodeEntry(.invalid), count: 256)
        let m = OpAttr.modrm, b = OpAttr.byteOp, end = OpAttr.endsBlock
        let i64 = OpAttr.invalid64, d64 = OpAttr.default64, f64 = OpAttr.force64, lk = OpAttr.lockable
        // 00–3F: ALU blocks (SDM Table A-2 rows 0–3)
        for k in 0..<8 {
            let o = k * 8
            let lock: UInt32 = k == 7 ? 0 : lk
            t[o + 0] = OpcodeEntry(.aluRMReg, m | b | lock, sub: UInt8(k))
            t[o + 1] = OpcodeEntry(.aluRMReg, m | lock, sub: UInt8(k))
            t[o + 2] = OpcodeEntry(.aluRegRM, m | b, sub: UInt8(k))
            t[o + 3] = OpcodeEntry(.aluRegRM, m, sub: UInt8(k))
            t[o + 4] = OpcodeEntry(.aluAccImm, b, sub: UInt8(k), imm: .ib)
            t[o + 5] = OpcodeEntry(.aluAccImm, 0, sub: UInt8(k), imm: .iz)
        }
        t[0x06] = OpcodeEntry(.pushSreg, i64, sub: 0)
        t[0x07] = OpcodeEntry(.popSreg, i64, sub: 0)
        t[0x0E] = OpcodeEntry(.pushSreg, i64, sub: 1)
        t[0x16] = OpcodeEntry(.pushSreg, i64, sub: 2)
        t[0x17] = OpcodeEntry(.popSreg, i64 | end, sub: 2)
        t[0x1E] = OpcodeEntry(.pushSreg, i64, sub: 3)
        t[0x1F] = OpcodeEntry(.popSreg, i64, sub: 3)
        t[0x27] = OpcodeEntry(.daa, i64)
        t[0x2F] = OpcodeEntry(.das, i64)
        t[0x37] = OpcodeEntry(.aaa, i64)
        t[0x3F] = OpcodeEntry(.aas, i64)
        for r in 0..<8 {
            t[0x40 + r] = OpcodeEntry(.incReg, 0, sub: UInt8(r))
            t[0x48 + r] = OpcodeEntry(.decReg, 0, sub: UInt8(r))
            t[0x50 + r] = OpcodeEntry(.pushReg, d64, sub: UInt8(r))
            t[0x58 + r] = OpcodeEntry(.popReg, d64, sub: UInt8(r))
            t[0x90 + r] = OpcodeEntry(.xchgAccReg, 0, sub: UInt8(r))
            t[0xB0 + r] = OpcodeEntry(.movRegImm, b, sub: UInt8(r), imm: .ib)
            t[0xB8 + r] = OpcodeEntry(.movRegImm, 0, sub: UInt8(r), imm: .iv)
        }
        t[0x60] = OpcodeEntry(.pusha, i64)
        t[0x61] = OpcodeEntry(.popa, i64)
        t[0x62] = OpcodeEntry(.invalid, i64 | m)          // BOUND (not implemented: #UD), EVEX in 64-bit
        t[0x63] = OpcodeEntry(.movsxd, m)                  // ARPL outside 64-bit mode (decoder)
        t[0x68] = OpcodeEntry(.pushImm, d64, imm: .iz)
        t[0x69] = OpcodeEntry(.imulRegRMImm, m, imm: .iz)
        t[0x6A] = OpcodeEntry(.pushImm, d64, imm: .ibs)
        t[0x6B] = OpcodeEntry(.imulRegRMImm, m, imm: .ibs)
        t[0x6C] = OpcodeEntry(.ins, b)
        t[0x6D] = OpcodeEntry(.ins, 0)
        t[0x6E] = OpcodeEntry(.outs, b)
        t[0x6F] = OpcodeEntry(.outs, 0)
        // Jcc does not end its block: a taken branch leaves it as a side exit (Interpreter).
        for cc in 0..<16 { t[0x70 + cc] = OpcodeEntry(.jcc, f64, sub: UInt8(cc), imm: .rel8) }
        t[0x80] = OpcodeEntry(.aluRMImm, m | b | lk, imm: .ib)
        t[0x81] = OpcodeEntry(.aluRMImm, m | lk, imm: .iz)
        t[0x82] = OpcodeEntry(.aluRMImm, m | b | lk | i64, imm: .ib)
        t[0x83] = OpcodeEntry(.aluRMImm, m | lk, imm: .ibs)
        t[0x84] = OpcodeEntry(.testRMReg, m | b)
        t[0x85] = OpcodeEntry(.testRMReg, m)
        t[0x86] = OpcodeEntry(.xchgRMReg, m | b | lk)
        t[0x87] = OpcodeEntry(.xchgRMReg, m | lk)
        t[0x88] = OpcodeEntry(.movRMReg, m | b)
        t[0x89] = OpcodeEntry(.movRMReg, m)
        t[0x8A] = OpcodeEntry(.movRegRM, m | b)
        t[0x8B] = OpcodeEntry(.movRegRM, m)
        t[0x8C] = OpcodeEntry(.movRMSreg, m)
        t[0x8D] = OpcodeEntry(.lea, m | OpAttr.memoryOnly)
        t[0x8E] = OpcodeEntry(.movSregRM, m | OpAttr.word | end)
        t[0x8F] = OpcodeEntry(.popRM, m | d64)             // group 1A: /0 only
        t[0x98] = OpcodeEntry(.cbw)
        t[0x99] = OpcodeEntry(.cwd)
        t[0x9A] = OpcodeEntry(.callFar, i64 | end, imm: .farPointer)
        t[0x9B] = OpcodeEntry(.fwait)
        t[0x9C] = OpcodeEntry(.pushf, d64)
        t[0x9D] = OpcodeEntry(.popf, d64 | end)
        t[0x9E] = OpcodeEntry(.sahf)
        t[0x9F] = OpcodeEntry(.lahf)
        t[0xA0] = OpcodeEntry(.movAccMoffs, b, imm: .moffs)
        t[0xA1] = OpcodeEntry(.movAccMoffs, 0, imm: .moffs)
        t[0xA2] = OpcodeEntry(.movMoffsAcc, b, imm: .moffs)
        t[0xA3] = OpcodeEntry(.movMoffsAcc, 0, imm: .moffs)
        t[0xA4] = OpcodeEntry(.movs, b)
        t[0xA5] = OpcodeEntry(.movs, 0)
        t[0xA6] = OpcodeEntry(.cmps, b)
        t[0xA7] = OpcodeEntry(.cmps, 0)
        t[0xA8] = OpcodeEntry(.testAccImm, b, imm: .ib)
        t[0xA9] = OpcodeEntry(.testAccImm, 0, imm: .iz)
        t[0xAA] = OpcodeEntry(.stos, b)
        t[0xAB] = OpcodeEntry(.stos, 0)
        t[0xAC] = OpcodeEntry(.lods, b)
        t[0xAD] = OpcodeEntry(.lods, 0)
        t[0xAE] = OpcodeEntry(.scas, b)
        t[0xAF] = OpcodeEntry(.scas, 0)
        t[0xC0] = OpcodeEntry(.shiftRMImm, m | b, imm: .ib)
        t[0xC1] = OpcodeEntry(.shiftRMImm, m, imm: .ib)
        t[0xC2] = OpcodeEntry(.retImm, f64 | end, imm: .iw)
        t[0xC3] = OpcodeEntry(.ret, f64 | end)
        t[0xC4] = OpcodeEntry(.loadFarPointer, m | i64 | OpAttr.memoryOnly, sub: 0)   // LES (VEX in 64-bit)
        t[0xC5] = OpcodeEntry(.loadFarPointer, m | i64 | OpAttr.memoryOnly, sub: 3)   // LDS
        t[0xC6] = OpcodeEntry(.movRMImm, m | b, imm: .ib)  // group 11
        t[0xC7] = OpcodeEntry(.movRMImm, m, imm: .iz)
        t[0xC8] = OpcodeEntry(.enter, d64, imm: .enter)
        t[0xC9] = OpcodeEntry(.leave, d64)
        t[0xCA] = OpcodeEntry(.retFarImm, end, imm: .iw)
        t[0xCB] = OpcodeEntry(.retFar, end)
        t[0xCC] = OpcodeEntry(.int3, end)
        t[0xCD] = OpcodeEntry(.intN, end, imm: .ib)
        t[0xCE] = OpcodeEntry(.into, i64 | end)
        t[0xCF] = OpcodeEntry(.iret, end)
        t[0xD0] = OpcodeEntry(.shiftRMImm, m | b)          // count 1 (decoder sets imm)
        t[0xD1] = OpcodeEntry(.shiftRMImm, m)
        t[0xD2] = OpcodeEntry(.shiftRMCL, m | b)
        t[0xD3] = OpcodeEntry(.shiftRMCL, m)
        t[0xD4] = OpcodeEntry(.aam, i64, imm: .ib)
        t[0xD5] = OpcodeEntry(.aad, i64, imm: .ib)
        t[0xD6] = OpcodeEntry(.salc, i64)
        t[0xD7] = OpcodeEntry(.xlat)
        for k in 0..<8 { t[0xD8 + k] = OpcodeEntry(.x87, m, sub: UInt8(k)) }
        t[0xE0] = OpcodeEntry(.loop, f64 | end, sub: 0, imm: .rel8)
        t[0xE1] = OpcodeEntry(.loop, f64 | end, sub: 1, imm: .rel8)
        t[0xE2] = OpcodeEntry(.loop, f64 | end, sub: 2, imm: .rel8)
        t[0xE3] = OpcodeEntry(.jrcxz, f64 | end, imm: .rel8)
        t[0xE4] = OpcodeEntry(.inImm, b, imm: .ib)
        t[0xE5] = OpcodeEntry(.inImm, 0, imm: .ib)
        t[0xE6] = OpcodeEntry(.outImm, b, imm: .ib)
        t[0xE7] = OpcodeEntry(.outImm, 0, imm: .ib)
        t[0xE8] = OpcodeEntry(.callRel, f64 | end, imm: .relz)
        t[0xE9] = OpcodeEntry(.jmpRel, f64 | end, imm: .relz)
        t[0xEA] = OpcodeEntry(.jmpFar, i64 | end, imm: .farPointer)
        t[0xEB] = OpcodeEntry(.jmpRel, f64 | end, imm: .rel8)
        t[0xEC] = OpcodeEntry(.inDX, b)
        t[0xED] = OpcodeEntry(.inDX, 0)
        t[0xEE] = OpcodeEntry(.outDX, b)
        t[0xEF] = OpcodeEntry(.outDX, 0)
        t[0xF1] = OpcodeEntry(.int1, end)
        t[0xF4] = OpcodeEntry(.hlt, end)
        t[0xF5] = OpcodeEntry(.cmc)
        t[0xF6] = OpcodeEntry(.testRMImm, m | b)           // group 3
        t[0xF7] = OpcodeEntry(.testRMImm, m)
        t[0xF8] = OpcodeEntry(.clc)
        t[0xF9] = OpcodeEntry(.stc)
        t[0xFA] = OpcodeEntry(.cli, end)
        t[0xFB] = OpcodeEntry(.sti, end)
        t[0xFC] = OpcodeEntry(.cld)
        t[0xFD] = OpcodeEntry(.std)
        t[0xFE] = OpcodeEntry(.incRM, m | b)               // group 4
        t[0xFF] = OpcodeEntry(.incRM, m)                   // group 5
        return t
    }

    private static func buildTwoByte() -> [OpcodeEntry] {
        var t = [OpcodeEntry](repeating: OpcodeEntry(.invalid), count: 256)
        let m = OpAttr.modrm, b = OpAttr.byteOp, end = OpAttr.endsBlock
        let f64 = OpAttr.force64, lk = OpAttr.lockable, mem = OpAttr.memoryOnly
        t[0x00] = OpcodeEntry(.sldt, m | end)              // group 6
        t[0x01] = OpcodeEntry(.sgdt, m | end)              // group 7
        t[0x02] = OpcodeEntry(.lar, m)
        t[0x03] = OpcodeEntry(.lsl, m)
        t[0x05] = OpcodeEntry(.syscall, end)
        t[0x06] = OpcodeEntry(.clts, end)
        t[0x07] = OpcodeEntry(.sysret, end)
        t[0x08] = OpcodeEntry(.invd, end)
        t[0x09] = OpcodeEntry(.wbinvd, end)
        t[0x0B] = OpcodeEntry(.ud, end)
        t[0x0D] = OpcodeEntry(.nop, m)                     // PREFETCHW group P
        t[0x18] = OpcodeEntry(.nop, m)                     // group 16 prefetch / hint NOPs
        for k in 0x19...0x1F { t[k] = OpcodeEntry(.nop, m) } // reserved-NOP space, ENDBR (F3 0F 1E FA/FB)
        t[0x20] = OpcodeEntry(.movFromCR, m | OpAttr.controlRegister | end)
        t[0x21] = OpcodeEntry(.movFromDR, m | OpAttr.controlRegister | end)
        t[0x22] = OpcodeEntry(.movToCR, m | OpAttr.controlRegister | end)
        t[0x23] = OpcodeEntry(.movToDR, m | OpAttr.controlRegister | end)
        t[0x30] = OpcodeEntry(.wrmsr, end)
        t[0x31] = OpcodeEntry(.rdtsc)
        t[0x32] = OpcodeEntry(.rdmsr)
        t[0x33] = OpcodeEntry(.rdpmc)
        t[0x34] = OpcodeEntry(.sysenter, end)
        t[0x35] = OpcodeEntry(.sysexit, end)
        t[0x37] = OpcodeEntry(.getsec, end)
        for cc in 0..<16 {
            t[0x40 + cc] = OpcodeEntry(.cmovcc, m, sub: UInt8(cc))
            t[0x80 + cc] = OpcodeEntry(.jcc, f64, sub: UInt8(cc), imm: .relz)
            t[0x90 + cc] = OpcodeEntry(.setcc, m | OpAttr.byteRM | b, sub: UInt8(cc))
        }
        t[0x78] = OpcodeEntry(.vmread, m | OpAttr.vmxOperand | end)
        t[0x79] = OpcodeEntry(.vmwrite, m | OpAttr.vmxOperand | end)
        t[0xA0] = OpcodeEntry(.pushSreg, OpAttr.default64, sub: 4)
        t[0xA1] = OpcodeEntry(.popSreg, OpAttr.default64, sub: 4)
        t[0xA2] = OpcodeEntry(.cpuid, end)
        t[0xA3] = OpcodeEntry(.btRMReg, m, sub: 0)
        t[0xA4] = OpcodeEntry(.shld, m, sub: 0, imm: .ib)
        t[0xA5] = OpcodeEntry(.shld, m, sub: 1)
        t[0xA8] = OpcodeEntry(.pushSreg, OpAttr.default64, sub: 5)
        t[0xA9] = OpcodeEntry(.popSreg, OpAttr.default64, sub: 5)
        t[0xAA] = OpcodeEntry(.rsm, end)
        t[0xAB] = OpcodeEntry(.btRMReg, m | lk, sub: 1)
        t[0xAC] = OpcodeEntry(.shrd, m, sub: 0, imm: .ib)
        t[0xAD] = OpcodeEntry(.shrd, m, sub: 1)
        t[0xAE] = OpcodeEntry(.lfence, m)                  // group 15
        t[0xAF] = OpcodeEntry(.imulRegRM, m)
        t[0xB0] = OpcodeEntry(.cmpxchg, m | b | lk)
        t[0xB1] = OpcodeEntry(.cmpxchg, m | lk)
        t[0xB2] = OpcodeEntry(.loadFarPointer, m | mem, sub: 2)
        t[0xB3] = OpcodeEntry(.btRMReg, m | lk, sub: 2)
        t[0xB4] = OpcodeEntry(.loadFarPointer, m | mem, sub: 4)
        t[0xB5] = OpcodeEntry(.loadFarPointer, m | mem, sub: 5)
        t[0xB6] = OpcodeEntry(.movzx, m | OpAttr.byteRM, sub: 1)
        t[0xB7] = OpcodeEntry(.movzx, m, sub: 2)
        t[0xB8] = OpcodeEntry(.popcnt, m | OpAttr.mandatoryPrefix)   // F3 only
        t[0xB9] = OpcodeEntry(.ud, m | end)                // UD1
        t[0xBA] = OpcodeEntry(.btRMImm, m | lk, imm: .ib)  // group 8
        t[0xBB] = OpcodeEntry(.btRMReg, m | lk, sub: 3)
        t[0xBC] = OpcodeEntry(.bsf, m)                     // TZCNT with F3
        t[0xBD] = OpcodeEntry(.bsr, m)                     // LZCNT with F3
        t[0xBE] = OpcodeEntry(.movsx, m | OpAttr.byteRM, sub: 1)
        t[0xBF] = OpcodeEntry(.movsx, m, sub: 2)
        t[0xC0] = OpcodeEntry(.xadd, m | b | lk)
        t[0xC1] = OpcodeEntry(.xadd, m | lk)
        t[0xC7] = OpcodeEntry(.cmpxchg8b, m | lk)          // group 9
        for r in 0..<8 { t[0xC8 + r] = OpcodeEntry(.bswap, 0, sub: UInt8(r)) }
        t[0xC3] = OpcodeEntry(.movRMReg, m | mem)          // MOVNTI (no prefix; decoder)
        t[0xFF] = OpcodeEntry(.ud, m | end)                // UD0
        // The prefix-selected MMX/SSE space (SSEOpcodeTable, resolved after ModR/M).
        for k in 0..<256 where SSEOpcodeTable.hasSSEForm(k) { t[k] = OpcodeEntry(.simd, k == 0x77 ? 0 : m) }
        return t
    }
}
