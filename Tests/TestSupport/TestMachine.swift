import CPU

/// A bare processor with RAM, for running test guests outside VMX.
final class TestMachine {
    let memory: PhysicalMemory
    let bus = TestBus()
    let cpu: Processor

    init(memorySize: UInt64 = 16 << 20, model: CPUModel = .default) {
        memory = try! PhysicalMemory(size: memorySize)
        cpu = Processor(memory: memory, bus: bus, model: model)
    }

    func load(_ bytes: [UInt8], at address: UInt64) {
        try! memory.write(bytes, at: address)
    }

    /// Real mode at CS:IP with flat 64 KiB segments.
    func enterReal(cs: UInt16 = 0, ip: UInt64) {
        cpu.reset()
        for s in SegmentRegisterIndex.allCases {
            cpu.setSegment(s, .realMode(selector: s == .cs ? cs : 0, code: s == .cs))
        }
        cpu.rip = ip
    }

    static let flatCode32 = SegmentRegister(selector: 0x08, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC09B)
    static let flatData32 = SegmentRegister(selector: 0x10, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC093)
    static let code64 = SegmentRegister(selector: 0x08, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xA09B)

    /// 32-bit flat protected mode, paging off.
    func enterProtected32(entry: UInt64, stack: UInt64) {
        cpu.reset()
        cpu.setControlRegisters(cr0: CR0.pe | CR0.et | CR0.ne, cr3: 0, cr4: 0, efer: 0)
        for s in SegmentRegisterIndex.allCases { cpu.setSegment(s, s == .cs ? Self.flatCode32 : Self.flatData32) }
        cpu.rip = entry
        cpu.gpr[GPR.rsp.rawValue] = stack
    }

    /// 64-bit mode with the first 1 GiB identity-mapped by 2 MiB pages (tables at `tables`).
    func enterLong64(entry: UInt64, stack: UInt64, tables: UInt64 = 0x1000) {
        cpu.reset()
        let pml4 = tables, pdpt = tables + 0x1000, pd = tables + 0x2000
        try! memory.store(pdpt | 7, at: pml4)
        try! memory.store(pd | 7, at: pdpt)
        for k in 0..<512 { try! memory.store(UInt64(k) << 21 | 0x87, at: pd + UInt64(k) * 8) }
        cpu.setControlRegisters(cr0: CR0.pe | CR0.pg | CR0.et | CR0.ne | CR0.wp, cr3: pml4, cr4: CR4.pae,
                                efer: EFER.lme | EFER.lma | EFER.sce | EFER.nxe)
        for s in SegmentRegisterIndex.allCases { cpu.setSegment(s, s == .cs ? Self.code64 : Self.flatData32) }
        cpu.rip = entry
        cpu.gpr[GPR.rsp.rawValue] = stack
    }

    @discardableResult
    func run(budget: UInt64 = 1_000_000) -> StopReason {
        cpu.run(budget: budget)
    }

    func reg(_ r: GPR) -> UInt64 { cpu.gpr[r.rawValue] }
}
