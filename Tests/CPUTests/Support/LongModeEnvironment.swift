import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// A 64-bit kernel environment for test guests: GDT (kernel and user segments, a 64-bit TSS),
/// an IDT whose every vector records (vector, RSP at entry) at `recordAddress` and halts, and
/// a TSS with RSP0 and IST1 stacks.
struct LongModeEnvironment {
    static let gdt: UInt64 = 0x5000, tss: UInt64 = 0x5800, idt: UInt64 = 0x4000
    static let handlers: UInt64 = 0x30000
    static let recordAddress: UInt64 = 0x6000
    static let kernelStackTop: UInt64 = 0x9000, istStackTop: UInt64 = 0xA000
    static let kernelCS: UInt16 = 0x08, kernelSS: UInt16 = 0x10, userSS: UInt16 = 0x1B, userCS: UInt16 = 0x23, tssSel: UInt16 = 0x28

    /// Builds the environment in `m` (already in 64-bit mode via `enterLong64`). `ist1Vectors`
    /// use IST1; `userVectors` have DPL 3 gates.
    static func install(_ m: TestMachine, ist1Vectors: Set<UInt8> = [], userVectors: Set<UInt8> = [0x80],
                        notPresent: Set<UInt8> = []) {
        let descriptors: [UInt64] = [0, 0x00AF_9B00_0000_FFFF, 0x00CF_9300_0000_FFFF, 0x00CF_F300_0000_FFFF,
                                     0x00AF_FB00_0000_FFFF]
        for (k, d) in descriptors.enumerated() { try! m.memory.store(d, at: gdt + UInt64(k) * 8) }
        // 64-bit available TSS descriptor (16 bytes): base tss, limit 0x67, type 9, present.
        let low: UInt64 = 0x67 | ((tss & 0xFFFF) << 16) | (((tss >> 16) & 0xFF) << 32) | (0x89 << 40) | (((tss >> 24) & 0xFF) << 56)
        try! m.memory.store(low, at: gdt + 0x28)
        try! m.memory.store(tss >> 32, at: gdt + 0x30)
        try! m.memory.store(kernelStackTop, at: tss + 4)       // RSP0
        try! m.memory.store(istStackTop, at: tss + 0x24)       // IST1
        for v in 0..<256 {
            let handler = handlers + UInt64(v) * 32
            let a = Assembler(mode: .bits64, origin: handler)
            a.mov(dword[Int64(recordAddress)], Int64(v))
            a.mov(qword[Int64(recordAddress + 8)], rsp)
            a.hlt()
            m.load(a.assemble(), at: handler)
            let ist: UInt64 = ist1Vectors.contains(UInt8(v)) ? 1 : 0
            let dpl: UInt64 = userVectors.contains(UInt8(v)) ? 3 : 0
            let present: UInt64 = notPresent.contains(UInt8(v)) ? 0 : 1
            let gateLow = (handler & 0xFFFF) | (UInt64(kernelCS) << 16) | (ist << 32) | (0xE << 40) | (dpl << 45)
                | (present << 47) | (((handler >> 16) & 0xFFFF) << 48)
            try! m.memory.store(gateLow, at: idt + UInt64(v) * 16)
            try! m.memory.store(handler >> 32, at: idt + UInt64(v) * 16 + 8)
        }
        m.cpu.gdtr = DescriptorTableRegister(base: gdt, limit: 0x37)
        m.cpu.idtr = DescriptorTableRegister(base: idt, limit: 256 * 16 - 1)
        m.cpu.tr = SegmentRegister(selector: tssSel, base: tss, limit: 0x67, accessRights: 0x8B)
        try! m.memory.store(UInt64(0xFFFF_FFFF), at: recordAddress)
    }

    /// The vector the last handler recorded (nil if none ran).
    static func recordedVector(_ m: TestMachine) -> UInt32? {
        let v = try! m.memory.load(UInt32.self, at: recordAddress)
        return v == 0xFFFF_FFFF ? nil : v
    }

    /// The exception frame the handler saw: the quadwords at its entry RSP.
    static func frame(_ m: TestMachine, count: Int) -> [UInt64] {
        let rsp = try! m.memory.load(UInt64.self, at: recordAddress + 8)
        return (0..<count).map { try! m.memory.load(UInt64.self, at: rsp + UInt64($0) * 8) }
    }

    static func frameRSP(_ m: TestMachine) -> UInt64 { try! m.memory.load(UInt64.self, at: recordAddress + 8) }

    /// Runs `build`'s code (then HLT) at `code` in 64-bit mode on a new machine of `model`
    /// with this environment installed, `setup` applied last (e.g. entering CPL 3).
    static func run(model: CPUModel, code: UInt64 = 0x10_0000, budget: UInt64 = 1000,
                    setup: (TestMachine) -> Void = { _ in }, _ build: (Assembler) -> Void) -> TestMachine {
        let m = TestMachine(model: model)
        let a = Assembler(mode: .bits64, origin: code)
        build(a)
        a.hlt()
        m.load(a.assemble(), at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        install(m)
        setup(m)
        _ = m.run(budget: budget)
        return m
    }

    /// Places user-mode (CPL 3) execution at `entry` with stack `stack`.
    static func enterUser(_ m: TestMachine, entry: UInt64, stack: UInt64) {
        m.cpu.setSegment(.ss, SegmentRegister(selector: userSS, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC0F3))
        m.cpu.setSegment(.cs, SegmentRegister(selector: userCS, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xA0FB))
        m.cpu.rip = entry
        m.cpu.gpr[GPR.rsp.rawValue] = stack
    }
}
