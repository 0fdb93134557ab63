/// Basic exit reasons (SDM Vol. 3C Appendix C, Table C-1) and their names.
enum ExitReason {
    static let count = 80
    static let exceptionOrNMI: UInt32 = 0
    static let tripleFault: UInt32 = 2
    static let cpuid: UInt32 = 10
    static let hlt: UInt32 = 12
    static let ioInstruction: UInt32 = 30
    static let rdmsr: UInt32 = 31
    static let wrmsr: UInt32 = 32
    static let eptViolation: UInt32 = 48
    static let eptMisconfiguration: UInt32 = 49
    static let preemptionTimerExpired: UInt32 = 52
    /// Bit 31 of the exit-reason field: the VM entry failed (§28.2.1).
    static let entryFailure: UInt32 = 1 << 31

    /// Writes "exit reason N (name)".
    static func put(_ reason: UInt32) {
        Console.put("exit reason ")
        Console.decimal(UInt64(reason))
        Console.put(" (")
        Console.put(name(reason))
        Console.put(")")
    }

    static func name(_ reason: UInt32) -> StaticString {
        switch reason {
        case 0: return "exception or NMI"
        case 1: return "external interrupt"
        case 2: return "triple fault"
        case 3: return "INIT signal"
        case 4: return "start-up IPI"
        case 5: return "I/O SMI"
        case 6: return "other SMI"
        case 7: return "interrupt window"
        case 8: return "NMI window"
        case 9: return "task switch"
        case 10: return "CPUID"
        case 11: return "GETSEC"
        case 12: return "HLT"
        case 13: return "INVD"
        case 14: return "INVLPG"
        case 15: return "RDPMC"
        case 16: return "RDTSC"
        case 17: return "RSM"
        case 18: return "VMCALL"
        case 19: return "VMCLEAR"
        case 20: return "VMLAUNCH"
        case 21: return "VMPTRLD"
        case 22: return "VMPTRST"
        case 23: return "VMREAD"
        case 24: return "VMRESUME"
        case 25: return "VMWRITE"
        case 26: return "VMXOFF"
        case 27: return "VMXON"
        case 28: return "control-register access"
        case 29: return "MOV DR"
        case 30: return "I/O instruction"
        case 31: return "RDMSR"
        case 32: return "WRMSR"
        case 33: return "VM-entry failure: invalid guest state"
        case 34: return "VM-entry failure: MSR loading"
        case 36: return "MWAIT"
        case 37: return "monitor trap flag"
        case 39: return "MONITOR"
        case 40: return "PAUSE"
        case 41: return "VM-entry failure: machine-check event"
        case 43: return "TPR below threshold"
        case 44: return "APIC access"
        case 45: return "virtualized EOI"
        case 46: return "access to GDTR or IDTR"
        case 47: return "access to LDTR or TR"
        case 48: return "EPT violation"
        case 49: return "EPT misconfiguration"
        case 50: return "INVEPT"
        case 51: return "RDTSCP"
        case 52: return "VMX-preemption timer expired"
        case 53: return "INVVPID"
        case 54: return "WBINVD or WBNOINVD"
        case 55: return "XSETBV"
        case 56: return "APIC write"
        case 57: return "RDRAND"
        case 58: return "INVPCID"
        case 59: return "VMFUNC"
        case 60: return "ENCLS"
        case 61: return "RDSEED"
        case 62: return "page-modification log full"
        case 63: return "XSAVES"
        case 64: return "XRSTORS"
        case 65: return "PCONFIG"
        case 66: return "SPP-related event"
        case 67: return "UMWAIT"
        case 68: return "TPAUSE"
        case 69: return "LOADIWKEY"
        case 70: return "ENCLV"
        case 72: return "ENQCMD PASID translation failure"
        case 73: return "ENQCMDS PASID translation failure"
        case 74: return "bus lock"
        case 75: return "instruction timeout"
        case 76: return "SEAMCALL"
        case 77: return "TDCALL"
        default: return "(reserved)"
        }
    }
}
