/// System instructions (SDM Vol. 2 and Vol. 3A ch. 2 "System Instruction Summary").
extension Assembler {
    public func hlt() { db(0xF4) }
    public func nop() { db(0x90) }
    public func cli() { db(0xFA) }
    public func sti() { db(0xFB) }
    public func clc() { db(0xF8) }
    public func stc() { db(0xF9) }
    public func cld() { db(0xFC) }
    public func std() { db(0xFD) }
    public func pause() { db(0xF3, 0x90) }
    public func ud2() { db(0x0F, 0x0B) }
    public func cpuid() { db(0x0F, 0xA2) }
    public func rdtsc() { db(0x0F, 0x31) }
    public func rdtscp() { db(0x0F, 0x01, 0xF9) }
    public func rdmsr() { db(0x0F, 0x32) }
    public func wrmsr() { db(0x0F, 0x30) }
    public func clts() { db(0x0F, 0x06) }
    public func wbinvd() { db(0x0F, 0x09) }
    public func invd() { db(0x0F, 0x08) }
    public func swapgs() { db(0x0F, 0x01, 0xF8) }
    public func stac() { db(0x0F, 0x01, 0xCB) }
    public func clac() { db(0x0F, 0x01, 0xCA) }
    public func endbr64() { db(0xF3, 0x0F, 0x1E, 0xFA) }
    /// PUSHF/POPF with the mode's default size (9C / 9D).
    public func pushf() { db(0x9C) }
    public func popf() { db(0x9D) }
    public func sahf() { db(0x9E) }
    public func lahf() { db(0x9F) }

    /// SYSCALL (0F 05), SYSRET (0F 07; REX.W returns to 64-bit mode), SYSENTER/SYSEXIT (0F 34/35).
    public func syscall() { db(0x0F, 0x05) }
    public func sysret(to64: Bool = true) { plain(size: to64 ? 8 : 0, [0x0F, 0x07]) }
    public func sysenter() { db(0x0F, 0x34) }
    public func sysexit(to64: Bool = false) { plain(size: to64 ? 8 : 0, [0x0F, 0x35]) }

    /// MOV CRn, r / MOV r, CRn (0F 22 / 0F 20): operand size is implied by the mode.
    public func mov(_ d: ControlRegister, _ s: Register) {
        emit(size: 0, opcode: [0x0F, 0x22], reg: d.number, rm: .register(s))
    }
    public func mov(_ d: Register, _ s: ControlRegister) {
        emit(size: 0, opcode: [0x0F, 0x20], reg: s.number, rm: .register(d))
    }
    /// MOV DRn, r / MOV r, DRn (0F 23 / 0F 21).
    public func mov(_ d: DebugRegister, _ s: Register) {
        emit(size: 0, opcode: [0x0F, 0x23], reg: d.number, rm: .register(s))
    }
    public func mov(_ d: Register, _ s: DebugRegister) {
        emit(size: 0, opcode: [0x0F, 0x21], reg: s.number, rm: .register(d))
    }

    /// Group 7 memory forms (0F 01 /digit): SGDT 0, SIDT 1, LGDT 2, LIDT 3, SMSW 4, LMSW 6, INVLPG 7.
    public func sgdt(_ m: Memory) { emit(size: 0, opcode: [0x0F, 0x01], reg: 0, rm: .memory(m)) }
    public func sidt(_ m: Memory) { emit(size: 0, opcode: [0x0F, 0x01], reg: 1, rm: .memory(m)) }
    public func lgdt(_ m: Memory) { emit(size: 0, opcode: [0x0F, 0x01], reg: 2, rm: .memory(m)) }
    public func lidt(_ m: Memory) { emit(size: 0, opcode: [0x0F, 0x01], reg: 3, rm: .memory(m)) }
    public func smsw(_ d: some RMOperand) {
        var size = 0
        if case .register(let r) = d.rm { size = r.size }
        emit(size: size, opcode: [0x0F, 0x01], reg: 4, rm: d.rm)
    }
    public func lmsw(_ s: some RMOperand) { emit(size: 0, opcode: [0x0F, 0x01], reg: 6, rm: s.rm) }
    public func invlpg(_ m: Memory) { emit(size: 0, opcode: [0x0F, 0x01], reg: 7, rm: .memory(m)) }
    /// INVPCID r64, m128 (66 0F 38 82).
    public func invpcid(_ type: Register, _ m: Memory) {
        emit(size: 0, mandatory: 0x66, opcode: [0x0F, 0x38, 0x82], reg: type.number, rm: .memory(m))
    }

    /// Group 6 (0F 00 /digit): SLDT 0, STR 1, LLDT 2, LTR 3, VERR 4, VERW 5.
    public func sldt(_ d: some RMOperand) { emit(size: 0, opcode: [0x0F, 0x00], reg: 0, rm: d.rm) }
    public func str(_ d: some RMOperand) { emit(size: 0, opcode: [0x0F, 0x00], reg: 1, rm: d.rm) }
    public func lldt(_ s: some RMOperand) { emit(size: 0, opcode: [0x0F, 0x00], reg: 2, rm: s.rm) }
    public func ltr(_ s: some RMOperand) { emit(size: 0, opcode: [0x0F, 0x00], reg: 3, rm: s.rm) }
    public func verr(_ s: some RMOperand) { emit(size: 0, opcode: [0x0F, 0x00], reg: 4, rm: s.rm) }
    public func verw(_ s: some RMOperand) { emit(size: 0, opcode: [0x0F, 0x00], reg: 5, rm: s.rm) }
    /// LAR/LSL r, r/m16 (0F 02 / 0F 03).
    public func lar(_ d: Register, _ s: some RMOperand) { emit(size: d.size, opcode: [0x0F, 0x02], reg: d.number, rm: s.rm) }
    public func lsl(_ d: Register, _ s: some RMOperand) { emit(size: d.size, opcode: [0x0F, 0x03], reg: d.number, rm: s.rm) }

    /// Port I/O: IN AL/AX/EAX, imm8|DX and OUT imm8|DX, AL/AX/EAX (E4–E7, EC–EF).
    public func `in`(_ d: Register, port: UInt8) {
        plain(size: d.size == 1 ? 0 : d.size, [d.size == 1 ? 0xE4 : 0xE5], immediate: Int64(port), immediateWidth: 1)
    }
    public func `in`(_ d: Register, _ portDX: Register) {
        precondition(portDX.number == 2 && portDX.size == 2, "IN uses DX")
        plain(size: d.size == 1 ? 0 : d.size, [d.size == 1 ? 0xEC : 0xED])
    }
    public func out(port: UInt8, _ s: Register) {
        plain(size: s.size == 1 ? 0 : s.size, [s.size == 1 ? 0xE6 : 0xE7], immediate: Int64(port), immediateWidth: 1)
    }
    public func out(_ portDX: Register, _ s: Register) {
        precondition(portDX.number == 2 && portDX.size == 2, "OUT uses DX")
        plain(size: s.size == 1 ? 0 : s.size, [s.size == 1 ? 0xEE : 0xEF])
    }
}
