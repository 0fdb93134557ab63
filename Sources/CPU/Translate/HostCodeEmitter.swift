/// Encodes the few x86-64 host instructions the block translator emits (SDM Vol. 2A §2.1–2.2:
/// legacy prefix 66, REX, opcode, ModR/M, SIB, displacement, immediate). Code is
/// position-independent: branches are rel32 to labels inside the same buffer.
struct HostCodeEmitter {
    /// Host register numbers (ModR/M and REX encoding order).
    enum R {
        static let rax: UInt8 = 0, rcx: UInt8 = 1, rdx: UInt8 = 2, rsp: UInt8 = 4
        static let rsi: UInt8 = 6, rdi: UInt8 = 7, r8: UInt8 = 8, r9: UInt8 = 9
        /// Byte registers AH and DH, encodable only without REX.
        static let ah: UInt8 = 4, dh: UInt8 = 6
    }

    /// A ModR/M operand: a register, or memory at base + index × 2^scale + disp.
    enum Operand {
        case reg(UInt8)
        case mem(base: UInt8, index: UInt8?, scale: UInt8, disp: Int32)
        static func at(_ base: UInt8, _ disp: Int32 = 0) -> Operand { .mem(base: base, index: nil, scale: 0, disp: disp) }
    }

    var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(1024) }

    var position: Int { bytes.count }

    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func int32(_ v: Int32) {
        let u = UInt32(bitPattern: v)
        for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: u >> (8 * UInt32(k)))) }
    }
    mutating func int16(_ v: UInt16) { bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8)) }
    mutating func uint64(_ v: UInt64) {
        for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    /// One instruction: [66] [REX] opcode ModR/M [SIB] [disp] — the immediate follows.
    /// `width` 2 adds the operand-size prefix, 8 sets REX.W. `byteHigh`: the byte register
    /// operands may name AH/DH, so no REX may be emitted.
    /// A two-byte opcode: 0F, then `twoByte`.
    mutating func instruction(twoByte opcode: UInt8, reg: UInt8, _ rm: Operand, width: Int, byteHigh: Bool = false) {
        instruction(0x0F, second: opcode, reg: reg, rm, width: width, byteHigh: byteHigh)
    }
    /// (The opcode bytes are passed as values, not an array, so that emitting allocates nothing.)
    mutating func instruction(_ opcode: UInt8, second: UInt8? = nil, reg: UInt8, _ rm: Operand, width: Int, byteHigh: Bool = false) {
        if width == 2 { byte(0x66) }
        var rex: UInt8 = width == 8 ? 0x48 : 0
        if reg & 8 != 0 { rex |= 0x44 }
        switch rm {
        case .reg(let r): if r & 8 != 0 { rex |= 0x41 }
        case .mem(let b, let x, _, _):
            if b & 8 != 0 { rex |= 0x41 }
            if let x, x & 8 != 0 { rex |= 0x42 }
        }
        precondition(!(byteHigh && rex != 0), "AH/DH cannot be encoded with REX")
        if rex != 0 { byte(rex) }
        byte(opcode)
        if let second { byte(second) }
        modrm(reg: reg & 7, rm)
    }

    private mutating func modrm(reg: UInt8, _ rm: Operand) {
        switch rm {
        case .reg(let r):
            byte(0xC0 | (reg << 3) | (r & 7))
        case .mem(let b, let x, let scale, let disp):
            // mod 01 (disp8) or 10 (disp32); rbp/r13 have no mod-00 form, so always give a disp.
            let short = disp >= -128 && disp <= 127
            let mod: UInt8 = short ? 0x40 : 0x80
            if x != nil || b & 7 == 4 {
                byte(mod | (reg << 3) | 4)
                byte((scale << 6) | ((x ?? 4) & 7) << 3 | (b & 7))
            } else {
                byte(mod | (reg << 3) | (b & 7))
            }
            if short { byte(UInt8(bitPattern: Int8(disp))) } else { int32(disp) }
        }
    }

    // MARK: Moves

    /// MOV reg, r/m (8B; 8A for bytes).
    mutating func load(_ dst: UInt8, _ src: Operand, width: Int, byteHigh: Bool = false) {
        instruction(width == 1 ? 0x8A : 0x8B, reg: dst, src, width: width, byteHigh: byteHigh)
    }

    /// MOV r/m, reg (89; 88 for bytes).
    mutating func store(_ dst: Operand, _ src: UInt8, width: Int, byteHigh: Bool = false) {
        instruction(width == 1 ? 0x88 : 0x89, reg: src, dst, width: width, byteHigh: byteHigh)
    }

    /// MOV r/m, imm (C7 /0; C6 for bytes); 64-bit: imm32 sign-extended.
    mutating func storeImmediate(_ dst: Operand, _ imm: UInt64, width: Int, byteHigh: Bool = false) {
        instruction(width == 1 ? 0xC6 : 0xC7, reg: 0, dst, width: width, byteHigh: byteHigh)
        immediate(imm, width: width)
    }

    /// MOV r64, imm64 (REX.W B8+r).
    mutating func loadImmediate64(_ dst: UInt8, _ imm: UInt64) {
        byte(0x48 | (dst & 8 != 0 ? 1 : 0))
        byte(0xB8 + (dst & 7))
        uint64(imm)
    }

    /// LEA reg, m (8D).
    mutating func lea(_ dst: UInt8, _ m: Operand, width: Int = 8) {
        instruction(0x8D, reg: dst, m, width: width)
    }

    /// The immediate of a width-sized operation (imm8, imm16, or imm32; 64-bit forms take a
    /// sign-extended imm32).
    mutating func immediate(_ imm: UInt64, width: Int) {
        switch width {
        case 1: byte(UInt8(truncatingIfNeeded: imm))
        case 2: int16(UInt16(truncatingIfNeeded: imm))
        default: int32(Int32(truncatingIfNeeded: imm))
        }
    }

    // MARK: Arithmetic

    /// ALU `kind` (group 1 order, SDM Vol. 2A Table A-6): reg ← reg op r/m (03 + 8k; 02 + 8k bytes).
    mutating func alu(_ kind: ALUKind, _ dst: UInt8, _ src: Operand, width: Int, byteHigh: Bool = false) {
        instruction(kind.rawValue &* 8 &+ (width == 1 ? 2 : 3), reg: dst, src, width: width, byteHigh: byteHigh)
    }

    /// ALU `kind`: r/m ← r/m op reg (01 + 8k; 00 + 8k bytes).
    mutating func alu(_ kind: ALUKind, _ dst: Operand, _ src: UInt8, width: Int, byteHigh: Bool = false) {
        instruction(kind.rawValue &* 8 &+ (width == 1 ? 0 : 1), reg: src, dst, width: width, byteHigh: byteHigh)
    }

    /// ALU `kind`: r/m ← r/m op imm (81 /k; 80 /k bytes).
    mutating func alu(_ kind: ALUKind, _ dst: Operand, immediate imm: UInt64, width: Int, byteHigh: Bool = false) {
        instruction(width == 1 ? 0x80 : 0x81, reg: kind.rawValue, dst, width: width, byteHigh: byteHigh)
        immediate(imm, width: width)
    }

    /// TEST r/m, reg (85; 84 bytes).
    mutating func test(_ a: Operand, _ b: UInt8, width: Int, byteHigh: Bool = false) {
        instruction(width == 1 ? 0x84 : 0x85, reg: b, a, width: width, byteHigh: byteHigh)
    }

    /// TEST r/m, imm (F7 /0; F6 /0 bytes).
    mutating func test(_ a: Operand, immediate imm: UInt64, width: Int, byteHigh: Bool = false) {
        instruction(width == 1 ? 0xF6 : 0xF7, reg: 0, a, width: width, byteHigh: byteHigh)
        immediate(imm, width: width)
    }

    /// IMUL reg, r/m (0F AF) and IMUL reg, r/m, imm (69 /r iw or id; a 64-bit form takes
    /// imm32 sign-extended).
    mutating func imul(_ dst: UInt8, _ src: Operand, width: Int) {
        instruction(twoByte: 0xAF, reg: dst, src, width: width)
    }
    mutating func imul(_ dst: UInt8, _ src: Operand, immediate imm: UInt64, width: Int) {
        instruction(0x69, reg: dst, src, width: width)
        immediate(imm, width: width)
    }
    /// MUL r/m (F7 /4): RDX:RAX ← RAX × r/m (EDX:EAX, zero-extended, at 32 bits).
    mutating func mul(_ src: Operand, width: Int) {
        instruction(0xF7, reg: 4, src, width: width)
    }

    /// DIV r/m (F7 /6): RAX ← RDX:RAX ÷ r/m, RDX ← the remainder (EDX:EAX at 32 bits).
    mutating func div(_ src: Operand, width: Int) {
        instruction(0xF7, reg: 6, src, width: width)
    }

    /// BSWAP r32/r64 (0F C8+rd).
    mutating func bswap(_ r: UInt8, width: Int) {
        let rex: UInt8 = (width == 8 ? 0x48 : 0) | (r & 8 != 0 ? 0x41 : 0)
        if rex != 0 { byte(rex) }
        byte(0x0F)
        byte(0xC8 + (r & 7))
    }

    /// CWDE/CDQE (98) and CDQ/CQO (99), REX.W for the 64-bit forms.
    mutating func accumulatorExtension(_ opcode: UInt8, width: Int) {
        if width == 8 { byte(0x48) }
        byte(opcode)
    }

    /// Group 3/5 unary forms: INC (FF /0), DEC (FF /1), NOT (F7 /2), NEG (F7 /3).
    enum Unary: UInt8 { case inc = 0, dec = 1, not = 2, neg = 3 }
    mutating func unary(_ u: Unary, _ a: Operand, width: Int, byteHigh: Bool = false) {
        let opcode: UInt8 = u.rawValue < 2 ? (width == 1 ? 0xFE : 0xFF) : (width == 1 ? 0xF6 : 0xF7)
        instruction(opcode, reg: u.rawValue, a, width: width, byteHigh: byteHigh)
    }

    /// Group 2 shift or rotate `kind` of r/m by imm8 (C1 /k ib) or by CL (D3 /k).
    mutating func shift(_ kind: ShiftKind, _ a: Operand, count: UInt8?, width: Int) {
        if let count {
            instruction(0xC1, reg: kind.rawValue, a, width: width); byte(count)
        } else {
            instruction(0xD3, reg: kind.rawValue, a, width: width)
        }
    }

    /// Group 8 bit operations (0F BA /4–/7), numbered as the decoder's `sub` numbers them.
    enum BitOperation: UInt8 { case bt = 0, bts, btr, btc }

    /// Group 8 bit `operation` of r/m by imm8 (0F BA /k ib).
    mutating func bitOperation(_ operation: BitOperation, _ a: Operand, bit: UInt8, width: Int) {
        instruction(twoByte: 0xBA, reg: 4 + operation.rawValue, a, width: width); byte(bit)
    }

    /// SHR/SHL r/m, imm8 (C1 /5, C1 /4).
    mutating func shiftRight(_ a: Operand, _ count: UInt8, width: Int) {
        shift(.shr, a, count: count, width: width)
    }
    mutating func shiftLeft(_ a: Operand, _ count: UInt8, width: Int) {
        shift(.shl, a, count: count, width: width)
    }

    /// MOVZX/MOVSX reg, r/m8 or r/m16 (0F B6/B7, 0F BE/BF); MOVSXD reg64, r/m32 (REX.W 63).
    mutating func movzx(_ dst: UInt8, _ src: Operand, from: Int, width: Int, byteHigh: Bool = false) {
        instruction(twoByte: from == 1 ? 0xB6 : 0xB7, reg: dst, src, width: width, byteHigh: byteHigh)
    }
    mutating func movsx(_ dst: UInt8, _ src: Operand, from: Int, width: Int, byteHigh: Bool = false) {
        if from == 4 { instruction(0x63, reg: dst, src, width: 8); return }
        instruction(twoByte: from == 1 ? 0xBE : 0xBF, reg: dst, src, width: width, byteHigh: byteHigh)
    }

    /// SETcc r/m8 (0F 90+cc /0), CMOVcc reg, r/m (0F 40+cc).
    mutating func setcc(_ cc: UInt8, _ dst: Operand, byteHigh: Bool = false) {
        instruction(twoByte: 0x90 | cc, reg: 0, dst, width: 1, byteHigh: byteHigh)
    }
    mutating func cmovcc(_ cc: UInt8, _ dst: UInt8, _ src: Operand, width: Int) {
        instruction(twoByte: 0x40 | cc, reg: dst, src, width: width)
    }

    // MARK: Flags and control

    /// LAHF (9F), SAHF (9E): SF, ZF, AF, PF, CF to and from AH.
    mutating func lahf() { byte(0x9F) }
    mutating func sahf() { byte(0x9E) }

    /// PUSHFQ (9C), POP RAX (58).
    mutating func pushfq() { byte(0x9C) }
    mutating func popRAX() { byte(0x58) }

    /// MOV EAX, imm32; JMP m64 (the entry trampoline's exit half).
    mutating func exitTo(_ m: Operand, index v: UInt32) {
        byte(0xB8); int32(Int32(bitPattern: v))
        jumpIndirect(m)
    }

    /// JMP m64 (FF /4).
    mutating func jumpIndirect(_ m: Operand) {
        instruction(0xFF, reg: 4, m, width: 4)
    }

    /// Jcc rel32 (0F 80+cc) to a label bound later; returns the patch position.
    mutating func jump(_ cc: UInt8) -> Int {
        byte(0x0F); byte(0x80 | cc); int32(0)
        return position - 4
    }

    /// JMP rel32 (E9) to a label bound later; returns the patch position.
    mutating func jump() -> Int {
        byte(0xE9); int32(0)
        return position - 4
    }

    /// Points the rel32 at `patch` to `target` (both buffer positions).
    mutating func bind(_ patch: Int, to target: Int) {
        let rel = Int32(target - (patch + 4))
        let u = UInt32(bitPattern: rel)
        for k in 0..<4 { bytes[patch + k] = UInt8(truncatingIfNeeded: u >> (8 * UInt32(k))) }
    }

    /// Condition codes (SDM Vol. 2A Appendix B, Table B-1) the emitter uses itself.
    enum CC { static let o: UInt8 = 0, b: UInt8 = 2, ae: UInt8 = 3, z: UInt8 = 4, nz: UInt8 = 5, a: UInt8 = 7 }
}
