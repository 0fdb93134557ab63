/// MOV to and from debug registers (SDM Vol. 2B "MOV—Move to/from Debug Registers";
/// Vol. 3A §18.2 "Debug Registers").
extension Processor {
    /// DR4/DR5 alias DR6/DR7 unless CR4.DE = 1, when they raise #UD (§18.2.2).
    func debugRegisterIndex(_ r: UInt8) throws(Fault) -> UInt8 {
        if r > 7 { throw Fault.ud }
        if r == 4 || r == 5 {
            if cr4 & CR4.de != 0 { throw Fault.ud }
            return r + 2
        }
        return r
    }

    /// General detect (DR7.GD): any MOV DR raises #DB with DR6.BD set (§18.2.4).
    func checkGeneralDetect() throws(Fault) {
        if dr7 & (1 << 13) != 0 {
            throw debugException(DebugExceptionStatus(bits: 1 << 13, clearsGeneralDetect: true))
        }
    }

    func execMovToDR(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        let r = try debugRegisterIndex(i.pointee.reg)
        if nonRoot && controls.primary.contains(.movDRExiting) {
            throw instructionExit(i, .drAccess, qualification: UInt64(i.pointee.reg & 7) | (UInt64(i.pointee.rm & 15) << 8))
        }
        try checkGeneralDetect()
        var v = readReg(i.pointee.rm, i.pointee.opSize)
        if !is64 { v &= 0xFFFF_FFFF }
        switch r {
        case 0: dr.0 = v
        case 1: dr.1 = v
        case 2: dr.2 = v
        case 3: dr.3 = v
        case 6:
            if v >> 32 != 0 { throw Fault.gp(0) }
            // Reserved bits read as 1 (bits 11:4 except 11 … per Figure 18-1; RTM bit 16 is 1 without RTM).
            dr6 = (v & 0x0000_E00F) | 0xFFFF_0FF0
        case 7:
            if v >> 32 != 0 { throw Fault.gp(0) }
            dr7 = (v & 0xFFFF_2BFF) | 0x400
            watchpointsArmed = dataBreakpointsEnabled
            if watchpointsArmed { flushTLB() }
            pending |= PendingBit.eventWindow   // (re)arm breakpoint checks
        default: throw Fault.ud
        }
    }

    func execMovFromDR(_ i: Inst) throws(Fault) {
        if cpl != 0 { throw Fault.gp(0) }
        let r = try debugRegisterIndex(i.pointee.reg)
        if nonRoot && controls.primary.contains(.movDRExiting) {
            throw instructionExit(i, .drAccess, qualification: UInt64(i.pointee.reg & 7) | (1 << 4) | (UInt64(i.pointee.rm & 15) << 8))
        }
        try checkGeneralDetect()
        let v: UInt64
        switch r {
        case 0: v = dr.0
        case 1: v = dr.1
        case 2: v = dr.2
        case 3: v = dr.3
        case 6: v = dr6
        default: v = dr7
        }
        writeReg(i.pointee.rm, i.pointee.opSize, v)
    }
}
