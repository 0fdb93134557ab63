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
