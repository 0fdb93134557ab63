import X86Assembler

/// Small Multiboot kernels (flat 32-bit protected mode, as Multiboot enters them) for the
/// command-line tests, each with the addresses the expected messages name.
enum TestGuests {
    static let load: UInt32 = 0x10_0000

    /// An assembler positioned after the Multiboot header (page-aligned modules, memory info).
    static func kernel() -> (Assembler, entry: UInt32) {
        let a = Assembler(mode: .bits32, origin: UInt64(load))
        let magic: UInt32 = 0x1BAD_B002, flags: UInt32 = 3
        a.dd(magic); a.dd(flags); a.dd(0 &- (magic &+ flags))
        return (a, UInt32(a.here))
    }

    /// An ELF32 executable with one PT_LOAD segment at `load`.
    static func elf(_ a: Assembler, entry: UInt32) -> [UInt8] {
        let seg = a.assemble()
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var out: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += le16(2) + le16(3) + le32(1) + le32(entry) + le32(52) + le32(0) + le32(0)
        out += le16(52) + le16(32) + le16(1) + le16(40) + le16(0) + le16(0)
        out += le32(1) + le32(0x100) + le32(load) + le32(load) + le32(UInt32(seg.count)) + le32(UInt32(seg.count)) + le32(7) + le32(4)
        out += [UInt8](repeating: 0, count: 0x100 - out.count)
        return out + seg
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// Writes `value` to isa-debug-exit (port F4H).
    static func exit(_ value: Int64) -> [UInt8] {
        let (a, entry) = kernel()
        a.mov(al, value); a.out(port: 0xF4, al); a.hlt()
        return elf(a, entry: entry)
    }

    /// Prints `text` on COM1, then writes `value` to isa-debug-exit.
    static func print(_ text: String, exit value: Int64) -> [UInt8] {
        let (a, entry) = kernel()
        a.mov(dx, 0x3F8)
        for ch in text.utf8 { a.mov(al, Int64(ch)); a.out(dx, al) }
        a.mov(al, value); a.out(port: 0xF4, al); a.hlt()
        return elf(a, entry: entry)
    }

    /// ACPI S5 through PM1_CNT (SLP_TYP 0, SLP_EN).
    static func powerOff() -> [UInt8] {
        let (a, entry) = kernel()
        a.mov(dx, 0x604); a.mov(ax, 0x2000); a.out(dx, ax); a.hlt()
        return elf(a, entry: entry)
    }

    /// LIDT of an empty IDT, then INT3: #BP, #GP, #DF cannot be delivered — a triple fault at
    /// the INT3.
    static func tripleFault() -> (image: [UInt8], rip: String) {
        let (a, entry) = kernel()
        let idtr = a.label()
        a.lidt(mem[idtr])
        let rip = a.here
        a.int3()
        a.bind(idtr); a.dw(0); a.dd(0)
        return (elf(a, entry: entry), hex(rip))
    }

    /// CLI; HLT (RIP after the HLT is where the vCPU waits).
    static func haltWithInterruptsDisabled() -> (image: [UInt8], rip: String) {
        let (a, entry) = kernel()
        a.cli(); a.hlt()
        return (elf(a, entry: entry), hex(a.here))
    }

    /// Every 8259 input masked (the I/O APIC's entries are masked from reset), then STI; HLT.
    static func haltWithEveryInterruptMasked() -> (image: [UInt8], rip: String) {
        let (a, entry) = kernel()
        a.mov(al, 0xFF); a.out(port: 0x21, al); a.out(port: 0xA1, al)
        a.sti(); a.hlt()
        return (elf(a, entry: entry), hex(a.here))
    }

    /// Prints `text` (no newline), then spins.
    static func printThenSpin(_ text: String) -> [UInt8] {
        let (a, entry) = kernel()
        a.mov(dx, 0x3F8)
        for ch in text.utf8 { a.mov(al, Int64(ch)); a.out(dx, al) }
        let l = a.boundLabel(); a.jmp(l)
        return elf(a, entry: entry)
    }

    /// An idle loop the firmware's PIT (8259 IRQ 0, vector 08H) wakes 18.2 times a second.
    static func idle() -> [UInt8] {
        let (a, entry) = kernel()
        let gdt = a.label(), gdtr = a.label(), idt = a.label(), idtr = a.label(), flush = a.label(), tick = a.label()
        a.lgdt(mem[gdtr]); a.jmpFar(selector: 0x08, flush)
        a.bind(flush)
        a.mov(ax, 0x10); a.mov(SegmentRegister.ds, ax); a.mov(SegmentRegister.ss, ax); a.mov(esp, 0x9_0000)
        a.lidt(mem[idtr])
        a.mov(al, 0xFE); a.out(port: 0x21, al)
        let wait = a.boundLabel(); a.sti(); a.hlt(); a.jmp(wait)
        a.bind(tick)
        a.push(eax); a.mov(al, 0x20); a.out(port: 0x20, al); a.pop(eax); a.iret()
        a.align(8, fill: 0)
        a.bind(gdt); a.dq(0)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x9A, flags: 0xC)
        a.descriptor(base: 0, limit: 0xFFFFF, access: 0x92, flags: 0xC)
        a.bind(gdtr); a.dw(3 * 8 - 1); a.dd(gdt)
        a.align(8, fill: 0)
        a.bind(idt); a.zeros(9 * 8)                 // gate 8 is filled in below
        a.bind(idtr); a.dw(9 * 8 - 1); a.dd(idt)
        var image = elf(a, entry: entry)
        // Gate 8: handler offset, selector 08H, present 32-bit interrupt gate.
        let gate = 0x100 + Int(idt.address! - UInt64(load)) + 8 * 8
        let handler = UInt32(tick.address!)
        image[gate] = UInt8(handler & 0xFF); image[gate + 1] = UInt8((handler >> 8) & 0xFF)
        image[gate + 2] = 0x08; image[gate + 3] = 0; image[gate + 4] = 0; image[gate + 5] = 0x8E
        image[gate + 6] = UInt8((handler >> 16) & 0xFF); image[gate + 7] = UInt8(handler >> 24)
        return image
    }

    /// A bzImage whose setup header (syssize) declares 64 KiB of kernel but holds 4 KiB: what
    /// a download cut short looks like.
    static func truncatedBzImage() -> [UInt8] {
        var d = [UInt8](repeating: 0, count: 5 * 512 + 4096)
        func p16(_ o: Int, _ v: UInt16) { d[o] = UInt8(v & 0xFF); d[o + 1] = UInt8(v >> 8) }
        func p32(_ o: Int, _ v: UInt32) { for k in 0..<4 { d[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
        d[0x1F1] = 4
        p32(0x1F4, 0x1000)                 // syssize: 0x1000 paragraphs = 64 KiB
        p16(0x1FE, 0xAA55)
        d[0x200] = 0xEB; d[0x201] = 0x66
        p32(0x202, 0x5372_6448)            // "HdrS"
        p16(0x206, 0x020F)
        p32(0x230, 0x20_0000)
        d[0x234] = 1
        p16(0x236, 1)                      // XLF_KERNEL_64
        p32(0x238, 2048)
        p32(0x260, 0x10_0000)
        return d
    }

    /// An x86-64 ELF executable without a Multiboot header.
    static func plainELF() -> [UInt8] {
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var out: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += le16(2) + le16(62) + le32(1) + le64(0x10_0000) + le64(64) + le64(0) + le32(0)
        out += le16(64) + le16(56) + le16(1) + le16(64) + le16(0) + le16(0)
        out += le32(1) + le32(7) + le64(0x1000) + le64(0x10_0000) + le64(0x10_0000) + le64(1) + le64(1) + le64(0x1000)
        out += [UInt8](repeating: 0, count: 0x1000 - out.count) + [0xF4]
        return out
    }
}
