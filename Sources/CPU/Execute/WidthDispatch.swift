/// The instruction forms whose handler is written once, generic over the operand width
/// (`OperandWidth`): one table from form to handler, and one dispatch on the decoded operand
/// size. The dispatch passes each form as a constant and both functions are always inlined
/// (`@inline(always)`), so every case of the run loop's switch holds only its own width
/// switch and specialised handlers: no second dispatch at run time.
extension Processor {
    /// Runs width-generic `form` at the instruction's operand size (1, 2, 4 or 8 bytes;
    /// a form without a byte form takes any size but 4 and 8 as 16-bit).
    @inline(always)
    func executeSized(_ form: Op, _ i: Inst) throws(Fault) {
        if form.hasByteForm {
            switch i.pointee.opSize {
            case 4: try executeSized(form, i, Width32.self)
            case 8: try executeSized(form, i, Width64.self)
            case 1: try executeSized(form, i, Width8.self)
            default: try executeSized(form, i, Width16.self)
            }
        } else {
            switch i.pointee.opSize {
            case 4: try executeSized(form, i, Width32.self)
            case 8: try executeSized(form, i, Width64.self)
            default: try executeSized(form, i, Width16.self)
            }
        }
    }

    /// The table: form → its handler at width W.
    @inline(always)
    func executeSized<W: OperandWidth>(_ form: Op, _ i: Inst, _ w: W.Type) throws(Fault) {
        switch form {
        case .movRMReg: try movRMReg(i, w)
        case .movRegRM: try movRegRM(i, w)
        case .movRMImm: try movRMImm(i, w)
        case .movRegImm: try movRegImm(i, w)
        case .lea: try lea(i, w)
        case .pushReg: try pushReg(i, w)
        case .popReg: try popReg(i, w)
        case .cmovcc: try cmovcc(i, w)
        case .aluRMReg: try aluRMReg(i, w)
        case .aluRegRM: try aluRegRM(i, w)
        case .aluAccImm: try aluAccImm(i, w)
        case .aluRMImm: try aluRMImm(i, w)
        case .testRMReg: try testRMReg(i, w)
        case .testAccImm: try testAccImm(i, w)
        case .testRMImm: try testRMImm(i, w)
        case .incReg: try incReg(i, w)
        case .decReg: try decReg(i, w)
        case .incRM: try incRM(i, w)
        case .decRM: try decRM(i, w)
        default: preconditionFailure("not a width-generic form")
        }
    }
}

extension Op {
    /// Whether a width-generic form has an 8-bit operand size (opcodes with a byte form,
    /// SDM Vol. 2D Table A-2 "Eb"/"Gb"/"AL").
    @inline(always) var hasByteForm: Bool {
        switch self {
        case .lea, .pushReg, .popReg, .cmovcc, .incReg, .decReg: false
        default: true
        }
    }
}
