/// The VMX-preemption timer (SDM Vol. 3C §26.5.1; started by VM entry §27.7.4; saved on exit
/// §28.3.4): it counts down by 1 each time bit X of the TSC changes through a TSC increment,
/// X = IA32_VMX_MISC[4:0] (`VMXCapabilities.preemptionTimerRate`). The TSC here is virtual and
/// advances `model.tscPerInstruction` per instruction time (retired or stalled), so the instant the timer
/// reaches zero is an instruction count: `run(vmcs:)` limits its budget to it, and the exit
/// (reason 52) is taken at that boundary with its priority (below debug traps and MTF, above
/// NMI-window exiting). Writes to IA32_TSC are not increments and do not move the timer.
struct PreemptionTimerState {
    var active = false
    /// The value VM entry loaded.
    var initial: UInt64 = 0
    /// TSC and elapsed instruction time at VM entry.
    var startTSC: UInt64 = 0
    var startRetired: UInt64 = 0
    /// `elapsedTime` (instructions plus stalls) at which the timer reaches zero.
    var deadline: UInt64 = .max
    /// The timer caused this VM exit (its saved value is 0).
    var expired = false
}

extension Processor {
    /// SDM Vol. 3C §27.7.4 — VM entry with "activate VMX-preemption timer" starts the timer
    /// from the VMX-preemption timer-value field (a value of 0 exits before the first
    /// instruction, after event injection).
    func startPreemptionTimer(_ v: VMCS) {
        var t = PreemptionTimerState()
        guard controls.pin.contains(.activateVMXPreemptionTimer) else { vmxEvents.timer = t; return }
        t.active = true
        t.initial = v[.vmxPreemptionTimerValue] & 0xFFFF_FFFF
        t.startTSC = timeStampCounter
        t.startRetired = elapsedTime
        let x = VMXCapabilities.preemptionTimerRate
        // The TSC value at which bit X has changed `initial` times, as instructions.
        let target = ((t.startTSC >> x) &+ t.initial) << x
        let perInstruction = model.tscPerInstruction
        if target <= t.startTSC {
            t.deadline = t.startRetired
        } else if perInstruction == 0 {
            t.deadline = .max
        } else {
            let ticks = target - t.startTSC
            t.deadline = t.startRetired &+ (ticks + perInstruction - 1) / perInstruction
        }
        vmxEvents.timer = t
    }

    /// The run budget limited to the instruction at which the timer expires.
    func budgetWithinPreemptionTimer(_ budget: UInt64) -> UInt64 {
        guard vmxEvents.timer.active else { return budget }
        let left = vmxEvents.timer.deadline > elapsedTime ? vmxEvents.timer.deadline - elapsedTime : 0
        return min(budget, left)
    }

    /// The timer has counted down to zero.
    var preemptionTimerExpired: Bool { vmxEvents.timer.active && elapsedTime >= vmxEvents.timer.deadline }

    /// The timer's current value: the loaded value minus the decrements so far (§28.3.4).
    var preemptionTimerValue: UInt64 {
        let t = vmxEvents.timer
        if t.expired { return 0 }
        let x = VMXCapabilities.preemptionTimerRate
        let now = t.startTSC &+ (elapsedTime &- t.startRetired) &* model.tscPerInstruction
        let decrements = (now >> x) &- (t.startTSC >> x)
        return decrements >= t.initial ? 0 : t.initial - decrements
    }

    /// SDM Vol. 3C §26.5.1 — the timer reached zero: VM exit with reason 52 (no qualification).
    func preemptionTimerExit() -> StopReason {
        vmxEvents.timer.expired = true
        return exitForEvent(.preemptionTimer)
    }

    /// The timer exit taken when `run(budget:)` returned at the deadline (or in HLT).
    func preemptionTimerExitReason() -> ExitReason {
        _ = preemptionTimerExit()
        return .preemptionTimer
    }

    /// SDM Vol. 3C §28.3.4 — with "save VMX-preemption timer value", the VM exit stores the
    /// timer's value (0 if it expired) in the VMX-preemption timer-value field.
    func savePreemptionTimer(_ v: VMCS) {
        guard vmxEvents.timer.active, v.exitControls.contains(.saveVMXPreemptionTimer) else { return }
        v[.vmxPreemptionTimerValue] = preemptionTimerValue
    }
}
