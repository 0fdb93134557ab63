/// Control transfers (SDM Vol. 2 "JMP", "Jcc", "CALL", "RET", "INT n", "IRET", "LOOP").
extension Assembler {
    /// Width of a near relative displacement in the current mode (rel16 in 16-bit code).
    private var relWidth: Int { mode == .bits16 ? 2 : 4 }

    /// JMP rel (E9) to a label; `short` uses EB rel8.
    public func jmp(_ l: Label, short: Bool = false) {
        if short { db(0xEB); relative(l, width: 1) } else { db(0xE9); relative(l, width: relWidth) }
    }
    /// Jcc rel (0F 80+cc, or 70+cc rel8 when `short`).
    public func j(_ cc: Condition, _ l: Label, short: Bool = false) {
        if short { db(0x70 | cc.rawValue); relative(l, width: 1) }
        else { db(0x0F, 0x80 | cc.rawValue); relative(l, width: relWidth) }
    }
    public func je(_ l: Label) { j(.e, l) }
    public func jne(_ l: Label) { j(.ne, l) }
    public func jz(_ l: Label) { j(.e, l) }
    public func jnz(_ l: Label) { j(.ne, l) }
    /// LOOP rel8 (E2).
    public func loop(_ l: Label) { db(0xE2); relative(l, width: 1) }
    /// CALL rel (E8).
    public func call(_ l: Label) { db(0xE8); relative(l, width: relWidth) }
    /// JMP/CALL r/m (FF /4, FF /2): 64-bit operand by default in 64-bit mode.
    public func jmp(_ t: some RMOperand) { emit(size: t.rm.size, default64: true, opcode: [0xFF], reg: 4, rm: t.rm) }
    public func call(_ t: some RMOperand) { emit(size: t.rm.size, default64: true, opcode: [0xFF], reg: 2, rm: t.rm) }
    /// RET (C3) / RET imm16 (C2).
    public func ret(_ pop: UInt16 = 0) {
        if pop == 0 { db(0xC3) } else { db(0xC2); dw(pop) }
    }
    /// Far JMP/CALL to selector:offset (EA / 9A ptr16:16/32) — not encodable in 64-bit mode.
    public func jmpFar(selector: UInt16, offset: UInt32) { farDirect(0xEA, selector, offset) }
    public func callFar(selector: UInt16, offset: UInt32) { farDirect(0x9A, selector, offset) }
    /// Far JMP to a label (the offset resolved at assembly).
    public func jmpFar(selector: UInt16, _ l: Label, operandSize: Int? = nil) {
        precondition(mode != .bits64, "direct far JMP is not encodable in 64-bit mode")
        let size = operandSize ?? (mode == .bits16 ? 2 : 4)
        if (size == 4) != (mode == .bits32) { db(0x66) }
        db(0xEA); absolute(l, width: size); dw(selector)
    }
    private func farDirect(_ opcode: UInt8, _ sel: UInt16, _ off: UInt32) {
        precondition(mode != .bits64, "direct far transfers are not encodable in 64-bit mode")
        db(opcode)
        if mode == .bits16 { dw(UInt16(truncatingIfNeeded: off)) } else { dd(off) }
        dw(sel)
    }
    /// Far JMP/CALL through memory m16:16/32/64 (FF /5, FF /3); `size` is the offset width.
    public func jmpFar(_ m: Memory) { emit(size: m.size, opcode: [0xFF], reg: 5, rm: .memory(m)) }
    public func callFar(_ m: Memory) { emit(size: m.size, opcode: [0xFF], reg: 3, rm: .memory(m)) }
    /// RETF with an operand size (CB; REX.W for 64-bit).
    public func retf(size: Int? = nil) { plain(size: size ?? 0, [0xCB]) }
    /// IRET with an operand size: 2 = IRET, 4 = IRETD, 8 = IRETQ (CF).
    public func iret(size: Int? = nil) {
        plain(size: size ?? (mode == .bits16 ? 2 : 4), [0xCF])
    }
    public func iretq() { iret(size: 8) }
    /// INT n (CD ib), INT3 (CC), INTO (CE), INT1/ICEBP (F1).
    public func int(_ n: UInt8) { db(0xCD, n) }
    public func int3() { db(0xCC) }
    public func into() { db(0xCE) }
    public func int1() { db(0xF1) }
    /// ENTER imm16, imm8 (C8) / LEAVE (C9).
    public func enter(_ frame: UInt16, _ level: UInt8) { db(0xC8); dw(frame); db(level) }
    public func leave() { db(0xC9) }
}
