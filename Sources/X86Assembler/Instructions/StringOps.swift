/// String instructions and their repeat prefixes (SDM Vol. 2 "MOVS", "STOS", "REP/REPE/REPNE", …).
extension Assembler {
    public func rep() { db(0xF3) }
    public func repe() { db(0xF3) }
    public func repne() { db(0xF2) }

    /// A string instruction of operand `size`: byte form `op`, wider forms `op + 1`.
    private func string(_ op: UInt8, _ size: Int) {
        plain(size: size == 1 ? 0 : size, [size == 1 ? op : op + 1])
    }
    public func movs(_ size: Int) { string(0xA4, size) }
    public func cmps(_ size: Int) { string(0xA6, size) }
    public func stos(_ size: Int) { string(0xAA, size) }
    public func lods(_ size: Int) { string(0xAC, size) }
    public func scas(_ size: Int) { string(0xAE, size) }
    public func ins(_ size: Int) { string(0x6C, size) }
    public func outs(_ size: Int) { string(0x6E, size) }
    public func movsb() { movs(1) }
    public func stosb() { stos(1) }
}
