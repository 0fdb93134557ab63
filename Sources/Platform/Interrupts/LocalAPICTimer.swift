/// The local APIC timer (SDM Vol. 3A §12.5.4): one-shot, periodic and TSC-deadline modes,
/// counting the 1 GHz virtual bus clock through the divide configuration register.
/// The current count is computed from virtual time, never ticked.
final class LocalAPICTimer {
    unowned(unsafe) var owner: LocalAPIC!
    let scheduler: EventScheduler
    private(set) var initialCount: UInt32 = 0
    private(set) var divideConfiguration: UInt32 = 0
    private(set) var tscDeadline: UInt64 = 0
    /// Virtual ns when the current period started, and the armed expiry event.
    private var periodStart: UInt64 = 0
    private var event: EventScheduler.TimerID?

    init(scheduler: EventScheduler) { self.scheduler = scheduler }

    enum Mode: UInt32 { case oneShot = 0, periodic = 1, tscDeadline = 2, reserved = 3 }
    var mode: Mode { Mode(rawValue: (owner.lvt[1] >> 17) & 3) ?? .oneShot }

    /// Divide configuration bits 3,1,0 → divisor (Figure 12-10): 000 → 2 … 110 → 128, 111 → 1.
    var divisor: UInt64 {
        let code = (divideConfiguration & 3) | ((divideConfiguration >> 1) & 4)
        return code == 7 ? 1 : UInt64(2) << UInt64(code)
    }

    func reset() {
        cancel()
        initialCount = 0
        divideConfiguration = 0
        tscDeadline = 0
    }

    private func cancel() {
        if let e = event { scheduler.cancel(e) }
        event = nil
    }

    private var now: UInt64 { scheduler.time.nanoseconds }

    /// The current-count register: counts down from the initial count (§12.5.4).
    var currentCount: UInt32 {
        // A one-shot count that reached zero stays there, even if the LVT switches to periodic.
        guard initialCount != 0, mode != .tscDeadline, event != nil else { return 0 }
        let ticks = (now &- periodStart) / divisor
        let initial = UInt64(initialCount)
        switch mode {
        case .periodic: return UInt32(initial - ticks % initial)
        default: return ticks >= initial ? 0 : UInt32(initial - ticks)
        }
    }

    /// Writing the initial count starts (or with 0 stops) the count-down.
    func setInitialCount(_ v: UInt32) {
        guard mode != .tscDeadline else { return }   // ignored in TSC-deadline mode
        cancel()
        initialCount = v
        guard v != 0 else { return }
        periodStart = now
        arm()
    }

    func setDivideConfiguration(_ v: UInt32) {
        // Keep the elapsed count consistent: restart the current period at the new rate.
        let remaining = currentCount
        divideConfiguration = v
        if event != nil && remaining != 0 {
            cancel()
            periodStart = now &- (UInt64(initialCount) &- UInt64(remaining)) &* divisor
            arm()
        }
    }

    private func arm() {
        let deadline = periodStart &+ UInt64(initialCount) &* divisor
        event = scheduler.schedule(at: deadline, raising: .localAPICTimer(cpu: owner.cpuIndex)) { [unowned self] in self.expire() }
    }

    private func expire() {
        event = nil
        owner.fireLocal(1)
        if mode == .periodic && initialCount != 0 {
            periodStart = periodStart &+ UInt64(initialCount) &* divisor
            arm()
        }
    }

    /// A write to the LVT timer entry: switching to or from TSC-deadline mode disarms the
    /// timer (§12.5.4.1).
    func lvtChanged(old: UInt32, new: UInt32) {
        let oldMode = (old >> 17) & 3, newMode = (new >> 17) & 3
        guard oldMode != newMode else { return }
        if oldMode == Mode.tscDeadline.rawValue || newMode == Mode.tscDeadline.rawValue {
            cancel()
            initialCount = 0
            tscDeadline = 0
        }
    }

    /// IA32_TSC_DEADLINE write: arms the timer when in TSC-deadline mode (0 disarms); writes
    /// in other modes are ignored (§12.5.4.1).
    func setTSCDeadline(_ value: UInt64, tscNow: UInt64, tscHz: UInt64) {
        guard mode == .tscDeadline else { return }
        cancel()
        tscDeadline = value
        guard value != 0 else { return }
        let delta = value > tscNow ? value - tscNow : 0
        let ns = tscHz == 0 ? delta : PIT8254.scaled(delta, 1_000_000_000, tscHz)
        event = scheduler.schedule(at: now &+ ns, raising: .localAPICTimer(cpu: owner.cpuIndex)) { [unowned self] in
            self.event = nil
            self.tscDeadline = 0
            self.owner.fireLocal(1)
        }
    }
}
