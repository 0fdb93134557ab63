/// Operand widths as types, so hot handlers are specialised per width at compile time
/// (no run-time size switches inside an instruction).
protocol OperandWidth {
    associatedtype Value: FixedWidthInteger & UnsignedInteger
    /// Operand size in bytes.
    static var size: UInt8 { get }
    static var mask: UInt64 { get }
    /// Bit index of the sign bit.
    static var signShift: UInt8 { get }
}

enum Width8: OperandWidth {
    typealias Value = UInt8
    @inline(__always) static var size: UInt8 { 1 }
    @inline(__always) static var mask: UInt64 { 0xFF }
    @inline(__always) static var signShift: UInt8 { 7 }
}

enum Width16: OperandWidth {
    typealias Value = UInt16
    @inline(__always) static var size: UInt8 { 2 }
    @inline(__always) static var mask: UInt64 { 0xFFFF }
    @inline(__always) static var signShift: UInt8 { 15 }
}

enum Width32: OperandWidth {
    typealias Value = UInt32
    @inline(__always) static var size: UInt8 { 4 }
    @inline(__always) static var mask: UInt64 { 0xFFFF_FFFF }
    @inline(__always) static var signShift: UInt8 { 31 }
}

enum Width64: OperandWidth {
    typealias Value = UInt64
    @inline(__always) static var size: UInt8 { 8 }
    @inline(__always) static var mask: UInt64 { ~0 }
    @inline(__always) static var signShift: UInt8 { 63 }
}

extension Processor {
    /// Register read at width W (byte registers 0x10–0x13 are AH..BH).
    @inline(__always)
    func readReg<W: OperandWidth>(_ r: UInt8, _: W.Type) -> UInt64 {
        if W.size == 1 && r >= DecodedInstruction.highByteBase {
            return (gpr[Int(r &- DecodedInstruction.highByteBase)] >> 8) & 0xFF
        }
        return gpr[Int(r)] & W.mask
    }

    /// Register write at width W: 32-bit writes zero-extend, 8/16-bit writes merge.
    @inline(__always)
    func writeReg<W: OperandWidth>(_ r: UInt8, _ v: UInt64, _: W.Type) {
        switch W.size {
        case 8: gpr[Int(r)] = v
        case 4: gpr[Int(r)] = v & 0xFFFF_FFFF
        case 2: gpr[Int(r)] = (gpr[Int(r)] & ~0xFFFF) | (v & 0xFFFF)
        default:
            if r >= DecodedInstruction.highByteBase {
                let n = Int(r &- DecodedInstruction.highByteBase)
                gpr[n] = (gpr[n] & ~0xFF00) | ((v & 0xFF) << 8)
            } else {
                gpr[Int(r)] = (gpr[Int(r)] & ~0xFF) | (v & 0xFF)
            }
        }
    }

    @inline(__always)
    func readRM<W: OperandWidth>(_ i: Inst, _ w: W.Type) throws(Fault) -> UInt64 {
        if i.pointee.isMemory {
            let la = try linearAddress(Int(i.pointee.seg), effectiveAddress(i), Int(W.size), write: false)
            return UInt64(try readLinear(la, W.Value.self))
        }
        return readReg(i.pointee.rm, w)
    }

    @inline(__always)
    func writeRM<W: OperandWidth>(_ i: Inst, _ v: UInt64, _ w: W.Type) throws(Fault) {
        if i.pointee.isMemory {
            let la = try linearAddress(Int(i.pointee.seg), effectiveAddress(i), Int(W.size), write: true)
            try writeLinear(la, W.Value(truncatingIfNeeded: v))
        } else {
            writeReg(i.pointee.rm, v, w)
        }
    }
}
