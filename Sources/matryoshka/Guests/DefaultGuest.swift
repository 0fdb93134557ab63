import X86Assembler

/// The guest `matryoshka run` boots when no kernel is given: a Multiboot kernel that enters
/// 64-bit mode, prints a greeting on COM1, counts the primes below 100,000 with a sieve,
/// prints the count and the CPUID vendor string, and powers off through isa-debug-exit.
enum DefaultGuest {
    static let loadAddress: UInt32 = 0x10_0000
    static let sieveBase: Int64 = 0x80_0000
    static let sieveLimit: Int64 = 100_000
    static let com1: Int64 = 0x3F8
    /// RAM the guest touches (its sieve is the highest), in whole MiB: 9 MiB.
    static let minimumMemoryBytes = (UInt64(sieveBase + sieveLimit) + 0xF_FFFF) & ~0xF_FFFF

    static func image() -> (elf: [UInt8], code: [UInt8], entry: UInt32) {
        let a = Assembler(mode: .bits32, origin: UInt64(loadAddress))
        a.db(MultibootELF.header)
        let entry = UInt32(a.here)
        LongModeBootstrap.emit(a)
        let putString = a.label(), putDecimal = a.label(), putChar = a.label()
        let greeting = a.label(), primesText = a.label(), vendorText = a.label(), newline = a.label()
        let vendor = a.label()

        a.mov(rsi, greeting); a.call(putString)

        // Sieve of Eratosthenes over bytes at sieveBase: 1 = composite.
        a.mov(rdi, sieveBase); a.mov(rcx, sieveLimit); a.xor(eax, eax); a.cld(); a.rep(); a.stos(1)
        let outer = a.label(), inner = a.label(), next = a.label(), count = a.label(), skip = a.label(), done = a.label()
        a.mov(rbx, 2)
        a.bind(outer)
        a.mov(rax, rbx); a.imul(rax, rbx); a.cmp(rax, sieveLimit); a.j(.ae, done)
        a.cmp(byte[rbx + sieveBase], 0); a.jne(next)
        a.bind(inner)
        a.mov(byte[rax + sieveBase], 1); a.add(rax, rbx); a.cmp(rax, sieveLimit); a.j(.b, inner)
        a.bind(next)
        a.inc(rbx); a.jmp(outer)
        a.bind(done)
        a.xor(edx, edx); a.mov(rbx, 2)
        a.bind(count)
        a.cmp(byte[rbx + sieveBase], 0); a.jne(skip); a.inc(rdx)
        a.bind(skip)
        a.inc(rbx); a.cmp(rbx, sieveLimit); a.j(.b, count)
        a.mov(rsi, primesText); a.call(putString)
        a.mov(rax, rdx); a.call(putDecimal)
        a.mov(rsi, newline); a.call(putString)

        // CPUID leaf 0: vendor string in EBX, EDX, ECX.
        a.xor(eax, eax); a.cpuid()
        a.mov(rdi, vendor)
        a.mov(dword[rdi], ebx); a.mov(dword[rdi + 4], edx); a.mov(dword[rdi + 8], ecx)
        a.mov(rsi, vendorText); a.call(putString)
        a.mov(rsi, vendor); a.call(putString)
        a.mov(rsi, newline); a.call(putString)
        BenchmarkGuest.emitPowerOff(a)

        // putChar: AL → COM1 once the transmit holding register is empty (16550 LSR bit 5).
        a.bind(putChar)
        a.push(rdx); a.push(rax)
        let wait = a.boundLabel()
        a.mov(edx, com1 + 5); a.in(al, dx); a.test(al, 0x20); a.jz(wait)
        a.pop(rax); a.mov(edx, com1); a.out(dx, al)
        a.pop(rdx); a.ret()
        // putString: NUL-terminated string at RSI.
        a.bind(putString)
        let psLoop = a.boundLabel(), psEnd = a.label()
        a.mov(al, byte[rsi]); a.test(al, al); a.jz(psEnd); a.call(putChar); a.inc(rsi); a.jmp(psLoop)
        a.bind(psEnd); a.ret()
        // putDecimal: RAX as unsigned decimal (digits pushed, then popped in order).
        a.bind(putDecimal)
        a.push(rbx); a.push(rcx); a.push(rdx)
        a.mov(rbx, 10); a.xor(ecx, ecx)
        let divide = a.boundLabel()
        a.xor(edx, edx); a.div(rbx); a.push(rdx); a.inc(rcx); a.test(rax, rax); a.jnz(divide)
        let emit = a.boundLabel()
        a.pop(rax); a.add(al, Int64(UInt8(ascii: "0"))); a.call(putChar); a.dec(rcx); a.jnz(emit)
        a.pop(rdx); a.pop(rcx); a.pop(rbx); a.ret()

        a.bind(greeting); a.db(Array("Hello from Matryoshka's default guest: 64-bit mode reached.\n".utf8) + [0])
        a.bind(primesText); a.db(Array("Primes below 100000: ".utf8) + [0])
        a.bind(vendorText); a.db(Array("CPUID vendor: ".utf8) + [0])
        a.bind(newline); a.db(10, 0)
        a.bind(vendor); a.zeros(16)
        let code = a.assemble()
        return (MultibootELF.image(segment: code, loadAddress: loadAddress, entry: entry), code, entry)
    }
}
