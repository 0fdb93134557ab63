extension Processor {
    func execMovRMReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovRegRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovRMImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovRegImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovAccMoffs(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovMoffsAcc(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovzx(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovsx(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovsxd(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execLea(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execXchgRMReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execXchgAccReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execPushReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execPopReg(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execPushImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execPushRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execPopRM(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execPusha(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execPopa(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execLahf(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execSahf(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execCbw(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execCwd(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execCmovcc(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execSetcc(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execBswap(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execXlat(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execMovbe(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execEnter(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execLeave(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

}
