/// Data movement (SDM Vol. 2 "MOV", "MOVZX", "MOVSX/MOVSXD", "LEA", "XCHG", "PUSH", "POP", …).
extension Assembler {
    /// MOV r/m, r (88/89).
    public func mov(_ d: some RMOperand, _ s: Register) {
        emit(size: s.size, opcode: [s.size == 1 ? 0x88 : 0x89], reg: s.number, regByte: s.size == 1 ? s : nil, rm: d.rm)
    }
    /// MOV r, m (8A/8B); the memory width follows the register.
    public func mov(_ d: Register, _ s: Memory) {
        emit(size: d.size, opcode: [d.size == 1 ? 0x8A : 0x8B], reg: d.number, regByte: d.size == 1 ? d : nil,
             rm: .memory(Memory(s.address, size: d.size, segment: s.segment)))
    }
    /// MOV r, imm: B0+r / B8+r; a 64-bit register with a sign-extendable immediate uses C7 /0,
    /// otherwise the 10-byte MOV r64, imm64.
    public func mov(_ d: Register, _ imm: Int64) {
        switch d.size {
        case 1: plain(size: 1, [0xB0], opcodeRegister: d, immediate: imm, immediateWidth: 1)
        case 8 where imm >= Int64(Int32.min) && imm <= Int64(Int32.max):
            emit(size: 8, opcode: [0xC7], reg: 0, rm: .register(d), immediate: imm, immediateWidth: 4)
        case 8: plain(size: 8, [0xB8], opcodeRegister: d, immediate: imm, immediateWidth: 8)
        default: plain(size: d.size, [0xB8], opcodeRegister: d, immediate: imm, immediateWidth: d.size)
        }
    }
    /// MOV r, imm with an unsigned 64-bit value (addresses and masks above Int64.max).
    public func mov(_ d: Register, unsigned imm: UInt64) { mov(d, Int64(bitPattern: imm)) }
    /// MOV r64, label address (always the imm64 form so any address fits).
    public func mov(_ d: Register, _ l: Label) {
        if d.size == 8 {
            plain(size: 8, [0xB8], opcodeRegister: d)
            absolute(l, width: 8)
        } else {
            plain(size: d.size, [0xB8], opcodeRegister: d)
            absolute(l, width: d.size)
        }
    }
    /// MOV m, imm (C6/C7 /0).
    public func mov(_ d: Memory, _ imm: Int64) {
        emit(size: d.size, opcode: [d.size == 1 ? 0xC6 : 0xC7], reg: 0, rm: .memory(d), immediate: imm,
             immediateWidth: d.size == 1 ? 1 : immZ(d.size))
    }

    /// MOVZX/MOVSX r, r/m8|16 (0F B6/B7, 0F BE/BF) and MOVSXD r64, r/m32 (63).
    public func movzx(_ d: Register, _ s: some RMOperand) {
        let ss = s.rm.size
        emit(size: d.size, opcode: [0x0F, ss == 1 ? 0xB6 : 0xB7], reg: d.number, regByte: nil, rm: s.rm)
    }
    public func movsx(_ d: Register, _ s: some RMOperand) {
        let ss = s.rm.size
        if ss == 4 {
            emit(size: d.size, opcode: [0x63], reg: d.number, rm: s.rm)
        } else {
            emit(size: d.size, opcode: [0x0F, ss == 1 ? 0xBE : 0xBF], reg: d.number, rm: s.rm)
        }
    }

    /// LEA r, m (8D).
    public func lea(_ d: Register, _ s: Memory) { emit(size: d.size, opcode: [0x8D], reg: d.number, rm: .memory(s)) }

    /// XCHG r/m, r (86/87).
    public func xchg(_ d: some RMOperand, _ s: Register) {
        emit(size: s.size, opcode: [s.size == 1 ? 0x86 : 0x87], reg: s.number, regByte: s.size == 1 ? s : nil, rm: d.rm)
    }

    /// PUSH/POP register (50+r / 58+r; 64-bit default in 64-bit mode).
    public func push(_ r: Register) { plain(size: r.size, default64: true, [0x50], opcodeRegister: r) }
    public func pop(_ r: Register) { plain(size: r.size, default64: true, [0x58], opcodeRegister: r) }
    /// PUSH imm (6A ib / 68 iz).
    public func push(_ imm: Int64) {
        if imm >= -128 && imm <= 127 { plain(size: 0, [0x6A], immediate: imm, immediateWidth: 1) }
        else { plain(size: 0, [0x68], immediate: imm, immediateWidth: mode == .bits16 ? 2 : 4) }
    }
    /// PUSH/POP m (FF /6, 8F /0).
    public func push(_ m: Memory) { emit(size: m.size, default64: true, opcode: [0xFF], reg: 6, rm: .memory(m)) }
    public func pop(_ m: Memory) { emit(size: m.size, default64: true, opcode: [0x8F], reg: 0, rm: .memory(m)) }
    /// PUSH/POP segment register.
    public func push(_ s: SegmentRegister) {
        switch s {
        case .es: db(0x06); case .cs: db(0x0E); case .ss: db(0x16); case .ds: db(0x1E)
        case .fs: db(0x0F, 0xA0); case .gs: db(0x0F, 0xA8)
        }
    }
    public func pop(_ s: SegmentRegister) {
        switch s {
        case .es: db(0x07); case .ss: db(0x17); case .ds: db(0x1F)
        case .fs: db(0x0F, 0xA1); case .gs: db(0x0F, 0xA9)
        case .cs: preconditionFailure("POP CS does not exist")
        }
    }
    /// MOV Sreg, r/m16 (8E) and MOV r/m, Sreg (8C).
    public func mov(_ d: SegmentRegister, _ s: some RMOperand) {
        emit(size: 0, opcode: [0x8E], reg: d.rawValue, rm: s.rm)
    }
    public func mov(_ d: some RMOperand, _ s: SegmentRegister) {
        var size = 0
        if case .register(let r) = d.rm { size = r.size }
        emit(size: size, opcode: [0x8C], reg: s.rawValue, rm: d.rm)
    }

    /// CMOVcc r, r/m (0F 40+cc) and SETcc r/m8 (0F 90+cc).
    public func cmov(_ cc: Condition, _ d: Register, _ s: some RMOperand) {
        emit(size: d.size, opcode: [0x0F, 0x40 | cc.rawValue], reg: d.number, rm: s.rm)
    }
    public func set(_ cc: Condition, _ d: some RMOperand) {
        var regByte: Register?
        if case .register(let r) = d.rm { regByte = r }
        emit(size: 1, opcode: [0x0F, 0x90 | cc.rawValue], reg: 0, regByte: regByte, rm: d.rm)
    }

    /// BSWAP r32/r64 (0F C8+r).
    public func bswap(_ r: Register) { plain(size: r.size, [0x0F, 0xC8], opcodeRegister: r) }

    /// BT/BTS/BTR/BTC r/m, r (0F A3/AB/B3/BB) and r/m, imm8 (0F BA /4…7).
    public enum BitTest: UInt8, Sendable { case bt = 4, bts, btr, btc }
    public func bitTest(_ op: BitTest, _ d: some RMOperand, _ s: Register) {
        // Register forms: 0F A3 / AB / B3 / BB, i.e. 0xA3 + (op - 4) × 8.
        emit(size: s.size, opcode: [0x0F, 0xA3 + (op.rawValue - 4) * 8], reg: s.number, rm: d.rm)
    }
    public func bitTest(_ op: BitTest, _ d: some RMOperand, _ bit: UInt8) {
        emit(size: d.rm.size, opcode: [0x0F, 0xBA], reg: op.rawValue, rm: d.rm, immediate: Int64(bit), immediateWidth: 1)
    }
    /// BSF/BSR r, r/m (0F BC/BD).
    public func bsf(_ d: Register, _ s: some RMOperand) { emit(size: d.size, opcode: [0x0F, 0xBC], reg: d.number, rm: s.rm) }
    public func bsr(_ d: Register, _ s: some RMOperand) { emit(size: d.size, opcode: [0x0F, 0xBD], reg: d.number, rm: s.rm) }

    /// CMPXCHG r/m, r (0F B0/B1), XADD (0F C0/C1), CMPXCHG8B/16B m (0F C7 /1).
    public func cmpxchg(_ d: some RMOperand, _ s: Register) {
        emit(size: s.size, opcode: [0x0F, s.size == 1 ? 0xB0 : 0xB1], reg: s.number, regByte: s.size == 1 ? s : nil, rm: d.rm)
    }
    public func xadd(_ d: some RMOperand, _ s: Register) {
        emit(size: s.size, opcode: [0x0F, s.size == 1 ? 0xC0 : 0xC1], reg: s.number, regByte: s.size == 1 ? s : nil, rm: d.rm)
    }
    public func cmpxchg8b(_ m: Memory) { emit(size: 0, opcode: [0x0F, 0xC7], reg: 1, rm: .memory(m)) }
    public func cmpxchg16b(_ m: Memory) { emit(size: 8, opcode: [0x0F, 0xC7], reg: 1, rm: .memory(m)) }

    /// The LOCK prefix (F0) for the next instruction.
    public func lock() { db(0xF0) }
}
