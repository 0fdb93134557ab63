/// A pointer to the decoded instruction being executed.
typealias Inst = UnsafePointer<DecodedInstruction>

/// Why `Processor.run` returned.
public enum StopReason: Equatable, Sendable {
    /// The instruction budget ran out; the processor is between instructions.
    case budgetExhausted
    /// HLT (or MWAIT) outside VMX non-root operation: waiting for an interrupt.
    case halted
    /// Triple fault outside VMX non-root operation (SDM Vol. 3A §6.15, interrupt 8).
    case shutdown
    /// A VM exit; `pendingExit` describes it.
    case vmExit
    /// The platform asked the processor to stop after the current instruction
    /// (`requestStop()`: e.g. a device ending the run, or a timer needing service).
    case stopRequested
    /// L0 asked to regain control when an interrupt or NMI window opens
    /// (`requestInterruptWindow()`/`requestNMIWindow()`), and it has.
    case interruptWindow
}

/// The interpreter's run loop (the hot path): fetches decoded blocks (`InstructionFetch`),
/// follows their links (`BlockChaining`), runs hot ones as host code (`TranslatedExecution`)
/// and executes the rest an instruction at a time (`dispatch`).
extension Processor {
    /// Runs guest code until `budget` instructions have retired, the processor halts or
    /// shuts down, or (in VMX non-root operation) a VM exit occurs.
    @inline(never)
    public func run(budget: UInt64) -> StopReason {
        // Root-mode execution changes state no VMCS holds.
        if !nonRoot {
            residentVMCS = nil
            selectRootContextIfDeferred()
        }
        let end = instructionsRetired &+ budget
        // The block just completed, for following its cached successor links (-1: none).
        var previous: Int32 = -1
        while true {
            if pending != 0 {
                previous = -1
                if stopRequested {
                    stopRequested = false
                    pending &= ~PendingBit.stop
                    return .stopRequested
                }
                if let stop = handlePending() { return stop }
            }
            if activity != .active { return activity == .shutdown ? .shutdown : .halted }
            if instructionsRetired >= end { return .budgetExhausted }
            do throws(Fault) {
                var inst: Inst
                var n: Int
                var b: Int32 = -1
                if previous >= 0 { b = linkedSuccessor(of: previous) }
                if b < 0 {
                    b = try fetchBlock()
                    if previous >= 0 && b >= 0 { link(previous, to: b) }
                }
                previous = -1
                if b >= 0 {
                    let blk = decodeCache.blocks + Int(b)
                    inst = UnsafePointer(decodeCache.instructions + Int(blk.pointee.start))
                    n = Int(blk.pointee.count)
                    let left = end &- instructionsRetired
                    if UInt64(n) > left { n = Int(left) }
                    else {
                        previous = b
                        if translationEnabled && pending == 0 {
                            if blk.pointee.code == nil { considerTranslation(blk) }
                            // (A crossing tail runs one instruction past the block.)
                            if let code = blk.pointee.code, UInt64(n) + UInt64(blk.pointee.tail) <= left {
                                let (last, done) = runTranslated(b, blk, code, budget: left)
                                if last != b {
                                    // Chained into other blocks: continue in the last one.
                                    previous = last
                                    let lb = decodeCache.blocks + Int(last)
                                    inst = UnsafePointer(decodeCache.instructions + Int(lb.pointee.start))
                                    n = Int(lb.pointee.count)
                                }
                                inst += done
                                n -= done
                                // Left at an instruction (a TLB miss, a form not translated):
                                // run just that one here; the rest of the block is found as a
                                // block of its own, so it too runs translated once hot.
                                if n > 1 { n = 1 }
                            }
                        }
                    }
                } else {
                    try decodeSingle()
                    inst = UnsafePointer(scratchInstruction)
                    n = 1
                }
                while n > 0 {
                    nextRIP = (rip &+ UInt64(inst.pointee.length)) & ripMask
                    try dispatch(&inst, &n)
                    rip = nextRIP
                    instructionsRetired &+= 1
                    if pending != 0 { previous = -1; break }
                    inst += 1
                    n -= 1
                }
            } catch {
                previous = -1
                if let stop = handleFault(error) { return stop }
            }
        }
    }

    /// Turns a fault raised by an instruction into exception delivery, a VM exit or a stop.
    func handleFault(_ f: Fault) -> StopReason? {
        switch f {
        case .exception(let e):
            // An instruction L0 emulates ends with its exception delivered to the guest.
            if emulatingForL0 { return raise(e) ?? .budgetExhausted }
            return raise(e)
        case .vmExit:
            return .vmExit
        case .shutdown:
            activity = .shutdown
            return .shutdown
        }
    }
}
