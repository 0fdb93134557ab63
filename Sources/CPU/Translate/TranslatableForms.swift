/// One form the block translator takes: the operand sizes and operands of an `Op` it
/// translates, the guest registers the form uses besides its ModR/M operands, and the
/// function that emits it.
struct TranslatableForm: Sendable {
    /// Operand sizes, as a set whose raw bits are the sizes in bytes (1, 2, 4, 8).
    struct Sizes: OptionSet, Sendable {
        let rawValue: UInt8
        static let byte = Sizes(rawValue: 1), word = Sizes(rawValue: 2)
        static let dword = Sizes(rawValue: 4), qword = Sizes(rawValue: 8)
        static let all: Sizes = [.byte, .word, .dword, .qword]
        static let wide: Sizes = [.dword, .qword]
    }

    typealias Emitter = @Sendable (inout BlockTranslator, DecodedInstruction, BlockTranslator.Position) -> BlockTranslator.Outcome

    var sizes: Sizes
    /// Only with a register r/m operand (mod = 3).
    var registerOnly = false
    /// The `sub` values (ALU, shift or bit-test kind) taken: bit k for kind k.
    var kinds: UInt8 = 0xFF
    /// Guest registers the form reads or writes implicitly (bit g for register g), and the
    /// ones among them it may write.
    var implicitUses: UInt16 = 0
    var implicitWrites: UInt16 = 0
    /// A further condition on the operands, where sizes and kinds do not say it all.
    var condition: @Sendable (DecodedInstruction) -> Bool
    var emit: Emitter

    init(_ sizes: Sizes, registerOnly: Bool = false, kinds: UInt8 = 0xFF,
         uses: [GPR] = [], writes: [GPR] = [],
         where condition: @escaping @Sendable (DecodedInstruction) -> Bool = { _ in true },
         _ emit: @escaping Emitter) {
        self.sizes = sizes
        self.registerOnly = registerOnly
        self.kinds = kinds
        self.condition = condition
        self.implicitWrites = writes.reduce(0) { $0 | 1 << $1.rawValue }
        self.implicitUses = uses.reduce(implicitWrites) { $0 | 1 << $1.rawValue }
        self.emit = emit
    }

    /// The kinds set of these shift operations.
    static func kinds(_ k: ShiftKind...) -> UInt8 { k.reduce(0) { $0 | 1 << $1.rawValue } }

    func accepts(_ d: DecodedInstruction) -> Bool {
        sizes.rawValue & d.opSize != 0 && !(registerOnly && d.isMemory) && kinds & (1 << (d.sub & 7)) != 0
            && condition(d)
    }
}

/// The forms the block translator takes, in one table: the translator emits an instruction
/// by its row (`BlockTranslator.instruction`), and the decoder's block splitting and the
/// register cache ask the same rows which instructions will be translated
/// (`BlockTranslator.handles`). A locked instruction is never translated.
enum TranslatableForms {
    static let rows: [(Op, TranslatableForm)] = [
        // Data movement (`IntegerForms`).
        (.nop, TranslatableForm(.all) { _, _, _ in .done }),
        (.movRegImm, TranslatableForm(.all) { t, d, _ in t.moveImmediate(toRegister: d.reg, d.imm, size: Int(d.opSize)) }),
        (.movRMImm, TranslatableForm(.all) { t, d, p in t.moveImmediate(d, at: p) }),
        (.movRMReg, TranslatableForm(.all) { t, d, p in t.moveToRM(d, at: p) }),
        (.movRegRM, TranslatableForm(.all) { t, d, p in t.moveFromRM(d, at: p) }),
        (.movzx, TranslatableForm(.wide) { t, d, p in t.extend(d, at: p) }),
        (.movsx, TranslatableForm(.wide) { t, d, p in t.extend(d, at: p) }),
        (.movsxd, TranslatableForm(.wide) { t, d, p in t.extend(d, at: p) }),
        (.lea, TranslatableForm(.wide) { t, d, p in t.loadEffectiveAddress(d, at: p) }),
        (.cmovcc, TranslatableForm(.wide) { t, d, p in t.conditionalMove(d, at: p) }),
        (.setcc, TranslatableForm(.all) { t, d, p in t.setByte(d, at: p) }),
        (.bswap, TranslatableForm(.wide) { t, d, _ in t.byteSwap(d) }),
        (.cbw, TranslatableForm(.wide, uses: [.rax], writes: [.rax]) { t, d, _ in t.extendAccumulator(d) }),
        (.cwd, TranslatableForm(.wide, uses: [.rax], writes: [.rdx]) { t, d, _ in t.extendAccumulator(d) }),
        // Arithmetic and logic (`IntegerForms`, IMUL, MUL and DIV in `MultiplyForms`).
        (.aluRMReg, TranslatableForm(.all) { t, d, p in t.alu(d, .rmReg, at: p) }),
        (.aluRMImm, TranslatableForm(.all) { t, d, p in t.alu(d, .rmImm, at: p) }),
        (.aluRegRM, TranslatableForm(.all) { t, d, p in t.alu(d, .regRM, at: p) }),
        (.aluAccImm, TranslatableForm(.all, uses: [.rax], writes: [.rax]) { t, d, p in t.alu(d, .accImm, at: p) }),
        (.testRMReg, TranslatableForm(.all) { t, d, p in t.test(d, .rmReg, at: p) }),
        (.testRMImm, TranslatableForm(.all) { t, d, p in t.test(d, .rmImm, at: p) }),
        (.testAccImm, TranslatableForm(.all, uses: [.rax]) { t, d, p in t.test(d, .accImm, at: p) }),
        (.incRM, TranslatableForm(.all) { t, d, p in t.unary(.inc, d, at: p) }),
        (.decRM, TranslatableForm(.all) { t, d, p in t.unary(.dec, d, at: p) }),
        (.notRM, TranslatableForm(.all) { t, d, p in t.unary(.not, d, at: p) }),
        (.negRM, TranslatableForm(.all) { t, d, p in t.unary(.neg, d, at: p) }),
        (.imulRegRM, TranslatableForm([.word, .dword, .qword]) { t, d, p in t.signedMultiply(d, at: p) }),
        (.imulRegRMImm, TranslatableForm([.word, .dword, .qword]) { t, d, p in t.signedMultiply(d, at: p) }),
        (.mulRM, TranslatableForm([.dword, .qword], uses: [.rax], writes: [.rax, .rdx]) { t, d, p in
            t.unsignedMultiply(d, at: p) }),
        (.divRM, TranslatableForm(.wide, uses: [.rax, .rdx], writes: [.rax, .rdx]) { t, d, p in
            t.unsignedDivide(d, at: p) }),
        // Shifts, rotates and bit tests (`ShiftAndBitForms`): 16-bit registers only for
        // shifts by an immediate below 16, where the host defines CF.
        (.shiftRMImm, TranslatableForm([.word, .dword, .qword], registerOnly: true,
                                       kinds: TranslatableForm.kinds(.rol, .ror, .shl, .shr, .sar),
                                       where: { d in d.opSize >= 4 || (d.sub & 7 >= 4 && d.imm & 0x1F < 16) }) { t, d, p in
            t.shiftOrRotate(d, at: p) }),
        (.shiftRMCL, TranslatableForm(.wide, registerOnly: true, kinds: TranslatableForm.kinds(.rol, .ror, .shl, .shr, .sar),
                                      uses: [.rcx]) { t, d, p in t.shiftOrRotate(d, at: p) }),
        (.btRMImm, TranslatableForm(.wide) { t, d, p in t.bitTest(d, at: p) }),
        // Stack and branches (`StackAndBranchForms`): the 64-bit stack forms only.
        (.jcc, TranslatableForm(.all) { t, d, p in t.conditionalJump(d, at: p) }),
        (.jmpRel, TranslatableForm(.all) { t, d, p in t.jump(d, at: p) }),
        (.callRel, TranslatableForm(.qword, writes: [.rsp]) { t, d, p in t.call(d, at: p) }),
        (.ret, TranslatableForm(.qword, writes: [.rsp]) { t, _, p in t.ret(at: p) }),
        (.callRM, TranslatableForm(.qword, writes: [.rsp]) { t, d, p in t.indirectBranch(d, at: p) }),
        (.jmpRM, TranslatableForm(.qword) { t, d, p in t.indirectBranch(d, at: p) }),
        (.pushReg, TranslatableForm(.qword, writes: [.rsp]) { t, d, p in t.push(d, at: p) }),
        (.pushImm, TranslatableForm(.qword, writes: [.rsp]) { t, d, p in t.push(d, at: p) }),
        (.popReg, TranslatableForm(.qword, writes: [.rsp]) { t, d, p in t.pop(d, at: p) }),
        (.pushf, TranslatableForm(.qword, writes: [.rsp]) { t, _, p in t.pushFlags(at: p) }),
        (.leave, TranslatableForm(.qword, writes: [.rsp, .rbp]) { t, _, p in t.leave(at: p) }),
    ]

    /// `rows` indexed by `Op.rawValue`.
    static let table: [TranslatableForm?] = {
        var t = [TranslatableForm?](repeating: nil, count: rows.map { Int($0.0.rawValue) }.max()! + 1)
        for (op, form) in rows {
            precondition(t[Int(op.rawValue)] == nil, "\(op) has two rows")
            t[Int(op.rawValue)] = form
        }
        return t
    }()

    /// The row that translates `d` (a fused ALU/TEST form by its unfused op), if any.
    static func form(of d: DecodedInstruction) -> TranslatableForm? {
        if d.hasLock { return nil }
        let k = Int(d.op.unfused.rawValue)
        guard k < table.count, let f = table[k], f.accepts(d) else { return nil }
        return f
    }
}
