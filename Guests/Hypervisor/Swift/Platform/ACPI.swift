/// The ACPI tables L1 reads (ACPI Specification 6.4 ch. 5): the RSDP, the RSDT or XSDT, the FADT
/// (PM1 control blocks, SMI command port, DSDT), the DSDT's `\_S5` package and the MADT's
/// processor local APICs.
struct ACPI {
    var pm1aControl: UInt16 = 0
    var pm1bControl: UInt16 = 0
    var smiCommand: UInt16 = 0
    var acpiEnable: UInt8 = 0
    /// SLP_TYPa / SLP_TYPb for S5 from `\_S5`, or nil if the DSDT has none that L1 can read.
    var s5SleepType: (UInt16, UInt16)? = nil
    var localAPICBase: UInt64 = 0xFEE0_0000
    var apicIDs: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
    var processorCount = 0
    var found = false

    nonisolated(unsafe) static var tables = ACPI()
    /// L1 maps the first 4 GiB (Assembly/Boot.S); tables elsewhere are ignored.
    static let mappedLimit: UInt64 = 1 << 32

    /// ACPI 6.4 §5.2.5.1 — the RSDP lies on a 16-byte boundary in the first KiB of the EBDA or in
    /// E0000H–FFFFFH; its first 20 bytes sum to zero (revision 2 and later: all 36 bytes too).
    static func findRSDP() -> UInt64? {
        let ebda = UInt64(Physical.read16(0x40E)) << 4
        if ebda >= 0x8_0000 && ebda < 0xA_0000, let r = scanRSDP(from: ebda, to: ebda + 1024) { return r }
        return scanRSDP(from: 0xE_0000, to: 0x10_0000)
    }

    static func scanRSDP(from start: UInt64, to end: UInt64) -> UInt64? {
        var a = start
        while a < end {
            if Physical.read64(a) == 0x2052_5450_2044_5352 && checksum(a, 20) { return a }   // "RSD PTR "
            a += 16
        }
        return nil
    }

    static func checksum(_ address: UInt64, _ length: UInt64) -> Bool {
        var sum: UInt8 = 0
        for i in 0..<length { sum &+= Physical.read8(address + i) }
        return sum == 0
    }

    /// Reads everything L1 needs; `found` stays false when there is no valid RSDP.
    static func discover() {
        guard let rsdp = findRSDP() else { return }
        tables.found = true
        let revision = Physical.read8(rsdp + 15)
        let xsdt = revision >= 2 && checksum(rsdp, 36) ? Physical.read64(rsdp + 24) : 0
        let root = xsdt != 0 ? xsdt : UInt64(Physical.read32(rsdp + 16))
        guard root < mappedLimit else { return }
        let entrySize: UInt64 = xsdt != 0 ? 8 : 4
        let length = UInt64(Physical.read32(root + 4))
        var offset: UInt64 = 36
        while offset + entrySize <= length {
            let table = entrySize == 8 ? Physical.read64(root + offset) : UInt64(Physical.read32(root + offset))
            offset += entrySize
            guard table < mappedLimit, checksum(table, UInt64(Physical.read32(table + 4))) else { continue }
            switch Physical.read32(table) {
            case 0x5043_4146: readFADT(table)        // "FACP"
            case 0x4349_5041: readMADT(table)        // "APIC"
            default: break
            }
        }
    }

    /// ACPI 6.4 §5.2.9, Table 5.9 — FADT: DSDT (40), SMI_CMD (48), ACPI_ENABLE (52),
    /// PM1a_CNT_BLK (64), PM1b_CNT_BLK (68); X_DSDT (140) and X_PM1a_CNT_BLK (172) when present.
    static func readFADT(_ fadt: UInt64) {
        let length = UInt64(Physical.read32(fadt + 4))
        tables.smiCommand = UInt16(truncatingIfNeeded: Physical.read32(fadt + 48))
        tables.acpiEnable = Physical.read8(fadt + 52)
        tables.pm1aControl = UInt16(truncatingIfNeeded: Physical.read32(fadt + 64))
        tables.pm1bControl = UInt16(truncatingIfNeeded: Physical.read32(fadt + 68))
        if tables.pm1aControl == 0 && length >= 184 && Physical.read8(fadt + 172) == 1 {   // system I/O space
            tables.pm1aControl = UInt16(truncatingIfNeeded: Physical.read64(fadt + 176))
        }
        var dsdt = length >= 148 ? Physical.read64(fadt + 140) : 0
        if dsdt == 0 { dsdt = UInt64(Physical.read32(fadt + 40)) }
        if dsdt != 0 && dsdt < mappedLimit && Physical.read32(dsdt) == 0x5444_5344 {        // "DSDT"
            let dsdtLength = UInt64(Physical.read32(dsdt + 4))
            if dsdtLength > 36 { tables.s5SleepType = s5Package(dsdt + 36, length: dsdtLength - 36) }
        }
    }

    /// ACPI 6.4 §7.4.2 and §20.2 — finds `Name (_S5_, Package (n) { a, b, … })` in the AML:
    /// NameOp (08H), the name, PackageOp (12H), PkgLength (1–4 bytes, §20.2.4), NumElements,
    /// then SLP_TYPa and SLP_TYPb as ZeroOp (00H), OneOp (01H) or BytePrefix (0AH) data.
    static func s5Package(_ aml: UInt64, length: UInt64) -> (UInt16, UInt16)? {
        guard length > 8 else { return nil }
        for i in 1..<(length - 8) {
            let p = aml + i
            guard Physical.read32(p) == 0x5F35_535F else { continue }                       // "_S5_"
            let before = Physical.read8(p - 1)
            guard before == 0x08 || (before == 0x5C && i >= 2 && Physical.read8(p - 2) == 0x08) else { continue }
            guard Physical.read8(p + 4) == 0x12 else { continue }
            var q = p + 5
            q += 1 + UInt64(Physical.read8(q) >> 6)          // PkgLength
            q += 1                                            // NumElements
            guard let a = amlByteData(&q), let b = amlByteData(&q) else { return nil }
            return (a, b)
        }
        return nil
    }

    static func amlByteData(_ q: inout UInt64) -> UInt16? {
        switch Physical.read8(q) {
        case 0x00: q += 1; return 0
        case 0x01: q += 1; return 1
        case 0x0A: q += 2; return UInt16(Physical.read8(q - 1))
        default: return nil
        }
    }

    /// ACPI 6.4 §5.2.12 — MADT: local APIC address (36), then entries from 44; type 0 is a
    /// processor local APIC (APIC ID at +3, flags at +4: bit 0 enabled, bit 1 online capable).
    static func readMADT(_ madt: UInt64) {
        tables.localAPICBase = UInt64(Physical.read32(madt + 36))
        let end = madt + UInt64(Physical.read32(madt + 4))
        var e = madt + 44
        while e + 2 <= end {
            let type = Physical.read8(e), length = UInt64(Physical.read8(e + 1))
            guard length >= 2 else { break }
            if type == 0 && Physical.read32(e + 4) & 3 != 0 && tables.processorCount < Layout.maxCPUs {
                withUnsafeMutableBytes(of: &tables.apicIDs) { $0[tables.processorCount] = Physical.read8(e + 3) }
                tables.processorCount += 1
            }
            e += length
        }
    }

    static func apicID(_ index: Int) -> UInt8 {
        withUnsafeBytes(of: tables.apicIDs) { $0[index] }
    }
}
