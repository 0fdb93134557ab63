/// L1's start-up report: what VMX offers and what L1 uses of it, and where the guests run.
enum Report {
    static func capabilities() {
        let c = VMXOperation.capabilities
        let s = ControlSettings.chosen
        Console.line {
            Console.put("L1: VMX: VMCS revision ")
            Console.hex(UInt64(c.revision))
            Console.put(", ")
            Console.decimal(c.regionSize)
            Console.put("-byte regions, ")
            Console.put(c.hasTrueControls ? "TRUE capability MSRs" : "no TRUE capability MSRs")
            Console.put("\nL1: using EPT (4-level, ")
            Console.put(s.eptMemoryType == 6 ? "write-back)" : "uncacheable)")
            Console.put(s.vpid ? ", VPID" : ", no VPID")
            Console.put(s.unrestrictedGuest ? ", unrestricted guest" : ", no unrestricted guest")
            if s.preemptionTimer {
                Console.put(", VMX-preemption timer (TSC / ")
                Console.decimal(1 << c.preemptionTimerRate)
                Console.put(s.savesPreemptionTimer ? ", value saved on exit; slices of " : ", value not saved: L1 times slices of ")
                Console.decimal(Scheduler.sliceTSC)
                Console.put(" TSC ticks)")
            } else {
                Console.put(", no VMX-preemption timer (L1 times slices of ")
                Console.decimal(Scheduler.sliceTSC)
                Console.put(" TSC ticks at exits)")
            }
            Console.put(s.efer ? ", IA32_EFER load/save" : "")
            Console.put(", I/O and MSR bitmaps\nL1: controls: pin-based ")
            Console.hex(UInt64(s.pin))
            Console.put(", primary ")
            Console.hex(UInt64(s.primary))
            Console.put(", secondary ")
            Console.hex(UInt64(s.secondary))
            Console.put(", exit ")
            Console.hex(UInt64(s.exit))
            Console.put(", entry ")
            Console.hex(UInt64(s.entry))
            Console.put(" / ")
            Console.hex(UInt64(s.entry64))
            Console.put(" (64-bit guest)\n")
        }
    }

    static func guests(cpus: Int) {
        Console.line {
            for i in 0..<Guests.count {
                let g = Guests.guest(i).pointee
                Console.put("L1: ")
                Console.put(g.name)
                Console.put(g.definition.mode == .realMode ? " (real mode)" : " (64-bit mode)")
                Console.put(" on CPU ")
                Console.decimal(UInt64(g.cpu))
                Console.put(", ")
                Console.decimal(g.definition.mappedBytes >> 10)
                Console.put(" KiB mapped")
                if g.definition.lazyEnd > g.definition.lazyStart {
                    Console.put(", ")
                    Console.hex(g.definition.lazyStart)
                    Console.put("-")
                    Console.hex(g.definition.lazyEnd - 1)
                    Console.put(" mapped on demand")
                }
                Console.put(10)
            }
            if cpus > 1 { Console.put("L1: one guest per CPU\n") } else { Console.put("L1: guests share CPU 0, switched by time slice\n") }
        }
    }
}
