/// All L2 guests, in one page-allocated table every processor reads.
enum Guests {
    nonisolated(unsafe) static var table: UnsafeMutablePointer<Guest>? = nil
    nonisolated(unsafe) static var count = 0

    static func guest(_ i: Int) -> UnsafeMutablePointer<Guest> { table! + i }

    /// Creates every guest (BSP, before the APs run any): its memory, EPT, VMCS region, save
    /// area and counters. Guest i runs on CPU i mod `cpus`; VPIDs are 1, 2, …
    static func create(cpus: Int) {
        precondition(MemoryLayout<Guest>.stride * GuestDefinition.count <= 4096)
        table = Physical.pointer(PageAllocator.allocate(), as: Guest.self)
        for i in 0..<GuestDefinition.count {
            let d = GuestDefinition.definition(i)
            if d.mode == .realMode && !ControlSettings.chosen.unrestrictedGuest {
                Console.line {
                    Console.put("L1: no \"unrestricted guest\" in this VMX: skipping ")
                    Console.put(d.name)
                    Console.put(" (real mode)\n")
                }
                continue
            }
            let scratch = PageAllocator.allocate()
            var g = Guest(definition: d,
                          registers: Physical.pointer(scratch, as: UInt64.self),
                          exits: Physical.pointer(scratch + 256, as: UInt32.self),
                          line: Physical.pointer(scratch + 1024, as: UInt8.self))
            g.cpu = count % cpus
            g.vpid = ControlSettings.chosen.vpid ? UInt16(count + 1) : 0
            g.vmcs = VMXOperation.newVMCSRegion()
            GuestMemory.create(&g)
            (table! + count).initialize(to: g)
            count += 1
        }
    }
}
