/// L1: a guest hypervisor that runs two L2 guests under VMX (docs/GUEST_HYPERVISOR.md).
///
/// The bootstrap processor sets up the console, memory, descriptor tables and ACPI, checks for
/// VMX and chooses the controls, enters VMX root operation, starts an application processor
/// when there is one, creates the guests and runs its share of them; then it waits for the
/// others, prints what each guest cost in VM exits and powers off.
@_cdecl("l1_main")
public func l1Main(_ magic: UInt32, _ information: UInt32) {
    Console.initialize()
    Console.say("Matryoshka L1: a guest hypervisor in Embedded Swift")
    PageAllocator.initialize(memoryTop: Multiboot.memoryTop(magic: magic, information: information))
    idtBuild()
    idtLoad()
    TaskState.allocate()
    TaskState.load(cpu: 0)
    ACPI.discover()
    guard VMXOperation.supported else {
        Console.say("L1: this processor has no VMX (CPUID.1:ECX[5] = 0), so L1 cannot run its guests. It needs VT-x: Matryoshka's nested VMX, Bochs with cpu: model=corei7_skylake_x, or a VT-x host.")
        PowerOff.failure()
    }
    VMXOperation.capabilities = VMXCapabilities.read()
    guard let settings = ControlSettings.choose(VMXOperation.capabilities) else { PowerOff.failure() }
    ControlSettings.chosen = settings
    Report.capabilities()
    VMXOperation.enter(cpu: 0)
    Bitmaps.create()
    let cpus = MultiProcessor.startApplicationProcessors(wanted: GuestDefinition.count)
    Guests.create(cpus: cpus)
    Report.guests(cpus: cpus)
    Startup.release()
    runGuests(cpu: 0)
    while MultiProcessor.finishedCount() < UInt32(cpus - 1) { cpuPause() }
    ExitStatistics.report()
    PowerOff.success()
}

/// An application processor, in 64-bit mode on its own stack (Assembly/Boot.S).
@_cdecl("ap_main")
public func apMain(_ cpu: UInt32) {
    idtLoad()
    TaskState.load(cpu: Int(cpu))
    MultiProcessor.announceStarted()
    Startup.wait()
    VMXOperation.enter(cpu: Int(cpu))
    runGuests(cpu: Int(cpu))
    MultiProcessor.announceFinished()
    haltForever()
}

/// Sets up the VMCS of each guest this processor runs, runs them to the end, clears their
/// VMCSs and leaves VMX operation.
func runGuests(cpu: Int) {
    for i in 0..<Guests.count where Guests.guest(i).pointee.cpu == cpu {
        VMCSSetup.initialize(Guests.guest(i))
    }
    Scheduler.run(cpu: cpu)
    for i in 0..<Guests.count where Guests.guest(i).pointee.cpu == cpu {
        VMX.clear(Guests.guest(i).pointee.vmcs)
    }
    VMX.off()
}

/// The moment the BSP has created the guests; APs wait for it before touching them.
enum Startup {
    nonisolated(unsafe) static var released: UInt32 = 0
    static func release() { _ = withUnsafeMutablePointer(to: &released) { atomicIncrement($0) } }
    static func wait() { while withUnsafeMutablePointer(to: &released, { atomicLoad($0) }) == 0 { cpuPause() } }
}

/// An exception in L1 itself (Assembly/Exceptions.S): a bug, reported before powering off.
/// #UD is what a failed Swift runtime check (overflow, bounds, precondition) raises.
@_cdecl("l1_exception")
public func l1Exception(_ vector: UInt64, _ errorCode: UInt64, _ rip: UInt64, _ cr2: UInt64) {
    Console.lock = SpinLock()
    Console.line {
        Console.put("L1: exception ")
        Console.decimal(vector)
        Console.put(vector == 6 ? " (#UD: a Swift runtime check failed)" : vector == 13 ? " (#GP)" : vector == 14 ? " (#PF)" : "")
        Console.put(" at RIP ")
        Console.hex(rip)
        Console.put(", error code ")
        Console.hex(errorCode)
        Console.put(", CR2 ")
        Console.hex(cr2)
        Console.put(10)
    }
    PowerOff.failure()
}
