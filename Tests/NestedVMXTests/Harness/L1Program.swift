import X86Assembler
@testable import CPU

/// An 8-byte result L1 writes and the test reads after the run (`NestedMachine[slot]`).
struct Slot {
    let index: Int
    var address: UInt64 { L1Layout.results + UInt64(index) * 8 }
    var memory: Memory { qword[Int64(address)] }
}

/// The test L1: a Multiboot kernel, assembled with the project's X86Assembler, that switches
/// to 64-bit mode (`L1Boot`) and then runs what the test emits. A test writes L1's code in
/// order — `p.a` is the assembler, the helpers in the extensions emit the usual steps — and
/// records what L1 observes in slots; `NestedMachine` runs the image and reads them.
///
/// The helpers act for the processor `cpu` (0 for the BSP; `apMain` switches to 1), whose
/// pages are `area`.
final class L1Program {
    let a: Assembler
    /// What nested VMX offers (controls are adjusted to it as an L1 adjusts them to the
    /// capability MSRs, SDM Vol. 3D Appendix A.3).
    let capabilities: VMXCapabilities
    let cpus: Int
    var cpu = 0
    var area: CPUArea { L1Layout.area(cpu) }
    private var nextSlot = Globals.count
    /// Data emitted after the code (`finish`): tables whose contents refer to code labels.
    var trailer: [(L1Program) -> Void] = []
    /// The exit landing of each processor (host RIP of every VMCS this program sets up).
    let landings: [Label]
    let gdt = Label(), gdtr = Label(), idt = Label(), idtr = Label()
    /// Each processor's 64-bit TSS (TR and the VMCS host/guest TR base).
    let tss: [Label]
    /// The AP's 64-bit entry, its body (`apMain`) and the real-mode start-up code's bytes.
    let apEntry64 = Label(), apMainEntry = Label(), trampolineImage = Label()
    static let trampolineBytes = 256
    private var finished = false
    /// The exit log whose `runGuest` loop is being emitted (for `ifExit(number:)`).
    var activeLog: ExitLog?

    /// The harness's own slots (the first `Globals.count`).
    enum Globals {
        static let fixup = Slot(index: 0), savedRSP = Slot(index: 1), faultRecord = Slot(index: 2)
        static let unexpectedVector = Slot(index: 3), unexpectedErrorCode = Slot(index: 4), unexpectedRIP = Slot(index: 5)
        static let lastInterrupt = Slot(index: 6), interruptCount = Slot(index: 7)
        static let setupFailedField = Slot(index: 8), setupFailedFlags = Slot(index: 9)
        static let apStarted = Slot(index: 10), apDone = Slot(index: 11)
        static let count = 16
    }

    /// The GDT's limit (null, four code/data descriptors, a 16-byte TSS descriptor per processor).
    var gdtLimit: UInt64 { UInt64(5 * 8 + 16 * cpus - 1) }

    /// isa-debug-exit values: the run's end as L1 reports it.
    enum ExitCode {
        static let done: UInt8 = 0x21
        static let unexpectedFault: UInt8 = 0x7E
        static let setupFailed: UInt8 = 0x7D
    }

    init(capabilities: VMXCapabilities, cpus: Int = 1) {
        self.capabilities = capabilities
        self.cpus = cpus
        a = Assembler(mode: .bits32, origin: L1Layout.image)
        landings = (0..<cpus).map { _ in Label() }
        tss = (0..<cpus).map { _ in Label() }
        L1Boot.emitEntry(self)
    }

    func slot() -> Slot {
        defer { nextSlot += 1 }
        precondition(nextSlot < L1Layout.resultSlots)
        return Slot(index: nextSlot)
    }

    func slots(_ n: Int) -> [Slot] { (0..<n).map { _ in slot() } }

    /// Stores `value` in `s`.
    func record(_ s: Slot, _ value: Int64) {
        a.mov(rax, value)
        a.mov(s.memory, rax)
    }

    func record(_ s: Slot, from r: Register) { a.mov(s.memory, r) }

    /// Ends L1's run successfully (isa-debug-exit), then emits the tables and handlers.
    func finish() {
        exit(ExitCode.done)
        finished = true
        L1Boot.emitTrailer(self)
        for t in trailer { t(self) }
    }

    /// isa-debug-exit with `code` (the run ends with status code × 2 + 1).
    func exit(_ code: UInt8) {
        a.mov(al, Int64(code))
        a.out(port: 0xF4, al)
        a.hlt()
    }

    /// The Multiboot ELF image.
    func image() -> [UInt8] {
        precondition(finished, "finish() the program first")
        return MultibootImage.elf(a.assemble(), load: UInt32(L1Layout.image), entry: UInt32(L1Layout.image) + 12)
    }
}

/// A Multiboot 1 kernel as an ELF32 executable with one loadable segment (Multiboot
/// Specification §3.1: the header in the first 8 KiB).
enum MultibootImage {
    static let magic: UInt32 = 0x1BAD_B002, flags: UInt32 = 3

    static func header(_ a: Assembler) {
        a.dd(magic); a.dd(flags); a.dd(0 &- (magic &+ flags))
    }

    static func elf(_ segment: [UInt8], load: UInt32, entry: UInt32) -> [UInt8] {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var out: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += le16(2) + le16(3) + le32(1) + le32(entry) + le32(52) + le32(0) + le32(0)
        out += le16(52) + le16(32) + le16(1) + le16(40) + le16(0) + le16(0)
        let size = UInt32(segment.count)
        out += le32(1) + le32(0x100) + le32(load) + le32(load) + le32(size) + le32(size) + le32(7) + le32(4)
        out += [UInt8](repeating: 0, count: 0x100 - out.count)
        return out + segment
    }
}
