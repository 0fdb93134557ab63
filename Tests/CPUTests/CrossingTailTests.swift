import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// A block's translation also runs the instruction after it that crosses into the next page
/// (`CrossingTail`), behind a check of the second page. Whatever happens to that page under
/// the code — the guest's stores to either page, bytes written behind its back, a new mapping,
/// no mapping (#PF with CR2 = the second page, before the instruction does anything) — must
/// end exactly as with every instruction interpreted.
final class CrossingTailTests: XCTestCase {
    typealias Env = LongModeEnvironment
    static let page2: UInt64 = 0x10_1000
    /// The frame `.remap` maps the second page to: a copy of it with the crossing
    /// instruction's last byte changed.
    static let otherFrame: UInt64 = 0x10_3000
    /// 4 KiB pages for the first 2 MiB (identity), so the second page can be remapped alone.
    static let pageTable: UInt64 = 0xB000
    static let pte2 = pageTable + (page2 >> 12) * 8
    static let data: UInt64 = 0x20_0000
    static let changedByte: UInt8 = 0x5A

    /// The crossing instruction: MOV RAX, imm64 (10 bytes) or ADD QWORD [R12+RSI+100H], imm32 (12).
    enum Crossing { case movImm64, addMemoryImm }
    /// What the guest does once, in the middle of the loop.
    enum Event { case none, storeSecondPage, storeFirstPage, remap, unmap, vmcall }

    struct Program {
        var bytes: [UInt8], origin: UInt64, crossing: UInt64, length: Int
    }

    struct Outcome: Equatable {
        var stop: StopReason
        var gpr: [UInt64], rip: UInt64, rflags: UInt64, retired: UInt64, cr2: UInt64
        var vector: UInt32?, frame: [UInt64], data: [UInt8]
    }

    /// A loop of `iterations` (R15 counting down) whose crossing instruction has `split`
    /// bytes on the first page; `event` happens when R15 = `at`.
    static func program(_ x: Crossing, split: Int, event: Event, iterations: Int = 300, at: Int = 150) -> Program {
        func build(_ origin: UInt64, crossing: UInt64, length: Int) -> (Assembler, UInt64) {
            let a = Assembler(mode: .bits64, origin: origin)
            let top = a.label(), skip = a.label()
            a.mov(r15d, Int64(iterations)); a.mov(r12, Int64(data)); a.xor(esi, esi)
            a.mov(r8, Int64(pte2)); a.mov(r9, Int64(page2))
            a.bind(top)
            a.cmp(r15d, Int64(at)); a.jne(skip)
            switch event {
            case .none: break
            case .storeSecondPage:
                a.mov(rdi, Int64(crossing) + Int64(length) - 1); a.mov(byte[rdi], Int64(changedByte))
            case .storeFirstPage:
                a.mov(rdi, Int64(crossing) + 2); a.mov(byte[rdi], Int64(changedByte))    // an immediate byte
            case .remap:
                a.mov(qword[r8], Int64(otherFrame | 7)); a.invlpg(byte[r9])
            case .unmap:
                a.mov(qword[r8], 0); a.invlpg(byte[r9])
            case .vmcall:
                a.vmcall()
            }
            a.bind(skip)
            a.add(ecx, 3); a.xor(edx, ecx)
            let xAt = a.here
            switch x {
            case .movImm64: a.mov(rax, Int64(bitPattern: 0x1122_3344_5566_7788))
            case .addMemoryImm: a.add(qword[r12 + rsi * 1 + 0x100], 0x1234_5678)
            }
            a.add(rbx, rax); a.add(rbx, qword[r12 + 0x100]); a.add(esi, 8); a.and(esi, 0x38)
            a.dec(r15d); a.jnz(top)
            a.hlt()
            return (a, xAt)
        }
        // Once to find the crossing instruction's offset, once where it crosses.
        let (probe, at) = build(0x10_0000, crossing: 0x10_0FFF, length: 12)
        let length = x == .movImm64 ? 10 : 12
        let origin = page2 - UInt64(split) - (at - 0x10_0000)
        let (a, crossing) = build(origin, crossing: page2 - UInt64(split), length: length)
        XCTAssertEqual(probe.bytes.count, a.bytes.count)
        XCTAssertEqual(crossing, page2 - UInt64(split))
        return Program(bytes: a.assemble(), origin: origin, crossing: crossing, length: length)
    }

    /// Runs `p` in slices of 997 instructions (or one long budget); `behindTheBack` rewrites
    /// the crossing instruction's last byte in memory after `at` instructions, with no store
    /// by the guest. Returns the outcome, the blocks run with a crossing tail, and the
    /// entries into host code.
    static func run(_ p: Program, translate: Bool, sliced: Bool = true, behindTheBack at: UInt64? = nil)
        -> (Outcome, Int, UInt64) {
        let m = TestMachine()
        m.load(p.bytes, at: p.origin)
        let lastByte = p.crossing + UInt64(p.length) - 1
        var copy = try! m.memory.read(at: page2, length: 0x1000)
        copy[Int(lastByte - page2)] = changedByte
        m.load(copy, at: otherFrame)
        m.enterLong64(entry: p.origin, stack: 0x8_0000)
        Env.install(m)
        for k in 0..<512 { try! m.memory.store(UInt64(k) << 12 | 7, at: pageTable + UInt64(k) * 8) }
        try! m.memory.store(pageTable | 7, at: 0x3000)                 // PD[0] of enterLong64's tables
        m.cpu.translationEnabled = translate
        var stop = StopReason.budgetExhausted
        var done: UInt64 = 0
        while done < 200_000 && stop == .budgetExhausted {
            var slice: UInt64 = sliced ? 997 : 200_000
            if let at, done < at { slice = min(slice, at - done) }
            stop = m.run(budget: slice)
            done += slice
            if let at, done == at { m.load([changedByte], at: lastByte) }
        }
        let vector = Env.recordedVector(m)
        let o = Outcome(stop: stop, gpr: (0..<16).map { m.cpu.gpr[$0] }, rip: m.cpu.rip, rflags: m.cpu.rflags,
                        retired: m.cpu.instructionsRetired, cr2: m.cpu.cr2, vector: vector,
                        frame: vector == nil ? [] : Env.frame(m, count: 6),
                        data: try! m.memory.read(at: data, length: 0x200))
        return (o, m.cpu.decodeCache.translations?.crossingTails ?? 0, m.cpu.translatedEntries)
    }

    /// Both modes agree, and the translated run used a crossing tail.
    @discardableResult
    func assertSame(_ p: Program, _ what: String, behindTheBack at: UInt64? = nil,
                    file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        let (interpreted, _, _) = Self.run(p, translate: false, behindTheBack: at)
        let (translated, tails, _) = Self.run(p, translate: true, behindTheBack: at)
        XCTAssertGreaterThan(tails, 0, "\(what): a block ran its crossing instruction", file: file, line: line)
        XCTAssertEqual(translated, interpreted, what, file: file, line: line)
        return translated
    }

    static let splits: [(Crossing, Int)] = [(.movImm64, 1), (.movImm64, 2), (.movImm64, 6), (.movImm64, 9),
                                            (.addMemoryImm, 1), (.addMemoryImm, 4), (.addMemoryImm, 11)]

    /// The loop stays in host code: each iteration no longer returns to the run loop for the
    /// crossing instruction (300 iterations, a few dozen entries at most).
    func testCrossingInstructionRunsInTheBlocksCode() {
        for (x, split) in Self.splits {
            let p = Self.program(x, split: split, event: .none)
            let o = assertSame(p, "\(x) split \(split)")
            XCTAssertEqual(o.stop, .halted)
            let (_, tails, entries) = Self.run(p, translate: true, sliced: false)
            XCTAssertGreaterThan(tails, 0)
            XCTAssertLessThan(entries, 60, "\(x) split \(split): \(entries) entries for 300 iterations")
        }
    }

    /// SDM Vol. 3A §11.6: a store to the instruction's bytes on either page is seen by its
    /// next execution.
    func testStoresToEitherPageAreSeen() {
        for (x, split) in Self.splits {
            let none = assertSame(Self.program(x, split: split, event: .none), "\(x) split \(split)")
            let o = assertSame(Self.program(x, split: split, event: .storeSecondPage), "\(x) split \(split): store to page 2")
            XCTAssertNotEqual(o.gpr[GPR.rbx.rawValue], none.gpr[GPR.rbx.rawValue], "the new byte ran")
        }
        let o = assertSame(Self.program(.movImm64, split: 6, event: .storeFirstPage), "store to page 1")
        let none = assertSame(Self.program(.movImm64, split: 6, event: .none), "none")
        XCTAssertNotEqual(o.gpr[GPR.rbx.rawValue], none.gpr[GPR.rbx.rawValue])
    }

    /// Bytes of the second page changed with no guest store (no code-page notification) run
    /// as changed, like the interpreter's page-crossing fetch (`CrossPageDecodes`).
    func testBytesWrittenBehindTheGuestsBackAreSeen() {
        for (x, split) in [(Crossing.movImm64, 1), (.addMemoryImm, 4)] {
            let p = Self.program(x, split: split, event: .none)
            let none = assertSame(p, "\(x)")
            let o = assertSame(p, "\(x) behind the back", behindTheBack: 2_000)
            XCTAssertNotEqual(o, none)
        }
    }

    /// The guest maps the second page to another frame (PTE, then INVLPG): the instruction's
    /// bytes come from there (SDM Vol. 3A §4.10.4.1).
    func testRemappedSecondPageIsFetchedFromItsNewFrame() {
        for (x, split) in Self.splits {
            let none = assertSame(Self.program(x, split: split, event: .none), "\(x) split \(split)")
            let o = assertSame(Self.program(x, split: split, event: .remap), "\(x) split \(split) remapped")
            XCTAssertEqual(o.stop, .halted)
            XCTAssertNotEqual(o.gpr[GPR.rbx.rawValue], none.gpr[GPR.rbx.rawValue], "the other frame's byte ran")
        }
    }

    /// The second page becomes not present: the crossing instruction's fetch is a #PF with
    /// CR2 = the second page's address and error code I/D (SDM Vol. 3A §4.7), RIP = the
    /// instruction, nothing of it executed; the instructions before it in the block retired.
    func testUnmappedSecondPageFaultsBeforeTheInstruction() {
        for (x, split) in Self.splits {
            let p = Self.program(x, split: split, event: .unmap)
            let o = assertSame(p, "\(x) split \(split) unmapped")
            XCTAssertEqual(o.vector, 14)
            XCTAssertEqual(o.cr2, Self.page2)
            XCTAssertEqual(o.frame.prefix(2), [0x10, p.crossing], "error code, RIP")
            XCTAssertEqual(o.gpr[GPR.r15.rawValue], 150)
        }
    }

    /// In VMX non-root operation, L0 maps the second page's guest-physical frame to another
    /// host frame and invalidates with INVEPT (SDM Vol. 3C §29.4.3.1): the instruction's bytes
    /// come from the new frame.
    func testSecondPageRemappedByEPTIsFetchedFromItsNewFrame() throws {
        for (x, split) in [(Crossing.movImm64, 1), (.addMemoryImm, 4), (.movImm64, 9)] {
            let p = Self.program(x, split: split, event: .vmcall)
            func run(translate: Bool, remap: Bool) throws -> ([UInt64], Int) {
                let g = VMXTestGuest()
                let v = try g.vmcs { a in a.mov(rax, Int64(p.origin)); a.jmp(rax) }
                try g.memory.write(p.bytes, at: p.origin)
                var copy = try g.memory.read(at: Self.page2, length: 0x1000)
                copy[Int(p.crossing) + p.length - 1 - Int(Self.page2)] = Self.changedByte
                try g.memory.write(copy, at: Self.otherFrame)
                // EPT: identity, 4 KiB pages for the first 2 MiB (PML4 C000, PDPT D000, PD E000, PT F000).
                let wb: UInt64 = 6 << 3
                try g.memory.store(UInt64(0xD007), at: 0xC000)
                try g.memory.store(UInt64(0xE007), at: 0xD000)
                for k in 0..<512 { try g.memory.store(k == 0 ? 0xF007 : UInt64(k) << 21 | 7 | wb | 1 << 7, at: 0xE000 + UInt64(k) * 8) }
                for k in 0..<512 { try g.memory.store(UInt64(k) << 12 | 7 | wb, at: 0xF000 + UInt64(k) * 8) }
                let eptp = EPTPointer.make(root: 0xC000)
                v[.primaryProcessorBasedControls] |= UInt64(PrimaryProcessorBasedControls.activateSecondaryControls.rawValue)
                v[.secondaryProcessorBasedControls] = UInt64(SecondaryProcessorBasedControls.enableEPT.rawValue)
                v[.eptPointer] = eptp.raw
                g.cpu.translationEnabled = translate
                XCTAssertEqual(g.cpu.run(vmcs: v, budget: 100_000), .vmExit(.vmcall))
                if remap {
                    try g.memory.store(Self.otherFrame | 7 | wb, at: 0xF000 + (Self.page2 >> 12) * 8)
                    try g.cpu.invept(.singleContext, eptp: eptp)
                }
                v[.guestRIP] = v[.guestRIP] &+ v[.exitInstructionLength]
                XCTAssertEqual(g.cpu.run(vmcs: v, budget: 100_000), .halted)
                let data = try g.memory.read(at: Self.data + 0x100, length: 0x40)
                let words = stride(from: 0, to: data.count, by: 8).map { k in
                    data[k..<k + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
                return ((0..<16).map { g.cpu.gpr[$0] } + [g.cpu.instructionsRetired] + words,
                        g.cpu.decodeCache.translations?.crossingTails ?? 0)
            }
            let (interpreted, _) = try run(translate: false, remap: true)
            let (translated, tails) = try run(translate: true, remap: true)
            let (unchanged, _) = try run(translate: true, remap: false)
            XCTAssertGreaterThan(tails, 0)
            XCTAssertEqual(translated, interpreted, "\(x) split \(split)")
            XCTAssertNotEqual(translated, unchanged, "the new frame's byte ran")
        }
    }
}
