/// The translated code of a machine's decoded blocks (shared like the decode cache): the
/// executable arena and the exits table. Everything is dropped at once when either fills or
/// the decode cache is flushed; a block whose page is written loses its code with the block.
final class BlockTranslations {
    static let codeCapacity = 32 << 20
    static let exitCapacity = 1 << 20
    /// Executions of a block before it is translated: code run once is not worth it.
    static let threshold: UInt8 = 16
    /// Slots shared by every RET and indirect CALL/JMP, one per hash of the target RIP, after
    /// the per-exit slots: an exit whose own slot names another target (a return to many
    /// callers, a retpoline thunk's RET) still continues in translated code when the target
    /// was reached from translated code before.
    static let indirectSlotCount = 1 << 13
    static let indirectHashShift = 13

    /// The shared slot of target RIP `target` (the code computes the same).
    @inline(__always)
    static func indirectSlotIndex(_ target: UInt64) -> Int {
        exitCapacity + Int(UInt32(truncatingIfNeeded: (target >> UInt64(indirectHashShift)) ^ target) & UInt32(indirectSlotCount - 1))
    }
    static let slotCapacity = exitCapacity + indirectSlotCount

    let code: ExecutableMemory
    let exits: UnsafeMutablePointer<TranslationExit>
    /// One chain slot per exit, same numbering (`ChainSlot`), then the shared indirect-branch
    /// slots (`indirectSlotIndex`).
    let slots: UnsafeMutablePointer<ChainSlot>
    /// The entry trampoline (`TranslatedEntry`) and the address exits jump to.
    let entry: UnsafeRawPointer
    let exitAddress: UInt
    private(set) var usedExits = 0
    /// Statistics: blocks translated, blocks refused, instructions translated.
    private(set) var blocksTranslated = 0
    private(set) var blocksRefused = 0
    private(set) var instructionsTranslated = 0
    /// Blocks whose code also runs the page-crossing instruction after them (`CrossingTail`).
    private(set) var crossingTails = 0
    /// Memory operands translated without a TLB check of their own (`SharedPageOperands`).
    private(set) var sharedPageOperands = 0
    /// Room for a block's instructions and its crossing tail, in a row.
    private let withTail = UnsafeMutablePointer<DecodedInstruction>.allocate(capacity: DecodeCache.maxInstructions + 1)

    /// nil when the host is not x86-64 or refuses executable memory.
    init?() {
        #if arch(x86_64)
        guard let c = ExecutableMemory(capacity: BlockTranslations.codeCapacity) else { return nil }
        code = c
        let (trampoline, exitOffset) = BlockTranslations.trampoline()
        guard let t = c.append(trampoline) else { return nil }
        c.keepContents()
        entry = t
        exitAddress = UInt(bitPattern: t + exitOffset)
        // Zero pages committed on first touch (all-zero is a valid exit), so a machine that
        // never translates pays nothing for the table.
        let bytes = BlockTranslations.exitCapacity * MemoryLayout<TranslationExit>.stride
        guard let raw = hostAllocateZeroed(bytes) else { return nil }
        exits = raw.bindMemory(to: TranslationExit.self, capacity: BlockTranslations.exitCapacity)
        // Zeroed slots never match (a chain checks the target block pointer first).
        guard let rawSlots = hostAllocateZeroed(BlockTranslations.slotCapacity * MemoryLayout<ChainSlot>.stride) else {
            hostFree(raw, bytes)
            return nil
        }
        slots = rawSlots.bindMemory(to: ChainSlot.self, capacity: BlockTranslations.slotCapacity)
        #else
        return nil
        #endif
    }

    /// Translated blocks keep guest registers in host registers the System V ABI makes
    /// callee-saved (`BlockTranslator.cacheRegisters`), so they are entered through this:
    /// push RBX, RBP, R12–R15, jump to the block (RDX); exits come back to the second half
    /// with the exit index in EAX, which restores them and returns. The code between never
    /// calls out, so the stack needs no alignment.
    static func trampoline() -> (code: [UInt8], exitOffset: Int) {
        let saves: [[UInt8]] = [[0x53], [0x55], [0x41, 0x54], [0x41, 0x55], [0x41, 0x56], [0x41, 0x57]]
        var c: [UInt8] = saves.flatMap { $0 }
        c += [0xFF, 0xE2]                                        // JMP RDX
        let exit = c.count
        for s in saves.reversed() { c += s.count == 1 ? [s[0] | 8] : [0x41, s[1] | 8] }   // POP
        c.append(0xC3)                                           // RET
        return (c, exit)
    }

    deinit {
        withTail.deallocate()
        hostFree(UnsafeMutableRawPointer(exits), BlockTranslations.exitCapacity * MemoryLayout<TranslationExit>.stride)
        hostFree(UnsafeMutableRawPointer(slots), BlockTranslations.slotCapacity * MemoryLayout<ChainSlot>.stride)
    }

    func reset() {
        code.reset()
        // Exit numbers are reused from 0: a slot must not carry a link made for the exit that
        // had its number before.
        UnsafeMutableRawPointer(slots).initializeMemory(as: UInt8.self, repeating: 0,
                                                        count: usedExits * MemoryLayout<ChainSlot>.stride)
        UnsafeMutableRawPointer(slots + BlockTranslations.exitCapacity)
            .initializeMemory(as: UInt8.self, repeating: 0,
                              count: BlockTranslations.indirectSlotCount * MemoryLayout<ChainSlot>.stride)
        usedExits = 0
    }

    /// Translates `block` (of `cache`) into host code, or marks it untranslatable. With
    /// `tail`, the code also runs the page-crossing instruction after the block.
    func translate(_ block: UnsafeMutablePointer<DecodeCache.Block>, in cache: DecodeCache, tail: CrossingTail? = nil) {
        var start = UnsafePointer(cache.instructions + Int(block.pointee.start))
        var count = Int(block.pointee.count)
        if usedExits + 2 * (DecodeCache.maxInstructions + 1) + 2 > BlockTranslations.exitCapacity
            || code.used + (64 << 10) > BlockTranslations.codeCapacity {
            cache.dropTranslations()
        }
        if let tail {
            // The block's instructions and the crossing one, contiguous (the decode cache's
            // arena holds only the block's).
            withTail.initialize(from: start, count: count)
            (withTail + count).initialize(to: tail.instruction)
            start = UnsafePointer(withTail)
            count += 1
        }
        guard let r = BlockTranslator.translate(start, count: count, block: Int32(block - cache.blocks),
                                                pageOffset: Int64((block.pointee.key >> 4) & 0xFFF),
                                                exitBase: usedExits, slots: slots, tail: tail),
              r.span <= Int64(Int32.max) else {
            block.pointee.untranslatable = true
            blocksRefused += 1
            return
        }
        guard let p = code.append(r.code) else { block.pointee.untranslatable = true; return }
        for (k, x) in r.exits.enumerated() { exits[usedExits + k] = x }
        block.pointee.code = p
        block.pointee.span = Int32(r.span)
        block.pointee.tail = tail == nil ? 0 : 1
        usedExits += r.exits.count
        blocksTranslated += 1
        instructionsTranslated += r.translated
        if tail != nil { crossingTails += 1 }
        sharedPageOperands += r.sharedPageOperands
    }
}

extension DecodeCache {
    /// Forgets every block's translation (the arena is reused from the start).
    func dropTranslations() {
        translations?.reset()
        epoch &+= 1                       // links into dropped code are stale
        for i in 0..<usedBlocks {
            blocks[i].code = nil
            blocks[i].heat = 0
            blocks[i].tail = 0
        }
    }
}
