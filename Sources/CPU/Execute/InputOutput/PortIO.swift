/// IN and OUT (SDM Vol. 2A "IN", Vol. 2B "OUT") and the I/O permission rules
/// (SDM Vol. 1 §19.5 "Protected-Mode I/O": IOPL, §19.5.2 the TSS I/O permission bit map).
extension Processor {
    /// The bus port I/O goes to: L0's emulation bus when it is emulating this instruction.
    var ioBus: DeviceBus { l0Emulation?.bus ?? bus }

    /// Checks the I/O permission for `size` bytes at `port`: always allowed at CPL ≤ IOPL
    /// outside virtual-8086 mode; otherwise every bit for the port's bytes in the TSS bit map
    /// must be 0 and within the TSS limit, else #GP(0).
    func checkIOPermission(_ port: UInt16, _ size: Int) throws(Fault) {
        if mode == .real { return }
        if mode != .virtual8086 && cpl <= iopl { return }
        // A 32-bit (or 64-bit) available/busy TSS with a limit covering the map base (§19.5.2).
        guard tr.type == 9 || tr.type == 11, tr.limit >= 103 else { throw Fault.gp(0) }
        let mapBase = UInt64(try readSystem(tr.base &+ 102, UInt16.self))
        let byteOffset = mapBase &+ UInt64(port >> 3)
        if byteOffset &+ 1 > UInt64(tr.limit) { throw Fault.gp(0) }
        let bits = UInt32(try readSystem(tr.base &+ byteOffset, UInt16.self))
        let mask = ((UInt32(1) << UInt32(size)) - 1) << UInt32(port & 7)
        if bits & mask != 0 { throw Fault.gp(0) }
    }

    func execInImm(_ i: Inst) throws(Fault) {
        try portIn(UInt16(truncatingIfNeeded: i.pointee.imm & 0xFF), i)
    }

    func execInDX(_ i: Inst) throws(Fault) {
        try portIn(UInt16(truncatingIfNeeded: gpr[GPR.rdx.rawValue]), i)
    }

    func execOutImm(_ i: Inst) throws(Fault) {
        try portOut(UInt16(truncatingIfNeeded: i.pointee.imm & 0xFF), i)
    }

    func execOutDX(_ i: Inst) throws(Fault) {
        try portOut(UInt16(truncatingIfNeeded: gpr[GPR.rdx.rawValue]), i)
    }

    /// Operand size of IN/OUT: 1, 2 or 4 bytes (a 64-bit operand size still moves 32 bits).
    static func ioSize(_ i: Inst) -> Int { i.pointee.opSize == 1 ? 1 : (i.pointee.opSize == 2 ? 2 : 4) }

    func portIn(_ port: UInt16, _ i: Inst) throws(Fault) {
        let size = Self.ioSize(i)
        try checkIOPermission(port, size)
        try ioExit(i, port: port, size: size, input: true, string: false, immediate: i.pointee.op == .inImm)
        let v = ioBus.ioRead(port: port, size: size)
        writeReg(0, UInt8(size), UInt64(v))
    }

    func portOut(_ port: UInt16, _ i: Inst) throws(Fault) {
        let size = Self.ioSize(i)
        try checkIOPermission(port, size)
        try ioExit(i, port: port, size: size, input: false, string: false, immediate: i.pointee.op == .outImm)
        let v = UInt32(truncatingIfNeeded: readReg(0, UInt8(size)))
        ioBus.ioWrite(port: port, size: size, value: v)
    }
}
