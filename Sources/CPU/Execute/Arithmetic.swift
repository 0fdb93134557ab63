extension Processor {
    func execAluRMReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execAluRegRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execAluAccImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execAluRMImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execTestRMReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execTestAccImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execTestRMImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execIncReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execDecReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execIncRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execDecRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execNotRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execNegRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMulRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execImulRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execDivRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execIdivRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execImulRegRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execImulRegRMImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execDaa(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execDas(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execAaa(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execAas(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execAam(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execAad(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execSalc(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

}
