/// Translates a decoded 64-bit-mode block into host x86-64 code, instruction by instruction.
///
/// The host is the same architecture, so an integer instruction becomes the same host
/// instruction on the guest register file in memory (RDI), and the host computes the status
/// flags exactly as the SDM defines them for the guest (SDM Vol. 1 Appendix A). What cannot be
/// done in line ends the code with an exit that hands the instruction to the interpreter:
/// a form not translated, and any memory access that misses the software TLB's fast path
/// (not cached, no permission for this access, crossing a page). Guest state is exact at every
/// exit, so the interpreter then raises faults, walks page tables and runs devices as always.
///
/// The parts: which forms are translated and by what (`TranslatableForms`), guest registers
/// in host registers (`RegisterCache`), where the guest's flags are (`FlagsTracking`), exits
/// and chains (`ExitStubs`), memory operands through the TLB (`MemoryOperands`), and the
/// forms themselves (`IntegerForms`, `StackAndBranchForms`, `ShiftAndBitForms`).
struct BlockTranslator {
    typealias R = HostCodeEmitter.R
    typealias CC = HostCodeEmitter.CC
    typealias Operand = HostCodeEmitter.Operand

    /// Where the guest's status flags are at a point of the code.
    enum FlagsAt {
        /// In the host's RFLAGS.
        case host
        /// In `TranslationFrame.flags`: as the run loop or a chain left them at the block's
        /// start, or saved there since (host RFLAGS clobbered).
        case frame
    }

    /// The translation of one block.
    struct Result {
        var code: [UInt8]
        var exits: [TranslationExit]
        /// Largest |offset| from the entry RIP of any RIP the block can produce statically.
        var span: Int64
        /// Instructions translated before the first exit to the interpreter (statistics).
        var translated: Int
        /// Memory operands that need no TLB check of their own (`SharedPageOperands`).
        var sharedPageOperands = 0
    }

    /// Where an instruction is in its block: its index (instructions retired before it) and
    /// the offsets of its first byte and of the next instruction from the entry RIP.
    struct Position {
        var index: Int
        var offset: Int64
        var next: Int64
    }

    /// What translating one instruction did.
    enum Outcome { case done, ended, unsupported }

    var e = HostCodeEmitter()
    var exits: [TranslationExit] = []
    /// This block's index, its first exit's index in the shared table, and the chain slots.
    let block: Int32
    /// Where the block starts in its 4 KiB page (the same for its linear and physical address).
    let pageOffset: Int64
    let exitBase: Int
    let slots: UnsafeMutablePointer<ChainSlot>
    /// The shared indirect-branch slots (`BlockTranslations.indirectSlotCount` after the
    /// per-exit ones).
    var indirectSlots: UnsafeMutablePointer<ChainSlot> { slots + BlockTranslations.exitCapacity }
    /// Jumps to exit stubs emitted after the body: (rel32 position, exit index, flags there).
    var stubs: [(patch: Int, exit: Int, flags: FlagsAt, dirty: UInt16)] = []
    var flagsAt = FlagsAt.frame
    var span: Int64 = 0
    /// The exit that hands instruction k to the interpreter, once made.
    var interpretExit: [Int: Int] = [:]
    /// Guest register → the host register holding it in this block (`cacheRegisters`), and
    /// the cached registers the block may write (stored back at every exit).
    var cached = [UInt8?](repeating: nil, count: 16)
    var writeBack: [(guest: UInt8, host: UInt8)] = []
    /// Cached registers not loaded yet, by the instruction that first uses them.
    var pendingLoads: [(index: Int, guest: UInt8, host: UInt8)] = []
    /// Guest registers the code may have changed by the current instruction (bit g for
    /// register g, the instruction's own writes included): an exit stores only the cached
    /// ones among them. All of them in a block that loops back to its start.
    var dirty: UInt16 = 0
    /// The instructions being translated, and the index of the crossing instruction, if the
    /// translation ends in one (`flagsDeadAfter`).
    var instructions: UnsafePointer<DecodedInstruction>? = nil
    var tailIndex = -1
    /// Where the block's instructions start, after the cached registers are loaded (the
    /// target of a branch back to the block's own start: `loopBack`), and the block's
    /// instruction count.
    var loopTop = 0
    var blockCount = 0
    /// The memory operands the emitters asked for, and the plan that groups those sharing
    /// a page (`SharedPageOperands`), made from a first translation's accesses.
    var accesses: [OperandAccess] = []
    var sharedPage: [Int: SharedPageRole] = [:]

    static let blockValidOffset = Int32(MemoryLayout<DecodeCache.Block>.offset(of: \.valid)!)

    let tlbIndexMask: UInt64
    let tlbStrideShift: UInt8

    private init(block: Int32, pageOffset: Int64, exitBase: Int, slots: UnsafeMutablePointer<ChainSlot>) {
        self.block = block
        self.pageOffset = pageOffset
        self.exitBase = exitBase
        self.slots = slots
        tlbIndexMask = SoftwareTLB.indexMask
        tlbStrideShift = UInt8(MemoryLayout<TLBEntry>.stride.trailingZeroBitCount)
        precondition(tlbStrideShift <= 12)
    }

    /// Translates `count` instructions; nil when not even the first can be translated.
    /// Exits are numbered from `exitBase` in the shared exits table; `.next` exits follow
    /// their slot in `slots` (same numbering) when it is valid. With `tail`, the last
    /// instruction is that page-crossing instruction, run behind its guard (`CrossingTail`).
    /// Operands that share a page (`SharedPageOperands`) are found in a first translation,
    /// which the second, with their plan, replaces.
    static func translate(_ inst: UnsafePointer<DecodedInstruction>, count: Int, block: Int32, pageOffset: Int64,
                          exitBase: Int, slots: UnsafeMutablePointer<ChainSlot>, tail: CrossingTail? = nil) -> Result? {
        precondition(MemoryLayout<TLBEntry>.stride.nonzeroBitCount == 1)
        var first = BlockTranslator(block: block, pageOffset: pageOffset, exitBase: exitBase, slots: slots)
        guard let r = first.translate(inst, count: count, tail: tail) else { return nil }
        let grouped = count - (tail == nil ? 0 : 1)
        let plan = sharedPagePlan(inst, count: grouped, accesses: first.accesses,
                                  free: Array(BlockTranslator.cacheRegisters.dropFirst(first.cachedCount)))
        if plan.isEmpty { return r }
        var second = BlockTranslator(block: block, pageOffset: pageOffset, exitBase: exitBase, slots: slots)
        second.sharedPage = plan
        return second.translate(inst, count: count, tail: tail)
    }

    /// One translation of the block, with this translator's `sharedPage` plan.
    private mutating func translate(_ inst: UnsafePointer<DecodedInstruction>, count: Int, tail: CrossingTail?) -> Result? {
        var offsets = [Int64](repeating: 0, count: count + 1)
        for k in 0..<count { offsets[k + 1] = offsets[k] + Int64(inst[k].length) }
        span = offsets[count]
        let loops = (0..<count).contains { k in
            [.jcc, .jmpRel, .callRel].contains(inst[k].op) && offsets[k + 1] &+ Int64(bitPattern: inst[k].imm) == 0
        }
        if loops { dirty = 0xFFFF }               // a later iteration's writes reach earlier exits
        cacheRegisters(inst, count: count, loadAtStart: loops)
        loopTop = e.position
        blockCount = count
        instructions = inst
        tailIndex = tail == nil ? -1 : count - 1
        var k = 0
        var ended = false
        while k < count {
            let d = inst[k]
            loadCachedRegisters(before: k)
            let before = (e.position, exits.count, stubs.count, flagsAt, dirty)
            dirty |= BlockTranslator.writtenMask(d)
            if let tail, k == count - 1 { crossingGuard(tail, at: Position(index: k, offset: offsets[k], next: offsets[k + 1])) }
            let outcome = instruction(d, at: Position(index: k, offset: offsets[k], next: offsets[k + 1]))
            if outcome == .unsupported {
                // Undo a partial emission, then hand this instruction to the interpreter.
                e.bytes.removeSubrange(before.0...)
                exits.removeSubrange(before.1...)
                stubs.removeSubrange(before.2...)
                interpretExit = interpretExit.filter { $0.value < before.1 }
                accesses.removeAll { $0.index == k }
                flagsAt = before.3
                dirty = before.4
                if k == 0 { return nil }
                inlineExit(exit(Int32(offsets[k]), retired: k, .interpret))
                ended = true
                break
            }
            k += 1
            if outcome == .ended { ended = true; break }
        }
        if !ended {
            inlineExit(exit(Int32(offsets[count]), retired: count, .next))
        }
        for s in stubs {
            e.bind(s.patch, to: e.position)
            exitBody(s.exit, flags: s.flags, dirty: s.dirty)
        }
        let members = sharedPage.values.reduce(0) { n, role in
            if case .member = role { return n + 1 }
            return n
        }
        return Result(code: e.bytes, exits: exits, span: span,
                      translated: k, sharedPageOperands: members)
    }

    /// Whether `d` is one of the forms the translator takes (`TranslatableForms`); some
    /// operand forms of these are still left to the interpreter (16-bit addressing, an
    /// immediate beyond imm32), which `instruction` reports as `.unsupported`.
    static func handles(_ d: DecodedInstruction) -> Bool {
        TranslatableForms.form(of: d) != nil
    }

    /// Emits instruction `d` by its form's emitter.
    mutating func instruction(_ d: DecodedInstruction, at p: Position) -> Outcome {
        guard let form = TranslatableForms.form(of: d) else { return .unsupported }
        return form.emit(&self, d, p)
    }

    /// A static branch target `offset` from the entry RIP widens the block's span.
    mutating func noteTarget(_ offset: Int64) {
        span = max(span, offset < 0 ? -offset : offset)
    }

    /// An immediate the host form takes: 64-bit forms have a sign-extended imm32.
    static func immediateFits(_ d: DecodedInstruction) -> Bool {
        d.opSize != 8 || fitsInt32(d.imm)
    }

    static func fitsInt32(_ v: UInt64) -> Bool {
        let s = Int64(bitPattern: v)
        return s >= Int64(Int32.min) && s <= Int64(Int32.max)
    }
}
