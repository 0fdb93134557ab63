import XCTest
import X86Assembler
import CPU

/// A guest for observing cached translations: linear pages `page(k)` (k = 0…3) at 1 GiB are
/// mapped through a 4-KByte page table that tests rewrite *without* invalidating, so a read
/// through a page shows whether the processor used a cached (stale) translation or walked the
/// new one. Each data frame holds a distinct value (`value(frame:)`).
final class TLBTestBed {
    let guest = VMXTestGuest()
    var cpu: Processor { guest.cpu }
    var memory: PhysicalMemory { guest.memory }

    static let pd: UInt64 = 0x5000, pt: UInt64 = 0x6000
    /// Guest-physical frames the pages can map; frame f holds `value(frame: f)`.
    static let frames: UInt64 = 0x40_0000
    static func page(_ k: Int) -> UInt64 { 0x4000_0000 + UInt64(k) * 0x1000 }
    static func frame(_ f: Int) -> UInt64 { frames + UInt64(f) * 0x1000 }
    static func value(frame f: Int) -> UInt64 { 0xF00D_0000 + UInt64(f) }
    /// EPT: two hierarchies that both map the first GiB identically (one 1-GByte page).
    static let eptA: UInt64 = 0x8000, eptB: UInt64 = 0xA000
    static let eptpA = EPTPointer.make(root: eptA), eptpB = EPTPointer.make(root: eptB)

    /// `code` runs as the guest of every VMCS this bed makes.
    init(_ code: (Assembler) -> Void) throws {
        _ = try guest.vmcs(code)                     // assembles the code, builds the identity map
        try memory.store(Self.pd | 7, at: 0x2000 + 8)          // PDPTE[1] (1 GiB) → PD
        try memory.store(Self.pt | 7, at: Self.pd)             // PDE[0] → PT
        for f in 0..<8 { try memory.store(Self.value(frame: f), at: Self.frame(f)) }
        for k in 0..<4 { try map(page: k, frame: k) }
        for root in [Self.eptA, Self.eptB] {
            try memory.store(root + 0x1000 | 7, at: root)                   // EPT PML4E[0] → PDPT
            try memory.store(0 | 7 | (6 << 3) | (1 << 7), at: root + 0x1000) // 1-GByte page, RWX, WB
        }
    }

    /// Rewrites the PTE of `page(k)` (no invalidation: cached translations may stay).
    func map(page k: Int, frame f: Int, global: Bool = false) throws {
        try memory.store(Self.frame(f) | 7 | (global ? 1 << 8 : 0), at: Self.pt + UInt64(k) * 8)
    }

    /// A VMCS for the guest, optionally with a VPID, EPT and CR4.PGE.
    func vmcs(vpid: UInt16? = nil, eptp: EPTPointer? = nil, pge: Bool = false) throws -> VMCS {
        let v = try guest.vmcs { _ in }   // same code (already in memory), fresh guest state
        var secondary: SecondaryProcessorBasedControls = []
        if let id = vpid { secondary.insert(.enableVPID); v[.virtualProcessorIdentifier] = UInt64(id) }
        if let p = eptp { secondary.insert(.enableEPT); v[.eptPointer] = p.raw }
        if !secondary.isEmpty {
            v[.primaryProcessorBasedControls] |= UInt64(PrimaryProcessorBasedControls.activateSecondaryControls.rawValue)
            v[.secondaryProcessorBasedControls] = UInt64(secondary.rawValue)
        }
        if pge { v[.guestCR4] |= 0x80 }
        return v
    }

    /// Enters `v`, expects a VMCALL exit, resumes after it next time, and returns RAX, RBX, RDX.
    @discardableResult
    func enter(_ v: VMCS, file: StaticString = #filePath, line: UInt = #line) -> [UInt64] {
        let outcome = cpu.run(vmcs: v, budget: 10_000)
        XCTAssertEqual(outcome, .vmExit(.vmcall), file: file, line: line)
        v[.guestRIP] = v[.guestRIP] &+ v[.exitInstructionLength]
        return [cpu.gpr[0], cpu.gpr[3], cpu.gpr[2]]
    }

    /// Values of frames, for comparing with `enter`.
    static func values(_ frames: Int...) -> [UInt64] { frames.map { value(frame: $0) } }
}
