import CPU
import Platform

/// Whether a machine whose vCPUs all wait can still make progress. A halted processor resumes
/// on "an enabled interrupt (including NMI and SMI), a debug exception, the BINIT# signal,
/// the INIT# signal, or the RESET# signal" (SDM Vol. 2A "HLT"); a processor waiting for a
/// SIPI needs another processor's IPI (Vol. 3A §9.4.4). With no vCPU running nobody sends
/// IPIs or changes a mask, so what can still happen is what the pending timer events raise:
/// each is followed along its wiring — an ISA IRQ through the 8259 (to the BSP's LINT0 in
/// ExtINT mode, §12.5.1) and the I/O APIC, a local APIC timer through its LVT entry — to a
/// halted vCPU that would take it: RFLAGS.IF = 1 and a vector above the APIC's processor
/// priority for a maskable interrupt (§6.8.1, §12.8.4), any RFLAGS for an NMI or INIT.
extension VirtualMachine {
    /// Some waiting vCPU can be woken now or by a pending timer event; false is a deadlock.
    /// Events of an unknown kind (`EventScheduler.Raises.unknown`) count as able to wake.
    var someVCPUCanWake: Bool {
        let halted = vcpus.filter { $0.state == .halted }
        guard !halted.isEmpty else { return false }
        if halted.contains(where: { $0.nmiPending || $0.initPending || hasDeliverableEvent($0)
                                   || $0.vmcs01[.entryInterruptionInformation] & (1 << 31) != 0 }) { return true }
        return scheduler.pendingRaises.contains { raised in
            switch raised {
            case .nothing: return false
            case .unknown: return true
            case .localAPICTimer(let cpu):
                guard cpu < vcpus.count, let vector = vcpus[cpu].lapic.timerVector else { return false }
                return wouldTake(vcpus[cpu], fixedVector: vector)
            case .isaIRQ(let irq):
                return isaIRQCanWake(irq, halted: halted)
            }
        }
    }

    /// An edge on ISA IRQ `irq`: through the 8259 to the BSP (LINT0 in ExtINT mode, or the
    /// APIC disabled), and through the I/O APIC pin `ISAInterruptRouter` maps it to.
    private func isaIRQCanWake(_ irq: Int, halted: [VCPU]) -> Bool {
        if let pic = board?.pic, pic.wouldInterrupt(onEdgeOf: irq) {
            let bsp = vcpus[0]
            if bsp.state == .halted && bsp.interruptFlag && bsp.lapic.acceptsExtINT { return true }
        }
        guard let m = ioapic.messageOnAssertion(of: ISAInterruptRouter.ioapicPin(forISA: irq)) else { return false }
        if ioapic.remapper != nil { return true }   // the remapping table decides: assume it reaches one
        let targets = apicBus.destinations(of: m)
        return halted.contains { v in
            guard targets.contains(where: { $0 === v.lapic }) else { return false }
            switch m.deliveryMode {
            case .nmi, .initialize: return true
            case .fixed, .lowestPriority: return wouldTake(v, fixedVector: m.vector)
            case .smi, .startup, .extINT: return false   // no SMM; SIPI only in wait-for-SIPI; ExtINT comes from the 8259
            }
        }
    }

    /// A halted vCPU takes a fixed interrupt: RFLAGS.IF = 1 and its APIC would present it.
    private func wouldTake(_ v: VCPU, fixedVector vector: UInt8) -> Bool {
        v.state == .halted && v.interruptFlag && v.lapic.wouldPresent(fixedVector: vector)
    }

    /// One line on why the machine is deadlocked: each vCPU's wait.
    public var deadlockDescription: String {
        if sleeping { return Self.sleepingWithoutWakeEvent }
        let waits = vcpus.map { v -> String in
            switch v.state {
            case .halted:
                let rip = "0x" + String(v.guestRIP, radix: 16)
                return v.interruptFlag
                    ? "vCPU \(v.index) halted at RIP \(rip) with no interrupt source left that could reach it"
                    : "vCPU \(v.index) halted at RIP \(rip) with interrupts disabled (RFLAGS.IF = 0) and no NMI or INIT source"
            case .waitingForSIPI: return "vCPU \(v.index) waits for a start-up IPI"
            case .shutdown: return "vCPU \(v.index) is in shutdown"
            case .running: return "vCPU \(v.index) runs"
            }
        }
        return "deadlock: " + waits.joined(separator: "; ")
    }
}
