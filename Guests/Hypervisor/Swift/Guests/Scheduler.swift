/// Each processor's loop over its guests: run one for a time slice, handle its VM exits, then
/// switch to the next runnable guest on that processor (round robin).
///
/// A slice is `sliceTSC` TSC ticks of the guest's own execution, counted by the VMX-preemption
/// timer (SDM Vol. 3C §26.5.1: it counts down in VMX non-root operation at the TSC rate divided
/// by 2^IA32_VMX_MISC[4:0], so L1 loads `sliceTSC` >> that rate). With "save VMX-preemption timer
/// value" (§28.3.4) the remaining count survives the guest's other exits, so an exit-heavy guest
/// is preempted as surely as a compute-bound one. Without it, L1 measures the slice in TSC ticks
/// at each exit instead.
enum Scheduler {
    static let sliceTSC: UInt64 = 1 << 21
    static var quantum: UInt64 { max(sliceTSC >> VMXOperation.capabilities.preemptionTimerRate, 1) }

    static func run(cpu: Int) {
        var loaded = -1
        var index = nextRunnable(cpu: cpu, after: -1)
        while index >= 0 {
            let g = Guests.guest(index)
            if index != loaded {
                VMX.pointerLoad(g.pointee.vmcs)
                loaded = index
            }
            startSlice(g)
            runSlice(g)
            index = nextRunnable(cpu: cpu, after: index)
        }
    }

    /// The guest after `after` (wrapping around, itself last) that runs on `cpu` and is not
    /// finished, or −1.
    static func nextRunnable(cpu: Int, after: Int) -> Int {
        let n = Guests.count
        guard n > 0 else { return -1 }
        for k in 1...n {
            let i = (after + k + n) % n
            let g = Guests.guest(i).pointee
            if g.cpu == cpu && !g.finished { return i }
        }
        return -1
    }

    static func startSlice(_ g: UnsafeMutablePointer<Guest>) {
        g.pointee.slices += 1
        if ControlSettings.chosen.preemptionTimer { VMX.write(.preemptionTimerValue, quantum) }
        g.pointee.sliceStart = readTSC()
    }

    /// Enters the guest until its slice ends or it finishes.
    static func runSlice(_ g: UnsafeMutablePointer<Guest>) {
        let s = ControlSettings.chosen
        while true {
            let status = vmxRun(g.pointee.registers, g.pointee.launched ? 1 : 0)
            if status != 0 { VMX.check(status, g.pointee.launched ? "VMRESUME" : "VMLAUNCH") }
            g.pointee.launched = true
            let reason = UInt32(truncatingIfNeeded: VMX.read(.exitReason))
            if reason & ExitReason.entryFailure != 0 { entryFailed(g, reason) }
            let basic = reason & 0xFFFF
            if basic < UInt32(ExitReason.count) { g.pointee.exits[Int(basic)] += 1 }
            switch ExitHandler.handle(g, basic) {
            case .resume:
                if !s.savesPreemptionTimer && readTSC() &- g.pointee.sliceStart >= sliceTSC { return }
            case .endSlice:
                return
            case .finished:
                GuestPorts.flush(g)
                g.pointee.finished = true
                return
            }
        }
    }

    /// SDM Vol. 3C §27.8 ("VM-Entry Failures During or After Loading Guest State"): exit reason
    /// with bit 31 set — 33 invalid guest state, 34 MSR loading, 41 machine-check event — and
    /// the exit qualification saying which check failed.
    static func entryFailed(_ g: UnsafeMutablePointer<Guest>, _ reason: UInt32) -> Never {
        let basic = reason & 0xFFFF
        Console.line {
            Console.put("L1: VM entry to ")
            Console.put(g.pointee.name)
            Console.put(" failed: ")
            ExitReason.put(basic)
            Console.put(", exit qualification ")
            Console.decimal(VMX.read(.exitQualification))
            Console.put(10)
        }
        PowerOff.failure()
    }
}
