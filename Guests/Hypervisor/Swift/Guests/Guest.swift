/// The processor mode an L2 guest starts in.
enum GuestMode {
    /// Real-address mode, through "unrestricted guest" (SDM Vol. 3C §26.6).
    case realMode
    /// 64-bit mode with the guest's own 4-level paging.
    case longMode
}

/// What an L2 guest is: its name, mode, image and guest-physical memory. Memory below
/// `mappedBytes` is mapped when the guest is created; [`lazyStart`, `lazyEnd`) is mapped a page
/// at a time on EPT violations; anything else is outside the guest's memory.
struct GuestDefinition {
    var name: StaticString
    var mode: GuestMode
    var image: Int32
    var mappedBytes: UInt64
    var lazyStart: UInt64
    var lazyEnd: UInt64

    static let count = 2

    static func definition(_ index: Int) -> GuestDefinition {
        index == 0
            ? GuestDefinition(name: "collatz16", mode: .realMode, image: 0, mappedBytes: 0x1_0000, lazyStart: 0, lazyEnd: 0)
            : GuestDefinition(name: "sieve64", mode: .longMode, image: 1, mappedBytes: 0x10_0000,
                              lazyStart: 0x40_0000, lazyEnd: 0xA0_0000)
    }
}

/// Register numbers in the save area Assembly/VMEntryExit.S loads and stores (the x86 encoding
/// order; slot 4, RSP, is unused: RSP is in the VMCS), with CR2 after them.
enum GPR {
    static let rax = 0, rcx = 1, rdx = 2, rbx = 3, rsp = 4, rbp = 5, rsi = 6, rdi = 7
    static let cr2 = 16
}

/// One L2 guest as L1 runs it.
struct Guest {
    var definition: GuestDefinition
    var image = L2Image()
    var cpu = 0
    var vpid: UInt16 = 0
    var vmcs: UInt64 = 0
    var ept = EPT()
    var eptp: UInt64 = 0
    /// The general-purpose registers and CR2 while L1 runs (GPR numbering).
    var registers: UnsafeMutablePointer<UInt64>
    /// VM exits L1 handled, by basic exit reason.
    var exits: UnsafeMutablePointer<UInt32>
    /// The guest's serial output since its last newline.
    var line: UnsafeMutablePointer<UInt8>
    var lineLength = 0
    var launched = false
    var finished = false
    var status: UInt8 = 0
    var lazyPages: UInt64 = 0
    var sliceStart: UInt64 = 0
    /// Time slices the guest was given.
    var slices: UInt64 = 0

    static let lineCapacity = 200

    var name: StaticString { definition.name }
    var totalExits: UInt64 {
        var n: UInt64 = 0
        for r in 0..<ExitReason.count { n += UInt64(exits[r]) }
        return n
    }
}

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
