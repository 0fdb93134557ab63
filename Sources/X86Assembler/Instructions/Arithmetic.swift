/// Integer arithmetic and logic (SDM Vol. 2 "ADD", "ADC", …, "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR").
extension Assembler {
    /// The eight classic ALU operations in their /digit order (opcode = op × 8 + form).
    public enum ALUOperation: UInt8, Sendable { case add = 0, or, adc, sbb, and, sub, xor, cmp }

    public func alu(_ op: ALUOperation, _ dst: some RMOperand, _ src: Register) {
        precondition(dst.rm.size == src.size, "operand sizes differ")
        emit(size: src.size, opcode: [op.rawValue * 8 + (src.size == 1 ? 0 : 1)],
             reg: src.number, regByte: src.size == 1 ? src : nil, rm: dst.rm)
    }

    public func alu(_ op: ALUOperation, _ dst: Register, _ src: Memory) {
        emit(size: dst.size, opcode: [op.rawValue * 8 + (dst.size == 1 ? 2 : 3)],
             reg: dst.number, regByte: dst.size == 1 ? dst : nil, rm: .memory(Memory(src.address, size: dst.size, segment: src.segment)))
    }

    public func alu(_ op: ALUOperation, _ dst: some RMOperand, _ imm: Int64) {
        let size = dst.rm.size
        if size == 1 {
            emit(size: 1, opcode: [0x80], reg: op.rawValue, rm: dst.rm, immediate: imm, immediateWidth: 1)
        } else if imm >= -128 && imm <= 127 {
            emit(size: size, opcode: [0x83], reg: op.rawValue, rm: dst.rm, immediate: imm, immediateWidth: 1)
        } else {
            emit(size: size, opcode: [0x81], reg: op.rawValue, rm: dst.rm, immediate: imm, immediateWidth: immZ(size))
        }
    }

    public func add(_ d: some RMOperand, _ s: Register) { alu(.add, d, s) }
    public func add(_ d: Register, _ s: Memory) { alu(.add, d, s) }
    public func add(_ d: some RMOperand, _ i: Int64) { alu(.add, d, i) }
    public func or(_ d: some RMOperand, _ s: Register) { alu(.or, d, s) }
    public func or(_ d: Register, _ s: Memory) { alu(.or, d, s) }
    public func or(_ d: some RMOperand, _ i: Int64) { alu(.or, d, i) }
    public func adc(_ d: some RMOperand, _ s: Register) { alu(.adc, d, s) }
    public func adc(_ d: some RMOperand, _ i: Int64) { alu(.adc, d, i) }
    public func sbb(_ d: some RMOperand, _ s: Register) { alu(.sbb, d, s) }
    public func sbb(_ d: some RMOperand, _ i: Int64) { alu(.sbb, d, i) }
    public func and(_ d: some RMOperand, _ s: Register) { alu(.and, d, s) }
    public func and(_ d: Register, _ s: Memory) { alu(.and, d, s) }
    public func and(_ d: some RMOperand, _ i: Int64) { alu(.and, d, i) }
    public func sub(_ d: some RMOperand, _ s: Register) { alu(.sub, d, s) }
    public func sub(_ d: Register, _ s: Memory) { alu(.sub, d, s) }
    public func sub(_ d: some RMOperand, _ i: Int64) { alu(.sub, d, i) }
    public func xor(_ d: some RMOperand, _ s: Register) { alu(.xor, d, s) }
    public func xor(_ d: Register, _ s: Memory) { alu(.xor, d, s) }
    public func xor(_ d: some RMOperand, _ i: Int64) { alu(.xor, d, i) }
    public func cmp(_ d: some RMOperand, _ s: Register) { alu(.cmp, d, s) }
    public func cmp(_ d: Register, _ s: Memory) { alu(.cmp, d, s) }
    public func cmp(_ d: some RMOperand, _ i: Int64) { alu(.cmp, d, i) }

    /// TEST r/m, r (84/85) and TEST r/m, imm (F6/F7 /0).
    public func test(_ d: some RMOperand, _ s: Register) {
        emit(size: s.size, opcode: [s.size == 1 ? 0x84 : 0x85], reg: s.number, regByte: s.size == 1 ? s : nil, rm: d.rm)
    }
    public func test(_ d: some RMOperand, _ imm: Int64) {
        let size = d.rm.size
        emit(size: size, opcode: [size == 1 ? 0xF6 : 0xF7], reg: 0, rm: d.rm, immediate: imm,
             immediateWidth: size == 1 ? 1 : immZ(size))
    }

    /// Group 3 (F6/F7 /digit): NOT, NEG, MUL, IMUL, DIV, IDIV with one operand.
    private func group3(_ digit: UInt8, _ d: some RMOperand) {
        let size = d.rm.size
        emit(size: size, opcode: [size == 1 ? 0xF6 : 0xF7], reg: digit, rm: d.rm)
    }
    public func not(_ d: some RMOperand) { group3(2, d) }
    public func neg(_ d: some RMOperand) { group3(3, d) }
    public func mul(_ d: some RMOperand) { group3(4, d) }
    public func imul(_ d: some RMOperand) { group3(5, d) }
    public func div(_ d: some RMOperand) { group3(6, d) }
    public func idiv(_ d: some RMOperand) { group3(7, d) }

    /// IMUL r, r/m (0F AF) and IMUL r, r/m, imm (6B/69).
    public func imul(_ d: Register, _ s: some RMOperand) {
        emit(size: d.size, opcode: [0x0F, 0xAF], reg: d.number, rm: s.rm)
    }
    public func imul(_ d: Register, _ s: some RMOperand, _ imm: Int64) {
        if imm >= -128 && imm <= 127 {
            emit(size: d.size, opcode: [0x6B], reg: d.number, rm: s.rm, immediate: imm, immediateWidth: 1)
        } else {
            emit(size: d.size, opcode: [0x69], reg: d.number, rm: s.rm, immediate: imm, immediateWidth: immZ(d.size))
        }
    }

    /// INC/DEC r/m (FE/FF /0, /1) — the ModRM form, valid in every mode.
    public func inc(_ d: some RMOperand) {
        let size = d.rm.size
        emit(size: size, opcode: [size == 1 ? 0xFE : 0xFF], reg: 0, rm: d.rm)
    }
    public func dec(_ d: some RMOperand) {
        let size = d.rm.size
        emit(size: size, opcode: [size == 1 ? 0xFE : 0xFF], reg: 1, rm: d.rm)
    }

    /// Shift and rotate group 2 in /digit order.
    public enum ShiftOperation: UInt8, Sendable { case rol = 0, ror, rcl, rcr, shl, shr, sal_, sar }

    /// Shift by an immediate count (C0/C1, or D0/D1 for a count of 1).
    public func shift(_ op: ShiftOperation, _ d: some RMOperand, _ count: UInt8) {
        let size = d.rm.size
        if count == 1 {
            emit(size: size, opcode: [size == 1 ? 0xD0 : 0xD1], reg: op.rawValue, rm: d.rm)
        } else {
            emit(size: size, opcode: [size == 1 ? 0xC0 : 0xC1], reg: op.rawValue, rm: d.rm,
                 immediate: Int64(count), immediateWidth: 1)
        }
    }
    /// BT r/m, imm8 (0F BA /4 ib): CF ← bit `bit` (modulo the operand size) of `d`.
    public func bt(_ d: some RMOperand, _ bit: UInt8) {
        emit(size: d.rm.size, opcode: [0x0F, 0xBA], reg: 4, rm: d.rm, immediate: Int64(bit), immediateWidth: 1)
    }
    /// BTS / BTR / BTC r/m, imm8 (0F BA /5, /6, /7 ib): BT, then set, clear or complement the bit.
    public func bts(_ d: some RMOperand, _ bit: UInt8) {
        emit(size: d.rm.size, opcode: [0x0F, 0xBA], reg: 5, rm: d.rm, immediate: Int64(bit), immediateWidth: 1)
    }
    public func btr(_ d: some RMOperand, _ bit: UInt8) {
        emit(size: d.rm.size, opcode: [0x0F, 0xBA], reg: 6, rm: d.rm, immediate: Int64(bit), immediateWidth: 1)
    }
    public func btc(_ d: some RMOperand, _ bit: UInt8) {
        emit(size: d.rm.size, opcode: [0x0F, 0xBA], reg: 7, rm: d.rm, immediate: Int64(bit), immediateWidth: 1)
    }
    /// Shift by CL (D2/D3).
    public func shiftByCL(_ op: ShiftOperation, _ d: some RMOperand) {
        let size = d.rm.size
        emit(size: size, opcode: [size == 1 ? 0xD2 : 0xD3], reg: op.rawValue, rm: d.rm)
    }
    public func shl(_ d: some RMOperand, _ n: UInt8) { shift(.shl, d, n) }
    public func shr(_ d: some RMOperand, _ n: UInt8) { shift(.shr, d, n) }
    public func sar(_ d: some RMOperand, _ n: UInt8) { shift(.sar, d, n) }
    public func rol(_ d: some RMOperand, _ n: UInt8) { shift(.rol, d, n) }
    public func ror(_ d: some RMOperand, _ n: UInt8) { shift(.ror, d, n) }

    /// SHLD/SHRD r/m, r, imm8 (0F A4 / 0F AC).
    public func shld(_ d: some RMOperand, _ s: Register, _ n: UInt8) {
        emit(size: s.size, opcode: [0x0F, 0xA4], reg: s.number, rm: d.rm, immediate: Int64(n), immediateWidth: 1)
    }
    public func shrd(_ d: some RMOperand, _ s: Register, _ n: UInt8) {
        emit(size: s.size, opcode: [0x0F, 0xAC], reg: s.number, rm: d.rm, immediate: Int64(n), immediateWidth: 1)
    }

    /// CBW/CWDE/CDQE (98) and CWD/CDQ/CQO (99) for the given accumulator width.
    public func cdqe() { plain(size: 8, [0x98]) }
    public func cqo() { plain(size: 8, [0x99]) }
    public func cdq() { plain(size: 4, [0x99]) }
}
