import Tracing

/// Guest profiling (`matryoshka run --profile`): a recurring virtual-time event samples every
/// vCPU's RIP between slices, so the interpreter runs unchanged. The scheduler cuts slices at
/// the event's deadline, so each sample is taken after exactly one interval of virtual time.
extension VirtualMachine {
    /// Starts sampling every `intervalNanoseconds` of virtual time; the returned profile
    /// fills as `run` goes on.
    public func startProfiling(intervalNanoseconds: UInt64) -> GuestProfile {
        let p = GuestProfile(intervalNanoseconds: intervalNanoseconds)
        scheduleSample(p, at: clock.nanoseconds + intervalNanoseconds)
        return p
    }

    /// One sample per vCPU: its RIP while it runs — L2's (VMCS02's guest RIP) while L1 has a
    /// nested guest running on it, L1's otherwise — idle while it halts, waits for SIPI or the
    /// machine sleeps. Idle time skips only to the next deadline, which this event keeps
    /// within one interval; should virtual time still pass several intervals before the event
    /// runs, the sample counts once per interval passed, so shares stay shares of time.
    private func scheduleSample(_ p: GuestProfile, at due: UInt64) {
        _ = scheduler.schedule(at: due, raising: .nothing) { [unowned self] in
            let periods = (clock.nanoseconds - due) / p.intervalNanoseconds + 1
            for v in vcpus {
                let rip = v.state == .running && !sleeping ? v.guestRIP : nil
                p.record(rip: rip, level: v.inL2 ? .l2 : .l1, weight: Int(periods))
            }
            scheduleSample(p, at: due + periods * p.intervalNanoseconds)
        }
    }
}

extension VCPU {
    /// The RIP of the guest the vCPU runs: the current VMCS's guest RIP between entries
    /// (VMCS02's while L2 runs, VMCS01's otherwise), the processor's while L0 has changed it.
    public var guestRIP: UInt64 {
        guestStateStale ? processor.rip : currentVMCS[.guestRIP]
    }
}
