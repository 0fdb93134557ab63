import CPU

/// The ACPI tables the firmware would provide (ACPI Specification 6.4 ch. 5.2): an RSDP in the
/// BIOS read-only area, an RSDT listing a FADT (with its FACS and a DSDT declaring S3 and S5)
/// and a MADT describing the local APICs, the I/O APIC, the ISA interrupt source overrides and
/// the LINT1 NMI, and with a VT-d unit a DMAR table. kvm-unit-tests reads the FADT's PM timer block from them (its
/// intel_iommu test uses the unit's fixed address, not the DMAR table; an OS reads that).
public enum ACPITables {
    public static let rsdpAddress: UInt64 = 0xF_0000
    static let tablesBase: UInt64 = 0xF_0100
    static let oemID = Array("MTRYSK".utf8)

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// The 8-bit checksum making `bytes` sum to zero.
    static func checksum(_ bytes: [UInt8]) -> UInt8 { 0 &- bytes.reduce(0, &+) }

    /// A table: the 36-byte system description header (§5.2.6) + `body`, checksummed.
    static func table(_ signature: String, revision: UInt8, _ body: [UInt8]) -> [UInt8] {
        var t = Array(signature.utf8) + le(UInt64(36 + body.count), 4) + [revision, 0] + oemID
        t += Array("MATRYOSH".utf8) + le(1, 4) + Array("MTRY".utf8) + le(1, 4)
        t += body
        t[9] = checksum(t)
        return t
    }

    /// VT-d spec §8.1 — DMA Remapping Reporting Structure: host address width − 1, flags
    /// (bit 0 INTR_REMAP, bit 1 X2APIC_OPT_OUT), 10 reserved bytes, then one §8.3 DMA
    /// Remapping Hardware Unit Definition: type 0, length, flags (bit 0 INCLUDE_PCI_ALL),
    /// size (2^0 pages), segment 0, register base, with a §8.3.1 device scope for the I/O
    /// APIC (type 3, enumeration ID = its APIC ID, start bus FFH, path 00.0, as QEMU's q35
    /// describes it).
    static func dmar(_ unit: VTdCapabilities, base: UInt64, ioapicID: UInt8) -> [UInt8] {
        let flags: UInt8 = unit.interruptRemapping ? (1 | (unit.extendedInterruptMode ? 0 : 2)) : 0
        var body = [UInt8(VTdCapabilities.addressWidth - 1), flags] + [UInt8](repeating: 0, count: 10)
        let scope: [UInt8] = [3, 8, 0, 0, ioapicID, 0xFF, 0x00, 0x00]
        body += le(0, 2) + le(UInt64(16 + scope.count), 2) + [1, 0] + le(0, 2) + le(base, 8) + scope
        return table("DMAR", revision: 1, body)
    }

    /// The DSDT's AML: `Name (\_S3, Package (4) { One, One, Zero, Zero })` and
    /// `Name (\_S5, Package (4) { Zero, Zero, Zero, Zero })`, the SLP_TYP values for S3 and S5
    /// in PM1a and PM1b (`ACPIPowerManagement.s3SleepType`, `.s5SleepType`; ACPI 6.4 §7.4.2.4,
    /// §7.4.2.6). Encoding: NameOp, NameSeg, PackageOp, PkgLength 6, NumElements 4, then
    /// OneOp / ZeroOp per element (§20.2.5).
    static let dsdtAML: [UInt8] = sleepPackage("_S3_", ACPIPowerManagement.s3SleepType)
        + sleepPackage("_S5_", ACPIPowerManagement.s5SleepType)

    /// `Name (name, Package (4) { t, t, Zero, Zero })` for a SLP_TYP of 0 or 1.
    static func sleepPackage(_ name: String, _ type: UInt16) -> [UInt8] {
        precondition(type <= 1, "ZeroOp / OneOp only")
        let t = UInt8(type)
        return [0x08] + Array(name.utf8) + [0x12, 0x06, 0x04, t, t, 0x00, 0x00]
    }

    /// The MADT's body (§5.2.12): local APIC address, PCAT_COMPAT, then the interrupt
    /// controller structures — a processor local APIC per CPU (§5.2.12.2, enabled), the I/O APIC
    /// (§5.2.12.3, GSI base 0), the board's interrupt source overrides (§5.2.12.5, bus 0 = ISA;
    /// `ISAInterruptRouting`) and a local APIC NMI structure (§5.2.12.7: every processor,
    /// LINT1, flags conforming) for the NMI input firmware leaves on LINT1.
    static func madt(cpuCount: Int) -> [UInt8] {
        var m = le(LocalAPIC.defaultBase, 4) + le(1, 4)
        for k in 0..<cpuCount { m += [0, 8, UInt8(k), UInt8(k)] + le(1, 4) }
        m += [1, 12, 0, 0] + le(IOAPIC.defaultBase, 4) + le(0, 4)
        for o in ISAInterruptRouting.overrides {
            m += [2, 10, 0, o.irq] + le(UInt64(o.globalSystemInterrupt), 4) + le(UInt64(o.flags.rawValue), 2)
        }
        m += [4, 6, 0xFF] + le(0, 2) + [1]
        return m
    }

    /// Where `install` puts the FACS (the S3 resume reads its waking vectors).
    public static func facsAddress() -> UInt64 { (tablesBase + 63) & ~63 }

    /// FACS field offsets (§5.2.10, Table 5.14).
    public enum FACS {
        public static let firmwareWakingVector: UInt64 = 12
        public static let xFirmwareWakingVector: UInt64 = 24
    }

    /// Writes the tables for `cpuCount` processors and the PM block at `pmBase`, and a DMAR
    /// table for `remappingUnit` when there is one.
    public static func install(in memory: PhysicalMemory, cpuCount: Int, pmBase: UInt16 = ACPIPowerManagement.defaultBase,
                               remappingUnit: (capabilities: VTdCapabilities, base: UInt64)? = nil) throws {
        var cursor = tablesBase
        func place(_ t: [UInt8]) throws -> UInt64 {
            let at = cursor
            try memory.write(t, at: at)
            cursor = (cursor + UInt64(t.count) + 15) & ~15
            return at
        }
        // FACS (§5.2.10): 64 bytes, no checksum, 64-byte aligned.
        cursor = (cursor + 63) & ~63
        var facs = Array("FACS".utf8) + le(64, 4) + [UInt8](repeating: 0, count: 56)
        facs[32] = 1                                                // version
        let facsAt = try place(facs)
        assert(facsAt == facsAddress())
        let dsdtAt = try place(table("DSDT", revision: 1, dsdtAML))
        var fadt = [UInt8](repeating: 0, count: 116 - 36)
        func put(_ off: Int, _ v: UInt64, _ n: Int) { for (k, b) in le(v, n).enumerated() { fadt[off - 36 + k] = b } }
        put(36, facsAt, 4)
        put(40, dsdtAt, 4)
        put(46, UInt64(ISAInterruptRouting.sciIRQ), 2)               // SCI_INT
        put(56, UInt64(pmBase), 4)                                   // PM1a_EVT_BLK
        put(64, UInt64(pmBase) + 4, 4)                               // PM1a_CNT_BLK
        put(76, UInt64(pmBase) + 8, 4)                               // PM_TMR_BLK
        put(88, 4, 1); put(89, 2, 1); put(91, 4, 1)                  // PM1_EVT_LEN, PM1_CNT_LEN, PM_TMR_LEN
        put(112, 1 << 4 | 1 << 5, 4)                                 // PWR_BUTTON, SLP_BUTTON (control-method absent)
        let fadtAt = try place(table("FACP", revision: 1, fadt))
        let madtAt = try place(table("APIC", revision: 1, madt(cpuCount: cpuCount)))
        var entries = le(fadtAt, 4) + le(madtAt, 4)
        if let u = remappingUnit { entries += le(try place(dmar(u.capabilities, base: u.base, ioapicID: 0)), 4) }
        let rsdtAt = try place(table("RSDT", revision: 1, entries))
        assert(cursor <= MultiProcessorTable.floatingPointerAddress, "ACPI tables overlap the MP table")
        var rsdp = Array("RSD PTR ".utf8) + [0] + oemID + [0] + le(rsdtAt, 4)
        rsdp[8] = checksum(rsdp)
        try memory.write(rsdp, at: rsdpAddress)
    }
}
