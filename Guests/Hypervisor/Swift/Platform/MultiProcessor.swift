/// Bringing up the application processors with INIT-SIPI-SIPI (SDM Vol. 3A §8.4.4.1, "Typical
/// BSP Initialization Sequence"): the trampoline (Assembly/Boot.S) is copied to 8000H, each AP
/// gets INIT, then two start-up IPIs with vector 08H, and announces itself by incrementing
/// `started`. The delays are counted in PAUSE instructions, which makes them reproducible on an
/// emulator rather than exact in time.
enum MultiProcessor {
    nonisolated(unsafe) static var started: UInt32 = 1
    nonisolated(unsafe) static var finished: UInt32 = 0

    static func delay(_ pauses: Int) { for _ in 0..<pauses { cpuPause() } }

    /// Starts up to `wanted` − 1 APs from the MADT's list; returns how many CPUs now run.
    static func startApplicationProcessors(wanted: Int) -> Int {
        let acpi = ACPI.tables
        guard wanted > 1 && acpi.processorCount > 1 else { return 1 }
        Physical.copy(to: Layout.apTrampoline, from: apTrampolineCode(), count: Int(apTrampolineSize()))
        let me = LocalAPIC.currentID()
        var cpus = 1
        for i in 0..<acpi.processorCount where cpus < wanted {
            let id = ACPI.apicID(i)
            if id == me { continue }
            LocalAPIC.sendINIT(to: id)
            delay(10_000)
            for _ in 0..<2 {
                LocalAPIC.sendStartup(to: id, page: UInt8(Layout.apTrampoline >> 12))
                delay(2_000)
            }
            var spins = 0
            while startedCount() <= UInt32(cpus) && spins < 10_000_000 { cpuPause(); spins += 1 }
            if startedCount() <= UInt32(cpus) {
                Console.line {
                    Console.put("L1: the processor with APIC ID ")
                    Console.decimal(UInt64(id))
                    Console.put(" did not start\n")
                }
                break
            }
            cpus += 1
        }
        return cpus
    }

    static func startedCount() -> UInt32 { withUnsafeMutablePointer(to: &started) { atomicLoad($0) } }
    static func announceStarted() { _ = withUnsafeMutablePointer(to: &started) { atomicIncrement($0) } }
    static func finishedCount() -> UInt32 { withUnsafeMutablePointer(to: &finished) { atomicLoad($0) } }
    static func announceFinished() { _ = withUnsafeMutablePointer(to: &finished) { atomicIncrement($0) } }
}
