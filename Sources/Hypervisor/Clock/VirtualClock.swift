import CPU
import Foundation
import Platform

/// The machine's time base. By default time is virtual: it advances with the instructions the
/// vCPUs retire (one nanosecond per instruction, summed over vCPUs, which run round robin),
/// their stalls (PAUSE's latency, page-walk reads: `Processor.stallTime`), plus the idle time skipped when
/// every vCPU waits, so two runs of the same guest see
/// identical clocks and produce identical output. Each VM exit L0 handles also costs virtual
/// time (`vmExitNanoseconds`), as an exit and re-entry cost real time on hardware, so guests
/// that time exits (kvm-unit-tests' vmexit) see a plausible cost and finish in bounded
/// iterations. `.host` follows the host's monotonic clock.
public final class VirtualClock: TimeSource {
    public enum Source: String, Sendable, CaseIterable {
        case virtual
        case host
    }

    public let source: Source
    /// Virtual nanoseconds per retired instruction (a 1 GIPS virtual processor).
    public let nanosecondsPerInstruction: UInt64 = 1
    public let tscHz: UInt64
    /// The vCPUs' processors, unretained: the VM's vCPUs own them and outlive the clock's
    /// use of them, and the clock is read several times per VM exit.
    private var processors: [Unmanaged<Processor>] = []
    /// Time skipped while all vCPUs were halted (virtual mode).
    public private(set) var idleNanoseconds: UInt64 = 0
    /// Virtual time charged for the VM exits L0 handled.
    private var exitNanoseconds: UInt64 = 0
    /// The virtual cost of one VM exit and the entry that resumes the guest: 1 µs, the order
    /// of a hardware VMX round trip with a KVM-class handler.
    public let vmExitNanoseconds: UInt64 = 1_000
    private let hostStart = DispatchTime.now().uptimeNanoseconds

    public init(source: Source = .virtual, tscHz: UInt64 = 2_000_000_000) {
        self.source = source
        self.tscHz = tscHz
    }

    /// The only processor while there is one (the clock is read five times per exit: a sum
    /// over one element without the loop).
    private var sole: Unmanaged<Processor>?

    func attach(_ p: Processor) {
        processors.append(.passUnretained(p))
        sole = processors.count == 1 ? processors[0] : nil
    }

    /// Instructions retired by all vCPUs.
    public var instructionsRetired: UInt64 {
        if let p = sole { return p._withUnsafeGuaranteedRef { $0.instructionsRetired } }
        return processors.withUnsafeBufferPointer { ps in
            var n: UInt64 = 0
            for p in ps { n &+= p._withUnsafeGuaranteedRef { $0.instructionsRetired } }
            return n
        }
    }

    /// Instruction times of all vCPUs: retired instructions plus their stalls (PAUSE).
    @inline(__always)
    var elapsedInstructionTime: UInt64 {
        if let p = sole { return p._withUnsafeGuaranteedRef { $0.instructionsRetired &+ $0.stallTime } }
        return processors.withUnsafeBufferPointer { ps in
            var t: UInt64 = 0
            // `Processor.elapsedTime`, field by field: the getter is not inlinable across modules.
            for p in ps { t &+= p._withUnsafeGuaranteedRef { $0.instructionsRetired &+ $0.stallTime } }
            return t
        }
    }

    @inline(__always)
    public var nanoseconds: UInt64 {
        switch source {
        case .virtual: return elapsedInstructionTime &* nanosecondsPerInstruction &+ idleNanoseconds &+ exitNanoseconds
        case .host: return DispatchTime.now().uptimeNanoseconds &- hostStart
        }
    }

    /// Charges one VM exit's handling to virtual time.
    func chargeVMExit() {
        if source == .virtual { exitNanoseconds &+= vmExitNanoseconds }
    }

    /// Moves virtual time forward to `deadline` while every vCPU is idle.
    func skipIdle(to deadline: UInt64) {
        let now = nanoseconds
        if source == .virtual && deadline > now { idleNanoseconds &+= deadline - now }
    }

    /// The TSC of vCPU `cpu` as that processor computes it.
    public func tsc(cpu: Int) -> UInt64 {
        guard cpu >= 0 && cpu < processors.count else { return 0 }
        return processors[cpu].takeUnretainedValue().timeStampCounter
    }

    /// TSC ticks per virtual nanosecond (the model's TSC rate over a 1 GIPS processor).
    var ticksPerNanosecond: UInt64 { max(tscHz / 1_000_000_000, 1) }

    /// Before a vCPU runs: align its TSC with machine time, so every vCPU's TSC is machine time
    /// × the TSC rate at the start of its slice and advances with its own instructions
    /// (guest-written TSC adjustments stay on top).
    func synchronizeTSC(_ p: Processor, now: UInt64) {
        let target = now &* ticksPerNanosecond
        p.timeStampOffset = target &- p.elapsedTime &* p.model.tscPerInstruction
    }

    /// Nanoseconds until the given TSC value is reached on `cpu` (0 if already past).
    public func nanoseconds(untilTSC value: UInt64, cpu: Int) -> UInt64 {
        let now = tsc(cpu: cpu)
        guard value > now else { return 0 }
        return PIT8254.scaled(value - now, 1_000_000_000, max(tscHz, 1))
    }
}
