extension Processor {
    func execInImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execInDX(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execOutImm(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

    func execOutDX(_ i: Inst) throws(Fault) {
        throw Fault.ud  // PLACEHOLDER: not yet implemented
    }

}
