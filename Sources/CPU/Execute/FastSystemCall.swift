extension Processor {
    func execSyscall(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execSysret(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execSysenter(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execSysexit(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

}
