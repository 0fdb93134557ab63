extension Processor {
    func execX87(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execFwait(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execFxsave(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execFxrstor(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execXsave(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execXrstor(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

}
