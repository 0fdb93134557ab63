/// What the scheduler does after L1 handled a VM exit.
enum ExitAction {
    /// Re-enter the same guest.
    case resume
    /// The guest's time slice is over (its VMX-preemption timer expired).
    case endSlice
    /// The guest is done (it wrote its status to port F4H or halted).
    case finished
}

/// L1's VM-exit handler: one case per basic exit reason L1 expects (SDM Vol. 3C Appendix C);
/// anything else is reported with the exit information and stops the machine.
enum ExitHandler {
    static func handle(_ g: UnsafeMutablePointer<Guest>, _ reason: UInt32) -> ExitAction {
        switch reason {
        case ExitReason.ioInstruction:
            return GuestPorts.handle(g)
        case ExitReason.cpuid:
            GuestCPUID.handle(g)
            return .resume
        case ExitReason.rdmsr, ExitReason.wrmsr:
            EventInjection.generalProtection(g)
            return .resume
        case ExitReason.eptViolation:
            guard GuestMemory.handleViolation(g) else {
                unexpected(g, reason, "access outside the guest's memory")
            }
            return .resume
        case ExitReason.preemptionTimerExpired:
            return .endSlice
        case ExitReason.hlt:
            g.pointee.status = 0
            return .finished
        default:
            unexpected(g, reason, "L1 does not expect this exit")
        }
    }

    /// SDM Vol. 3C §28.2.4 ("Information for VM Exits Due to Instruction Execution"): the
    /// VM-exit instruction length lets L1 step over an instruction it emulated. Blocking by STI
    /// or MOV SS ends with that instruction (interruptibility state bits 1:0, §25.4.2).
    static func skipInstruction() {
        VMX.write(.guestRIP, VMX.read(.guestRIP) &+ VMX.read(.exitInstructionLength))
        let interruptibility = VMX.read(.guestInterruptibility)
        if interruptibility & 3 != 0 { VMX.write(.guestInterruptibility, interruptibility & ~3) }
    }

    /// Reports an exit L1 cannot handle — reason, qualification, guest RIP and physical
    /// address, interruption and IDT-vectoring information — and powers off.
    static func unexpected(_ g: UnsafeMutablePointer<Guest>, _ reason: UInt32, _ why: StaticString) -> Never {
        GuestPorts.flush(g)
        let qualification = VMX.read(.exitQualification)
        let rip = VMX.read(.guestRIP)
        let gpa = VMX.read(.guestPhysicalAddress)
        let interruption = VMX.read(.exitInterruptionInformation)
        let vectoring = VMX.read(.idtVectoringInformation)
        Console.line {
            Console.put("L1: unexpected VM exit from ")
            Console.put(g.pointee.name)
            Console.put(": ")
            ExitReason.put(reason)
            Console.put(", ")
            Console.put(why)
            Console.put("\nL1:   exit qualification ")
            Console.hex(qualification)
            Console.put(", guest RIP ")
            Console.hex(rip)
            Console.put(", guest-physical address ")
            Console.hex(gpa)
            Console.put(", exit interruption information ")
            Console.hex(interruption)
            Console.put(", IDT-vectoring information ")
            Console.hex(vectoring)
            Console.put(10)
        }
        PowerOff.failure()
    }
}
