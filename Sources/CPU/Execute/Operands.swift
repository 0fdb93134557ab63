/// Operand access for instruction handlers: registers by size, the ModR/M operand, the
/// effective address, and the stack (SDM Vol. 1 §3.7 "Operand addressing").
extension Processor {
    // MARK: Registers

    /// Reads register `r` at `size` bytes. Byte registers 0x10–0x13 are AH, CH, DH, BH.
    @inline(__always)
    func readReg(_ r: UInt8, _ size: UInt8) -> UInt64 {
        switch size {
        case 8: return gpr[Int(r)]
        case 4: return gpr[Int(r)] & 0xFFFF_FFFF
        case 2: return gpr[Int(r)] & 0xFFFF
        default:
            if r >= DecodedInstruction.highByteBase { return (gpr[Int(r - DecodedInstruction.highByteBase)] >> 8) & 0xFF }
            return gpr[Int(r)] & 0xFF
        }
    }

    /// Writes register `r` at `size` bytes: 32-bit writes zero the upper half, 8- and 16-bit
    /// writes preserve the rest (SDM Vol. 1 §3.4.1.1).
    @inline(__always)
    func writeReg(_ r: UInt8, _ size: UInt8, _ v: UInt64) {
        switch size {
        case 8: gpr[Int(r)] = v
        case 4: gpr[Int(r)] = v & 0xFFFF_FFFF
        case 2: gpr[Int(r)] = (gpr[Int(r)] & ~0xFFFF) | (v & 0xFFFF)
        default:
            if r >= DecodedInstruction.highByteBase {
                let n = Int(r - DecodedInstruction.highByteBase)
                gpr[n] = (gpr[n] & ~0xFF00) | ((v & 0xFF) << 8)
            } else {
                gpr[Int(r)] = (gpr[Int(r)] & ~0xFF) | (v & 0xFF)
            }
        }
    }

    @inline(__always) func reg64(_ r: GPR) -> UInt64 { gpr[r.rawValue] }
    @inline(__always) func setReg64(_ r: GPR, _ v: UInt64) { gpr[r.rawValue] = v }

    // MARK: Effective address

    /// The offset of the ModR/M memory operand, truncated to the address size
    /// (SDM Vol. 1 §3.7.5; RIP-relative: Vol. 2A §2.2.1.6, relative to the next instruction).
    @inline(__always)
    func effectiveAddress(_ i: UnsafePointer<DecodedInstruction>) -> UInt64 {
        var ea = UInt64(bitPattern: i.pointee.disp)
        let b = i.pointee.base
        if b != DecodedInstruction.noRegister {
            ea &+= b == DecodedInstruction.ripBase ? nextRIP : gpr[Int(b)]
        }
        let x = i.pointee.index
        if x != DecodedInstruction.noRegister { ea &+= gpr[Int(x)] << UInt64(i.pointee.scale) }
        switch i.pointee.addrSize {
        case 8: return ea
        case 4: return ea & 0xFFFF_FFFF
        default: return ea & 0xFFFF
        }
    }

    /// Address-size mask for string and stack pointer arithmetic.
    @inline(__always) static func mask(_ size: UInt8) -> UInt64 {
        size == 8 ? ~0 : (UInt64(1) << UInt64(size * 8)) &- 1
    }

    // MARK: ModR/M operand

    @inline(__always)
    func readRM(_ i: UnsafePointer<DecodedInstruction>, _ size: UInt8) throws(Fault) -> UInt64 {
        if i.pointee.isMemory {
            return try readSized(Int(i.pointee.seg), effectiveAddress(i), size)
        }
        return readReg(i.pointee.rm, size)
    }

    @inline(__always)
    func writeRM(_ i: UnsafePointer<DecodedInstruction>, _ size: UInt8, _ v: UInt64) throws(Fault) {
        if i.pointee.isMemory {
            try writeSized(Int(i.pointee.seg), effectiveAddress(i), size, v)
        } else {
            writeReg(i.pointee.rm, size, v)
        }
    }

    /// Linear address of the ModR/M memory operand for an access of `size` bytes.
    @inline(__always)
    func memoryOperandLinear(_ i: Inst, _ size: UInt8, write: Bool) throws(Fault) -> UInt64 {
        try linearAddress(Int(i.pointee.seg), effectiveAddress(i), Int(size), write: write)
    }

    // MARK: Stack (SDM Vol. 1 §6.2)

    /// Pushes `size` bytes onto SS:rSP; rSP changes only if the write succeeds.
    @inline(__always)
    func push(_ v: UInt64, size: UInt8) throws(Fault) {
        let sp = gpr[GPR.rsp.rawValue]
        switch stackSize {
        case 8:
            let nsp = sp &- UInt64(size)
            try writeSized(SegmentRegisterIndex.ss.rawValue, nsp, size, v)
            gpr[GPR.rsp.rawValue] = nsp
        case 4:
            let nsp = (sp &- UInt64(size)) & 0xFFFF_FFFF
            try writeSized(SegmentRegisterIndex.ss.rawValue, nsp, size, v)
            gpr[GPR.rsp.rawValue] = nsp
        default:
            let nsp = (sp &- UInt64(size)) & 0xFFFF
            try writeSized(SegmentRegisterIndex.ss.rawValue, nsp, size, v)
            gpr[GPR.rsp.rawValue] = (sp & ~0xFFFF) | nsp
        }
    }

    /// Reads the value at the top of the stack (`offset` bytes above rSP) without popping.
    @inline(__always)
    func peek(size: UInt8, offset: UInt64 = 0) throws(Fault) -> UInt64 {
        let sp = (gpr[GPR.rsp.rawValue] &+ offset) & Processor.mask(stackSize)
        return try readSized(SegmentRegisterIndex.ss.rawValue, sp, size)
    }

    /// Adds `n` to rSP within the stack-size width.
    @inline(__always)
    func adjustSP(_ n: UInt64) {
        let sp = gpr[GPR.rsp.rawValue]
        switch stackSize {
        case 8: gpr[GPR.rsp.rawValue] = sp &+ n
        case 4: gpr[GPR.rsp.rawValue] = (sp &+ n) & 0xFFFF_FFFF
        default: gpr[GPR.rsp.rawValue] = (sp & ~0xFFFF) | ((sp &+ n) & 0xFFFF)
        }
    }

    @inline(__always)
    func pop(size: UInt8) throws(Fault) -> UInt64 {
        let v = try peek(size: size)
        adjustSP(UInt64(size))
        return v
    }
}
