/// MXCSR (SDM Vol. 1 §10.2.3): LDMXCSR/STMXCSR, and the per-instruction floating-point
/// environment — rounding control, DAZ, FZ, exception flags and masks — with the #XM/#UD
/// choice for unmasked exceptions (Vol. 1 §11.5.1, Vol. 3A §13.1.5 CR4.OSXMMEXCPT).
enum MXCSRBits {
    static let ie: UInt32 = 1 << 0, de: UInt32 = 1 << 1, ze: UInt32 = 1 << 2
    static let oe: UInt32 = 1 << 3, ue: UInt32 = 1 << 4, pe: UInt32 = 1 << 5
    static let daz: UInt32 = 1 << 6
    static let maskShift: UInt32 = 7
    static let rcShift: UInt32 = 13
    static let fz: UInt32 = 1 << 15
}

/// The MXCSR controls an SSE arithmetic instruction runs under, and the exception flags it raises.
struct SSEEnvironment {
    /// 0 nearest, 1 down (−∞), 2 up (+∞), 3 toward zero (SDM Vol. 1 Table 4-8).
    let rc: UInt32
    let daz: Bool
    let fz: Bool
    let masks: UInt32
    var flags: UInt32 = 0

    init(_ mxcsr: UInt32) {
        rc = (mxcsr >> MXCSRBits.rcShift) & 3
        daz = mxcsr & MXCSRBits.daz != 0
        fz = mxcsr & MXCSRBits.fz != 0
        masks = (mxcsr >> MXCSRBits.maskShift) & 0x3F
    }

    @inline(__always) var unmasked: Bool { flags & ~masks & 0x3F != 0 }
    @inline(__always) var underflowMasked: Bool { masks & MXCSRBits.ue != 0 }
}

extension Processor {
    /// Ends an SSE arithmetic instruction: ORs the raised flags into MXCSR; with an unmasked
    /// one, the destination is left unchanged and #XM (CR4.OSXMMEXCPT = 1) or #UD is raised
    /// (SDM Vol. 1 §11.5.1, §11.5.2; Vol. 3A §6.15 interrupt 19). An unmasked pre-computation
    /// exception (IE, DE, ZE) stops the operation before the post-computation checks, so only
    /// the pre-computation flags are recorded then.
    @inline(__always)
    func finishSSE(_ env: SSEEnvironment) throws(Fault) {
        let pre = MXCSRBits.ie | MXCSRBits.de | MXCSRBits.ze
        if env.unmasked {
            let unmaskedPre = env.flags & ~env.masks & pre != 0
            extended.mxcsr |= env.flags & (unmaskedPre ? pre : 0x3F)
            throw cr4 & CR4.osxmmexcpt != 0 ? Fault.xm : Fault.ud
        }
        extended.mxcsr |= env.flags & 0x3F
    }

    /// LDMXCSR m32: reserved bits (outside MXCSR_MASK) set → #GP(0) (SDM Vol. 2B LDMXCSR).
    func execLdmxcsr(_ i: Inst) throws(Fault) {
        let v = UInt32(try readMem(i, 4))
        if v & ~ExtendedState.mxcsrMask != 0 { throw Fault.gp(0) }
        extended.mxcsr = v
    }

    func execStmxcsr(_ i: Inst) throws(Fault) {
        try writeMem(i, 4, UInt64(extended.mxcsr))
    }
}
