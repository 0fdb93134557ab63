/// Where `VirtualMachine.run` stops other than by the guest's own doing: a number of retired
/// instructions, an amount of virtual time (halted time included, since idle time is skipped
/// on the same clock), or a request from outside (a front end's signal handler).
public struct RunLimits: Sendable {
    /// Guest instructions retired by all vCPUs together.
    public var instructions: UInt64
    /// The machine's clock (`VirtualClock.nanoseconds`): instruction time, stalls, VM-exit
    /// time and skipped idle time.
    public var nanoseconds: UInt64
    /// Polled between slices; a non-nil value (a signal number) ends the run with
    /// `.interrupted(signal:)`.
    public var interruption: (@Sendable () -> Int32?)?

    public init(instructions: UInt64 = .max, nanoseconds: UInt64 = .max,
                interruption: (@Sendable () -> Int32?)? = nil) {
        self.instructions = instructions
        self.nanoseconds = nanoseconds
        self.interruption = interruption
    }
}

extension VirtualMachine {
    /// A slice budget cut so the run ends exactly at the instruction limit and no later than
    /// one instruction past the time limit.
    @inline(__always)
    func budget(_ slice: UInt64, within limits: RunLimits, now: UInt64) -> UInt64 {
        var b = slice
        if limits.instructions != .max {
            let retired = clock.instructionsRetired
            b = min(b, limits.instructions > retired ? limits.instructions - retired : 1)
        }
        if limits.nanoseconds != .max {
            let step = clock.nanosecondsPerInstruction
            b = min(b, limits.nanoseconds > now ? (limits.nanoseconds - now + step - 1) / step : 1)
        }
        return max(b, 1)
    }

    /// The outcome once a limit is reached (a request from outside first), else nil.
    func limitReached(_ limits: RunLimits) -> Outcome? { limitReached(limits, now: clock.nanoseconds) }

    /// `limitReached` with the clock just read (`now`).
    @inline(__always)
    func limitReached(_ limits: RunLimits, now: UInt64) -> Outcome? {
        if let signal = limits.interruption?() { return .interrupted(signal: signal) }
        if limits.instructions != .max && clock.instructionsRetired >= limits.instructions { return .instructionLimit }
        if limits.nanoseconds != .max && now >= limits.nanoseconds { return .timeLimit }
        return nil
    }
}
