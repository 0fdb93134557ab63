/// VMX instructions (SDM Vol. 3C ch. 31 "VMX Instruction Reference").
extension Assembler {
    /// VMXON m64 (F3 0F C7 /6), VMCLEAR m64 (66 0F C7 /6), VMPTRLD m64 (0F C7 /6), VMPTRST m64 (0F C7 /7).
    public func vmxon(_ m: Memory) { emit(size: 0, mandatory: 0xF3, opcode: [0x0F, 0xC7], reg: 6, rm: .memory(m)) }
    public func vmclear(_ m: Memory) { emit(size: 0, mandatory: 0x66, opcode: [0x0F, 0xC7], reg: 6, rm: .memory(m)) }
    public func vmptrld(_ m: Memory) { emit(size: 0, opcode: [0x0F, 0xC7], reg: 6, rm: .memory(m)) }
    public func vmptrst(_ m: Memory) { emit(size: 0, opcode: [0x0F, 0xC7], reg: 7, rm: .memory(m)) }
    /// VMREAD r/m, r (0F 78): r holds the field encoding. VMWRITE r, r/m (0F 79).
    public func vmread(_ d: some RMOperand, _ field: Register) {
        emit(size: 0, opcode: [0x0F, 0x78], reg: field.number, rm: d.rm)
    }
    public func vmwrite(_ field: Register, _ s: some RMOperand) {
        emit(size: 0, opcode: [0x0F, 0x79], reg: field.number, rm: s.rm)
    }
    public func vmlaunch() { db(0x0F, 0x01, 0xC2) }
    public func vmresume() { db(0x0F, 0x01, 0xC3) }
    public func vmxoff() { db(0x0F, 0x01, 0xC4) }
    public func vmcall() { db(0x0F, 0x01, 0xC1) }
    public func vmfunc() { db(0x0F, 0x01, 0xD4) }
    /// INVEPT r, m128 (66 0F 38 80) and INVVPID r, m128 (66 0F 38 81).
    public func invept(_ type: Register, _ m: Memory) {
        emit(size: 0, mandatory: 0x66, opcode: [0x0F, 0x38, 0x80], reg: type.number, rm: .memory(m))
    }
    public func invvpid(_ type: Register, _ m: Memory) {
        emit(size: 0, mandatory: 0x66, opcode: [0x0F, 0x38, 0x81], reg: type.number, rm: .memory(m))
    }
}
