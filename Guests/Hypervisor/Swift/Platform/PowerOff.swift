/// Ending the run. ACPI S5 ("soft off") when the firmware describes it: write SLP_TYP | SLP_EN
/// to PM1a_CNT (and PM1b_CNT) (ACPI 6.4 §4.8.3.2.1 and §16.1.7), after switching the chipset to
/// ACPI mode through SMI_CMD if SCI_EN is clear (§4.8.2.1 / §16.3.1). Without ACPI, QEMU's
/// isa-debug-exit (port F4H) ends the run.
///
/// SLP_TYP for S5 comes from the DSDT's `\_S5` package. If L1 cannot read one it uses 0, the S5
/// value of the PIIX4-style PM blocks that QEMU, Bochs and Matryoshka implement (their DSDTs all
/// say `\_S5 = {0, 0, …}`); the value is chipset-specific, so that is a documented guess.
enum PowerOff {
    static let debugExitPort: UInt16 = 0xF4
    static let sleepEnable: UInt16 = 1 << 13
    static let sciEnable: UInt16 = 1 << 0

    /// Powers off after a successful run.
    static func success() -> Never {
        if ACPI.tables.pm1aControl != 0 { softOff() }
        Console.drain()
        portOut8(debugExitPort, 0)
        Console.say("L1: no ACPI and no isa-debug-exit: halting")
        haltForever()
    }

    /// Powers off after a failure. Status 1 goes to isa-debug-exit first, so a host that has one
    /// (QEMU, Matryoshka) reports the failure in its exit status; elsewhere the write is ignored
    /// and ACPI S5 follows.
    static func failure() -> Never {
        Console.drain()
        portOut8(debugExitPort, 1)
        if ACPI.tables.pm1aControl != 0 { softOff() }
        Console.say("L1: could not power off: halting")
        haltForever()
    }

    static func softOff() {
        let t = ACPI.tables
        if portIn16(t.pm1aControl) & sciEnable == 0 && t.smiCommand != 0 && t.acpiEnable != 0 {
            portOut8(t.smiCommand, t.acpiEnable)
            var spins = 0
            while portIn16(t.pm1aControl) & sciEnable == 0 && spins < 1_000_000 { cpuPause(); spins += 1 }
        }
        let (a, b) = t.s5SleepType ?? (0, 0)
        Console.line {
            Console.put("L1: powering off (ACPI S5: PM1a_CNT ")
            Console.hex(UInt64(t.pm1aControl))
            Console.put(", SLP_TYP ")
            Console.decimal(UInt64(a))
            Console.put(t.s5SleepType == nil ? ", no \\_S5 in the DSDT: using 0)\n" : " from \\_S5)\n")
        }
        Console.drain()
        portOut16(t.pm1aControl, (portIn16(t.pm1aControl) & 0xE3FF) | a << 10 | sleepEnable)
        if t.pm1bControl != 0 {
            portOut16(t.pm1bControl, (portIn16(t.pm1bControl) & 0xE3FF) | b << 10 | sleepEnable)
        }
        for _ in 0..<1_000_000 { cpuPause() }
        Console.say("L1: still running after the ACPI S5 request")
    }
}
