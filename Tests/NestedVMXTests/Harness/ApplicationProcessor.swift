import X86Assembler

/// A second processor for L1 (SDM Vol. 3A §9.4 "Multiple-Processor (MP) Initialization"): the
/// BSP copies the real-mode start-up code to `L1Layout.trampoline` and sends INIT, then two
/// start-up IPIs with vector 8 through its local APIC's ICR (§12.6.1); the AP reaches 64-bit
/// mode (`L1Boot.trampoline`, `L1Boot.emitAPEntry`) and runs `apMain`.
extension L1Program {
    /// The code processor 1 runs in 64-bit mode; it ends by setting `Globals.apDone` and
    /// halting. Helpers emitted inside act for processor 1 (`area`).
    func apMain(_ body: () -> Void) {
        precondition(cpus > 1)
        let skip = a.label()
        a.jmp(skip)
        a.bind(apMainEntry)
        cpu = 1
        body()
        record(Globals.apDone, 1)
        let halt = a.boundLabel()
        a.cli(); a.hlt(); a.jmp(halt)
        cpu = 0
        a.bind(skip)
    }

    /// INIT, SIPI, SIPI to APIC ID 1, then waits until the AP runs 64-bit code.
    func startAP() {
        a.mov(rsi, trampolineImage); a.mov(rdi, Int64(L1Layout.trampoline)); a.mov(ecx, Int64(Self.trampolineBytes))
        a.cld(); a.rep(); a.movs(1)
        a.mov(rcx, Int64(L1Layout.localAPIC))
        a.mov(dword[rcx + 0xF0], 0x1FF)                           // SVR: APIC software enabled
        for low in [0x0000_4500, 0x0000_4608, 0x0000_4608] {       // INIT; start-up, vector 8 (twice)
            a.mov(dword[rcx + 0x310], 1 << 24)                    // ICR[63:56]: destination APIC ID 1
            a.mov(dword[rcx + 0x300], Int64(low))
        }
        let wait = a.boundLabel()
        a.pause()
        a.cmp(Globals.apStarted.memory, 1)
        a.jne(wait)
    }

    /// Spins until the AP has finished `apMain`.
    func waitForAP() {
        let wait = a.boundLabel()
        a.pause()
        a.cmp(Globals.apDone.memory, 1)
        a.jne(wait)
    }
}
