import XCTest
import CPU
@testable import Platform

/// The interrupt routing firmware declares to the OS: the MADT's interrupt source overrides and
/// local APIC NMI (ACPI 6.4 §5.2.12), and the MP table (MultiProcessor Specification 1.4), as
/// an OS finds and parses them.
final class FirmwareTableTests: XCTestCase {
    func u16(_ t: [UInt8], _ o: Int) -> Int { Int(t[o]) | Int(t[o + 1]) << 8 }
    func u32(_ t: [UInt8], _ o: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(t[o + $1]) << (8 * UInt64($1)) } }

    /// The MADT's interrupt controller structures as (type, bytes).
    func madtEntries(_ memory: PhysicalMemory) throws -> [(type: UInt8, bytes: [UInt8])] {
        let rsdt = UInt64(try memory.load(UInt32.self, at: ACPITables.rsdpAddress + 16))
        let madt = UInt64(try memory.load(UInt32.self, at: rsdt + 40))
        let length = Int(try memory.load(UInt32.self, at: madt + 4))
        let t = try memory.read(at: madt, length: length)
        XCTAssertEqual(t.reduce(0, &+), 0, "MADT checksum")
        var entries: [(UInt8, [UInt8])] = []
        var o = 44
        while o < length {
            let n = Int(t[o + 1])
            XCTAssertGreaterThan(n, 1)
            entries.append((t[o], Array(t[o..<o + n])))
            o += n
        }
        XCTAssertEqual(o, length, "structures fill the table exactly")
        return entries
    }

    func testMADTDeclaresTheSCIAndPCIIRQsLevelActiveHighAndIRQ0OnGSI2() throws {
        let memory = try PhysicalMemory(size: 4 << 20)
        try ACPITables.install(in: memory, cpuCount: 2)
        let entries = try madtEntries(memory)
        XCTAssertEqual(entries.filter { $0.type == 0 }.count, 2, "a local APIC per CPU")
        let overrides = entries.filter { $0.type == 2 }.map { e in
            (irq: e.bytes[3], gsi: u32(e.bytes, 4), flags: u16(e.bytes, 8))
        }
        XCTAssertEqual(overrides.map { $0.irq }, [0, 5, 9, 10, 11])
        XCTAssertTrue(entries.filter { $0.type == 2 }.allSatisfy { $0.bytes[1] == 10 && $0.bytes[2] == 0 }, "10 bytes, bus 0 (ISA)")
        XCTAssertEqual(overrides[0].gsi, 2)
        XCTAssertEqual(overrides[0].flags, 0, "IRQ 0: conforms to the bus (edge, high)")
        for o in overrides.dropFirst() {
            XCTAssertEqual(o.gsi, UInt64(o.irq), "identity")
            XCTAssertEqual(o.flags, 0b1101, "IRQ \(o.irq): polarity 01 active high, trigger 11 level")
        }
        // The SCI the FADT names is among them.
        let rsdt = UInt64(try memory.load(UInt32.self, at: ACPITables.rsdpAddress + 16))
        let fadt = UInt64(try memory.load(UInt32.self, at: rsdt + 36))
        XCTAssertEqual(try memory.load(UInt16.self, at: fadt + 46), 9, "SCI_INT")
        // Local APIC NMI: every processor (UID FFH), flags conforming, LINT1.
        let nmi = entries.filter { $0.type == 4 }
        XCTAssertEqual(nmi.count, 1)
        XCTAssertEqual(nmi.first?.bytes, [4, 6, 0xFF, 0, 0, 1])
    }

    /// The MP floating pointer as an OS finds it (§4: 16-byte aligned in F0000H–FFFFFH,
    /// "_MP_", checksum), and its configuration table's entries.
    func findMPTable(_ memory: PhysicalMemory) throws -> (pointer: [UInt8], table: [UInt8]) {
        for a in stride(from: UInt64(0xF_0000), to: 0x10_0000, by: 16) {
            let p = try memory.read(at: a, length: 16)
            guard Array(p[0..<4]) == Array("_MP_".utf8), p.reduce(0, &+) == 0 else { continue }
            let at = u32(p, 4)
            let length = Int(try memory.load(UInt16.self, at: at + 4))
            return (p, try memory.read(at: at, length: length))
        }
        throw XCTSkip("no MP floating pointer in F0000H–FFFFFH")
    }

    func testMPTableDescribesProcessorsBusesTheIOAPICAndTheInterruptRouting() throws {
        let memory = try PhysicalMemory(size: 4 << 20)
        try ACPITables.install(in: memory, cpuCount: 2)
        try MultiProcessorTable.install(in: memory, cpuCount: 2, signature: 0x5_0657, features: 0x0781_FBFF,
                                        pciInterrupts: [.init(device: 1, pin: 1, irq: 11)])
        let (pointer, table) = try findMPTable(memory)
        XCTAssertEqual(pointer[8], 1, "length: 1 paragraph")
        XCTAssertEqual(pointer[9], 4, "MP specification 1.4")
        XCTAssertEqual(pointer[11], 0, "feature byte 1: a configuration table follows")
        XCTAssertEqual(pointer[12] & 0x80, 0, "IMCRP clear: virtual wire mode")
        XCTAssertEqual(Array(table[0..<4]), Array("PCMP".utf8))
        XCTAssertEqual(table.reduce(0, &+), 0, "configuration table checksum")
        XCTAssertEqual(u32(table, 36), 0xFEE0_0000, "local APIC address")
        let count = u16(table, 34)
        var entries: [[UInt8]] = []
        var o = 44
        for _ in 0..<count {
            let n = table[o] == 0 ? 20 : 8
            entries.append(Array(table[o..<o + n]))
            o += n
        }
        XCTAssertEqual(o, table.count, "entry count matches the base table length")
        let processors = entries.filter { $0[0] == 0 }
        XCTAssertEqual(processors.map { $0[1] }, [0, 1], "APIC IDs")
        XCTAssertEqual(processors.map { $0[3] }, [3, 1], "enabled; the first is the bootstrap processor")
        XCTAssertEqual(u32(processors[0], 4), 0x5_0657)
        XCTAssertEqual(u32(processors[0], 8), 0x0781_FBFF)
        let buses = entries.filter { $0[0] == 1 }.map { ($0[1], String(decoding: $0[2..<8], as: UTF8.self)) }
        XCTAssertEqual(buses.map { $0.0 }, [0, 1])
        XCTAssertEqual(buses.map { $0.1 }, ["PCI   ", "ISA   "])
        let ioapic = entries.filter { $0[0] == 2 }
        XCTAssertEqual(ioapic.count, 1)
        XCTAssertEqual(ioapic.first.map { u32($0, 4) }, 0xFEC0_0000)
        XCTAssertEqual(ioapic.first?[3], 1, "usable")
        // I/O interrupts: (source bus, source IRQ) → (INTIN, flags).
        var routes: [[Int]: (Int, Int)] = [:]
        for e in entries where e[0] == 3 {
            XCTAssertEqual(e[1], 0, "INT")
            XCTAssertEqual(e[6], 0, "to the I/O APIC with ID 0")
            routes[[Int(e[4]), Int(e[5])]] = (Int(e[7]), u16(e, 2))
        }
        XCTAssertEqual(routes[[0, 1 << 2 | 0]]?.0, 11, "PCI 00:01 INTA# → INTIN 11")
        XCTAssertEqual(routes[[0, 1 << 2 | 0]]?.1, 0b1101, "level, active high")
        XCTAssertEqual(routes[[1, 0]]?.0, 2, "ISA IRQ 0 → INTIN 2")
        XCTAssertNil(routes[[1, 2]], "no cascade entry")
        XCTAssertEqual(routes[[1, 9]]?.0, 9)
        XCTAssertEqual(routes[[1, 9]]?.1, 0b1101, "the SCI as the MADT declares it")
        for irq in [5, 10, 11] { XCTAssertNil(routes[[1, irq]], "PCI-only IRQ \(irq) has no ISA entry") }
        for irq in [1, 3, 4, 6, 7, 8, 12, 13, 14, 15] {
            XCTAssertEqual(routes[[1, irq]]?.0, irq)
            XCTAssertEqual(routes[[1, irq]]?.1, 0, "conforming (ISA: edge, high)")
        }
        // Local interrupts: ExtINT on the BSP's LINT0, NMI on every LINT1.
        let local = entries.filter { $0[0] == 4 }.map { [$0[1], $0[6], $0[7]] }
        XCTAssertEqual(local, [[3, 0, 0], [1, 0xFF, 1]])
    }

    func testTheMPTableLeavesTheACPITablesIntact() throws {
        let memory = try PhysicalMemory(size: 4 << 20)
        try ACPITables.install(in: memory, cpuCount: 64, remappingUnit: (VTdCapabilities(), 0xFED9_0000))
        let before = try memory.read(at: 0xF_0000, length: Int(MultiProcessorTable.floatingPointerAddress - 0xF_0000))
        try MultiProcessorTable.install(in: memory, cpuCount: 64, signature: 0, features: 0)
        XCTAssertEqual(try memory.read(at: 0xF_0000, length: before.count), before)
        let (_, table) = try findMPTable(memory)
        XCTAssertEqual(table.reduce(0, &+), 0)
        XCTAssertLessThan(MultiProcessorTable.floatingPointerAddress + 16 + UInt64(table.count), 0xF_FF53,
                          "below the BIOS IRET firmware places at F000:FF53")
    }
}
