import XCTest
@testable import CPU
@testable import Platform

/// A clock that never moves (the IOMMU tests need no time).
final class StillClock: TimeSource {
    var nanoseconds: UInt64 { 0 }
    func tsc(cpu: Int) -> UInt64 { 0 }
    var tscHz: UInt64 { 1_000_000_000 }
}

/// Guest RAM, an APIC bus with one local APIC (ID 0), an I/O APIC and a remapping unit, with
/// helpers that build the translation structures the way a guest driver does.
final class VTdTestBed {
    static let ramSize: UInt64 = 16 << 20
    let memory: PhysicalMemory
    let ram: GuestRAM
    let bus = APICBus()
    let scheduler: EventScheduler
    let lapic: LocalAPIC
    let ioapic: IOAPIC
    let unit: VTdRemappingUnit
    /// Next free page for tables (from 1 MiB up).
    private var nextPage: UInt64 = 0x10_0000

    init(capabilities: VTdCapabilities = VTdCapabilities()) throws {
        memory = try PhysicalMemory(size: Self.ramSize)
        ram = GuestRAM(memory: memory, top: Self.ramSize)
        scheduler = EventScheduler(time: StillClock())
        lapic = LocalAPIC(apicID: 0, cpuIndex: 0, bootstrap: true, bus: bus, scheduler: scheduler)
        lapic.mmioWrite(offset: 0xF0, size: 4, value: 0x1FF)
        ioapic = IOAPIC(bus: bus)
        unit = VTdRemappingUnit(capabilities: capabilities, ram: ram, bus: bus)
        ioapic.remapper = unit
    }

    func page() -> UInt64 {
        defer { nextPage += 0x1000 }
        return nextPage
    }

    func store(_ v: UInt64, at a: UInt64) { try! memory.store(v, at: a) }
    func load(_ a: UInt64) -> UInt64 { try! memory.load(UInt64.self, at: a) }

    func write(_ r: VTdRegister, _ v: UInt64, size: Int? = nil) {
        unit.mmioWrite(offset: UInt64(r.offset), size: size ?? r.width, value: v)
    }

    func read(_ r: VTdRegister) -> UInt64 { unit.mmioRead(offset: UInt64(r.offset), size: r.width) }

    /// Global command as kvm-unit-tests issues it: the current status with one bit added.
    func command(_ bit: UInt32) {
        write(.globalCommand, read(.globalStatus) | UInt64(bit))
    }

    /// Root table, latched and translation enabled; returns the root table address.
    @discardableResult
    func enableTranslation() -> UInt64 {
        let root = page()
        write(.rootTableAddress, root)
        command(VTdGlobal.setRootTablePointer)
        command(VTdGlobal.translationEnable)
        return root
    }

    /// Maps `iova` → `pa` (4 KiB, R/W as given) for `sid` in a 3-level table, creating the
    /// root and context entries; returns the context entry's address.
    @discardableResult
    func map(sid: UInt16, iova: UInt64, to pa: UInt64, rw: UInt64 = 3, fpd: Bool = false) -> UInt64 {
        let root = unit.rootTable
        let re = root + UInt64(sid >> 8) * 16
        if load(re) & 1 == 0 { store(page() | 1, at: re) }
        let ce = (load(re) & ~0xFFF) + UInt64(sid & 0xFF) * 16
        if load(ce) & 1 == 0 {
            store(page() | (fpd ? 2 : 0) | 1, at: ce)              // TT = 0 (multi-level)
            store(1 | UInt64(sid) << 8, at: ce + 8)                  // AW = 1 (39-bit), DID = sid
        }
        var table = load(ce) & ~0xFFF
        for level in stride(from: 3, to: 1, by: -1) {
            let e = table + (iova >> UInt64(12 + 9 * (level - 1)) & 0x1FF) * 8
            if load(e) & 3 == 0 { store(page() | 3, at: e) }
            table = load(e) & ~0xFFF
        }
        store(pa | rw, at: table + (iova >> 12 & 0x1FF) * 8)
        return ce
    }

    /// Interrupt-remapping table of 2^(s+1) entries, latched and remapping enabled.
    @discardableResult
    func enableInterruptRemapping(s: UInt64 = 0xF) -> UInt64 {
        let table = page()
        write(.interruptRemappingTableAddress, table | s)
        command(VTdGlobal.setInterruptRemapTablePointer)
        command(VTdGlobal.interruptRemappingEnable)
        return table
    }

    /// An IRTE as kvm-unit-tests writes it: present, FPD, physical, fixed, vector, xAPIC
    /// destination in DST 15:8, SVT = 1 (full source-id) with `sid`.
    func setIRTE(_ index: UInt64, vector: UInt8, destination: UInt8 = 0, sid: UInt16, level: Bool = false,
                 svt: UInt64 = 1, fpd: Bool = true) {
        let table = unit.interruptTable.base
        let low = 1 | (fpd ? 2 : 0) | (level ? 1 << 4 : 0) | UInt64(vector) << 16 | UInt64(destination) << 40
        store(low, at: table + index * 16)
        store(UInt64(sid) | svt << 18, at: table + index * 16 + 8)
    }
}
