import X86Assembler

/// The benchmark workloads: the same guest code runs under Matryoshka, QEMU TCG and Bochs.
///
/// Each image is a Multiboot kernel: it switches to 64-bit mode (LongModeBootstrap), runs one
/// workload for a patched-in iteration count, then ends the machine in the way every peer
/// understands: OUT to QEMU's isa-debug-exit port 0xF4 (also Matryoshka's), then Bochs's
/// "Shutdown" string on port 0x8900, then CLI; HLT.
enum BenchmarkGuest {
    enum Workload: String, CaseIterable {
        /// add/xor/shl/dec/jnz: 5 instructions per iteration, registers only.
        case integer
        /// 8-byte loads at a 64-byte stride, summed over a 16 MiB array (wrapping): 5 instructions
        /// per iteration.
        case memory
        /// OUT to port 0x80 (the POST-code port every PC ignores) plus four register
        /// instructions: 5 instructions per iteration, one port write (a VM exit to L0 here).
        case portio
        /// CPUID leaf 0 plus four register instructions: 5 instructions per iteration, one
        /// CPUID (a VM exit to L0 here, answered from the model's table).
        case cpuid
    }

    static let loadAddress: UInt32 = 0x10_0000
    static let arrayBase: Int64 = 0x100_0000      // 16 MiB
    static let arrayMask: Int64 = 0xFF_FFFF       // 16 MiB window
    static let instructionsPerIteration: UInt64 = 5
    /// The guest needs RAM up to the end of the array.
    static let memoryMiB = 64

    /// The Multiboot ELF image and its entry point.
    /// `iterations` must be at least 1 (the loop counts down with DEC/JNZ).
    static func image(_ w: Workload, iterations: UInt64) -> (elf: [UInt8], code: [UInt8], entry: UInt32) {
        precondition(iterations >= 1, "the benchmark loop needs at least one iteration")
        let a = Assembler(mode: .bits32, origin: UInt64(loadAddress))
        a.db(MultibootELF.header)
        let entry = UInt32(a.here)
        LongModeBootstrap.emit(a)
        a.mov(rcx, Int64(bitPattern: iterations))
        a.xor(eax, eax)
        a.mov(ebx, 0x1234_5678)
        let loop = a.label()
        switch w {
        case .integer:
            a.align(16)
            a.bind(loop)
            a.add(rax, rbx); a.xor(rbx, rax); a.shl(rax, 1); a.dec(rcx); a.jnz(loop)
        case .memory:
            a.mov(rsi, arrayBase); a.xor(edx, edx)
            a.align(16)
            a.bind(loop)
            a.add(rax, qword[rsi + rdx]); a.add(rdx, 64); a.and(rdx, arrayMask); a.dec(rcx); a.jnz(loop)
        case .portio:
            a.align(16)
            a.bind(loop)
            a.out(port: 0x80, al); a.add(rax, rbx); a.xor(rbx, rax); a.dec(rcx); a.jnz(loop)
        case .cpuid:
            // CPUID writes EAX–EDX: the count lives in RSI, RCX is restored for the leaf.
            a.mov(rsi, rcx)
            a.align(16)
            a.bind(loop)
            a.xor(eax, eax); a.xor(ecx, ecx); a.cpuid(); a.dec(rsi); a.jnz(loop)
        }
        emitPowerOff(a)
        let code = a.assemble()
        return (MultibootELF.image(segment: code, loadAddress: loadAddress, entry: entry), code, entry)
    }

    /// Ends the run on every peer (see the type's comment).
    static func emitPowerOff(_ a: Assembler) {
        a.mov(al, 0)
        emitExit(a)
    }

    /// Ends the run with AL as the isa-debug-exit value.
    static func emitExit(_ a: Assembler) {
        a.out(port: 0xF4, al)
        a.mov(dx, 0x8900)
        for c in "Shutdown".utf8 { a.mov(al, Int64(c)); a.out(dx, al) }
        let stop = a.boundLabel()
        a.cli(); a.hlt(); a.jmp(stop)
    }
}
