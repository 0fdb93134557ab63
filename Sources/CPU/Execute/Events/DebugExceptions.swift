/// Single-step and instruction-breakpoint debug exceptions (SDM Vol. 3A §18.3.1 "Debug
/// Exception (#DB)": single-step trap §18.3.1.4, instruction-breakpoint fault §18.3.1.1, RF;
/// §6.8.3 MOV SS/POP SS delaying them). Checked at instruction boundaries only while TF is
/// set or an execute breakpoint is enabled in DR7, so the hot loop pays nothing otherwise.
/// Data breakpoints are checked on the slow memory path while armed; I/O breakpoints are not
/// implemented.
/// What the #DB being raised reports in DR6 (B3–B0, BD 13, BS 14) — applied when it is
/// delivered through the IDT. A #DB that causes a VM exit instead reports the bits in the exit
/// qualification and leaves DR6 and DR7.GD alone (SDM Vol. 3C §28.1, §28.2.1 Table 28-1).
struct DebugExceptionStatus {
    var bits: UInt64 = 0
    /// B3–B0 are replaced (breakpoint matches) rather than added to.
    var replacesMatches = false
    /// General detect: DR7.GD is cleared on delivery (§18.2.4).
    var clearsGeneralDetect = false
}

extension Processor {
    /// Raises #DB reporting `status` (see `DebugExceptionStatus`).
    func debugException(_ status: DebugExceptionStatus) -> Fault {
        debugStatus = status
        return .exception(.exception(Vector.db))
    }

    /// Raises the exception of fault `f` at a boundary.
    func raiseFault(_ f: Fault) -> StopReason? {
        if case .exception(let e) = f { return raise(e) }
        return handleFault(f)
    }

    /// §18.3.1 — DR6 and DR7 as delivery of the #DB raised with `debugStatus` leaves them.
    func commitDebugStatus() {
        let s = debugStatus
        debugStatus = DebugExceptionStatus()
        dr6 = s.replacesMatches ? (dr6 & ~0xF) | s.bits : dr6 | s.bits
        if s.clearsGeneralDetect { dr7 &= ~(1 << 13) }
    }

    /// DR7 enables an execute (R/W = 00) breakpoint in some DRn.
    var executeBreakpointsEnabled: Bool {
        if dr7 & 0xFF == 0 { return false }     // no L/G enable bit (the usual case: checked every entry)
        for n in 0..<4 where dr7 & (3 << (2 * UInt64(n))) != 0 && (dr7 >> (16 + 4 * UInt64(n))) & 3 == 0 {
            return true
        }
        return false
    }

    /// DR7 enables a data breakpoint (R/W = 01 write, 11 read/write) in some DRn.
    var dataBreakpointsEnabled: Bool {
        for n in 0..<4 where dr7 & (3 << (2 * UInt64(n))) != 0 && (dr7 >> (16 + 4 * UInt64(n))) & 1 == 1 {
            return true
        }
        return false
    }

    /// Whether per-instruction debug checks are needed now.
    var debugChecksNeeded: Bool {
        flagsOther & RFLAGS.tf != 0 || singleStepPending || executeBreakpointsEnabled || watchpointsArmed
            || dataBreakpointHits != 0
    }

    /// A data access of `size` bytes at `la` (SDM Vol. 3A §18.2.5 "Breakpoint Field Recognition":
    /// the breakpoint address is aligned to its length; any overlapping byte matches).
    func noteDataAccess(_ la: UInt64, _ size: Int, write: Bool) {
        let regs = [dr.0, dr.1, dr.2, dr.3]
        for n in 0..<4 where dr7 & (3 << (2 * UInt64(n))) != 0 {
            let rw = (dr7 >> (16 + 4 * UInt64(n))) & 3
            guard rw == 3 || (rw == 1 && write) else { continue }
            let lenCode = (dr7 >> (18 + 4 * UInt64(n))) & 3
            let len: UInt64 = [1, 2, 8, 4][Int(lenCode)]
            let start = regs[n] & ~(len - 1)
            if la < start &+ len && start < la &+ UInt64(size) { dataBreakpointHits |= 1 << UInt64(n) }
        }
        if dataBreakpointHits != 0 { pending |= PendingBit.eventWindow }
    }

    /// Breakpoint matches (DR6 B3–B0) for an instruction fetch at linear address `la`.
    func executeBreakpointHits(_ la: UInt64) -> UInt64 {
        var hits: UInt64 = 0
        let regs = [dr.0, dr.1, dr.2, dr.3]
        for n in 0..<4 where dr7 & (3 << (2 * UInt64(n))) != 0 && (dr7 >> (16 + 4 * UInt64(n))) & 3 == 0 {
            if regs[n] == la { hits |= 1 << UInt64(n) }
        }
        return hits
    }

    /// Runs at an instruction boundary while `debugChecksNeeded`: delivers the single-step
    /// trap of the instruction that just completed, arms it for the next one, and raises an
    /// instruction-breakpoint fault before the next instruction executes. SDM Vol. 3B
    /// §18.3.1.4: the instruction that sets TF (POPF, IRET) is not itself trapped; the one
    /// after it is.
    func debugBoundary() -> StopReason?? {
        if watchpointsArmed { tlb.flushAll() }          // keep every data access on the checked path
        // MOV SS / POP SS delay data-breakpoint traps too (§6.8.3).
        if dataBreakpointHits != 0 && !interruptShadow.contains(.movSS) {
            // Data breakpoints are traps: reported after the instruction, with any single-step.
            var status = DebugExceptionStatus(bits: dataBreakpointHits & 0xF, replacesMatches: true)
            dataBreakpointHits = 0
            if singleStepPending && !interruptShadow.contains(.movSS) {
                singleStepPending = false
                status.bits |= 1 << 14
            }
            return .some(raiseFault(debugException(status)))
        }
        // Not at the boundary that armed it: the instruction after that one has not run yet.
        if singleStepPending && singleStepArmedAt != instructionsRetired {
            // MOV SS / POP SS delay a single-step trap by one instruction (§6.8.3).
            if !interruptShadow.contains(.movSS) {
                singleStepPending = false
                return .some(raiseFault(debugException(DebugExceptionStatus(bits: 1 << 14))))   // BS
            }
        }
        if flagsOther & RFLAGS.tf != 0 && !singleStepPending {
            singleStepPending = true
            singleStepArmedAt = instructionsRetired
        }
        if executeBreakpointsEnabled {
            // RF set by the IRET that just completed suppresses this instruction's breakpoints;
            // any other RF is stale (processors clear it as each instruction completes).
            let suppressed = flagsOther & RFLAGS.rf != 0 && rfLoadedAtRetired == instructionsRetired
            flagsOther &= ~RFLAGS.rf
            if !suppressed {
                let la = segments[SegmentRegisterIndex.cs.rawValue].base &+ rip
                let hits = executeBreakpointHits(is64 ? la : la & 0xFFFF_FFFF)
                if hits != 0 {
                    return .some(raiseFault(debugException(DebugExceptionStatus(bits: hits, replacesMatches: true))))
                }
            }
        }
        return nil
    }
}
