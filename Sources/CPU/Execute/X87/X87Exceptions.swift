/// x87 floating-point exceptions (SDM Vol. 1 §8.4–8.7): the status-word flags, the masked
/// and unmasked responses, and #MF delivery.
///
/// A flag whose mask bit (FCW bits 5:0) is clear sets ES and B (SDM Vol. 1 §8.1.3.4); the
/// exception is then pending and is reported as #MF (vector 16, no error code) by the next
/// waiting x87 instruction or WAIT/FWAIT — before it executes, with the saved RIP pointing
/// at it — when CR0.NE = 1 (SDM Vol. 1 §8.7, Vol. 3A §6.15 "Interrupt 16"). The no-wait
/// forms (FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE) never raise it.
/// With CR0.NE = 0 (MS-DOS-compatible reporting through FERR#/IGNNE#, SDM Vol. 1 §8.7.1)
/// this model raises nothing: no FERR#/IRQ 13 is signalled and the waiting instruction
/// simply proceeds, as if IGNNE# were asserted.
enum FSW {
    static let ie: UInt16 = 1 << 0
    static let de: UInt16 = 1 << 1
    static let ze: UInt16 = 1 << 2
    static let oe: UInt16 = 1 << 3
    static let ue: UInt16 = 1 << 4
    static let pe: UInt16 = 1 << 5
    static let sf: UInt16 = 1 << 6
    static let es: UInt16 = 1 << 7
    static let c0: UInt16 = 1 << 8
    static let c1: UInt16 = 1 << 9
    static let c2: UInt16 = 1 << 10
    static let c3: UInt16 = 1 << 14
    static let busy: UInt16 = 1 << 15
    static let exceptions: UInt16 = 0x3F
    static let conditions: UInt16 = c0 | c1 | c2 | c3
}

extension Processor {
    @inline(__always) var fcw: UInt16 { extended.control.control }

    /// True when one of exception flags `e` is unmasked in FCW.
    @inline(__always) func x87Unmasked(_ e: UInt16) -> Bool { e & ~fcw & FSW.exceptions != 0 }

    /// Records exception flags `e` (and SF if given) in FSW; sets ES and B when any
    /// recorded flag is unmasked (SDM Vol. 1 §8.1.3.4).
    func x87Signal(_ e: UInt16) {
        extended.control.status |= e
        x87UpdateSummary()
    }

    /// Recomputes ES and B from the flags and masks (after FLDCW, FLDENV, FRSTOR too:
    /// unmasking a set flag makes it pending, SDM Vol. 1 §8.7.2).
    func x87UpdateSummary() {
        var s = extended.control.status
        if s & ~fcw & FSW.exceptions != 0 { s |= FSW.es | FSW.busy } else { s &= ~(FSW.es | FSW.busy) }
        extended.control.status = s
    }

    /// Sets or clears condition-code bit(s) `c`.
    @inline(__always) func x87SetCondition(_ c: UInt16, _ on: Bool) {
        if on { extended.control.status |= c } else { extended.control.status &= ~c }
    }

    /// Sets C3 C2 C1 C0 to `c` (the other FSW bits unchanged).
    @inline(__always) func x87SetConditions(_ c: UInt16) {
        extended.control.status = (extended.control.status & ~FSW.conditions) | c
    }

    /// #MF for a pending unmasked x87 exception (ES = 1) when CR0.NE = 1; run by every
    /// waiting x87 instruction, by WAIT/FWAIT and (for the SSE helper) MMX instructions.
    @inline(__always)
    func x87PendingFault() throws(Fault) {
        if extended.control.status & FSW.es != 0 && cr0 & CR0.ne != 0 { throw Fault.mf }
    }

    /// Applies the guest's masks to the exception conditions `e` of an operation whose
    /// masked result is ready: records the flags and says whether the result may be
    /// delivered. An unmasked IE, DE or ZE suppresses the result (SDM Vol. 1 §8.5.1–3: the
    /// destination and TOP are unchanged) and the conditions a masked run would have found
    /// after it (an unmasked #D stops before #Z, #O, #U, #P are detected); unmasked OE/UE/PE
    /// deliver a result (the caller bias-adjusts for OE/UE, SDM Vol. 1 §8.5.4–5).
    /// A suppressed result also clears C1 (as the host x87 does).
    func x87Deliver(_ e: UInt16) -> Bool {
        if e == 0 { return true }
        var recorded: UInt16 = 0
        if e & FSW.ie != 0 && x87Unmasked(FSW.ie) { recorded = e & (FSW.ie | FSW.sf | FSW.de) }
        else if e & FSW.de != 0 && x87Unmasked(FSW.de) { recorded = e & (FSW.ie | FSW.sf | FSW.de) }
        else if e & FSW.ze != 0 && x87Unmasked(FSW.ze) { recorded = e & (FSW.ie | FSW.sf | FSW.de | FSW.ze) }
        else { x87Signal(e); return true }
        x87Signal(recorded)
        x87SetCondition(FSW.c1, false)
        return false
    }
}
