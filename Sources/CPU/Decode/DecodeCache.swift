/// Decoded basic blocks, keyed by host-physical address and code-segment size, shared by
/// every processor of a machine. A block is a run of up to `maxInstructions` decoded
/// instructions inside one 4 KiB page, ending at a branch or serializing instruction.
///
/// Each page holding blocks is marked in `PhysicalMemory`; a store to such a page removes
/// all of the page's blocks (self-modifying and cross-modifying code).
final class DecodeCache {
    static let maxInstructions = 32
    static let instructionCapacity = 1 << 18
    static let blockCapacity = 1 << 16
    static let bucketCount = 1 << 16

    struct Block {
        var key: UInt64 = 0
        /// Two cached successors (chaining): the RIP they start at, the block, and the
        /// link epoch under which the link was made or last checked (see
        /// `Processor.linkedSuccessor`).
        var linkRIP: (UInt64, UInt64) = (~0, ~0)
        var linkBlock: (Int32, Int32) = (-1, -1)
        var linkEpoch: (UInt64, UInt64) = (~0, ~0)
        var nextLinkSlot: UInt8 = 0
        var start: Int32 = 0
        var count: Int32 = 0
        var nextInBucket: Int32 = -1
        var nextInPage: Int32 = -1
        var page: Int32 = 0
        var valid = false
        /// Host code translated from this block (`Translate/`), or nil.
        var code: UnsafeRawPointer? = nil
        /// Largest |offset| from the entry RIP of a RIP the code produces (`BlockTranslator`).
        var span: Int32 = 0
        /// Executions before translation is tried; `untranslatable` once tried and refused.
        var heat: UInt8 = 0
        var untranslatable = false
        /// Decoding stopped because the next instruction crosses into the next page
        /// (`Processor.crossingTail`).
        var endsBeforeCrossing = false
        /// The code also runs that crossing instruction: it retires up to `count` + `tail`.
        var tail: UInt8 = 0
    }

    let instructions: UnsafeMutablePointer<DecodedInstruction>
    let blocks: UnsafeMutablePointer<Block>
    let buckets: UnsafeMutablePointer<Int32>
    let pageHeads: UnsafeMutablePointer<Int32>
    let pageCount: Int
    var usedInstructions = 0
    var usedBlocks = 0
    /// Advances whenever blocks are removed, so links to them become stale.
    var epoch: UInt64 = 0
    unowned let memory: PhysicalMemory
    /// Statistics: blocks decoded, invalidated by writes, full flushes.
    public private(set) var blocksDecoded = 0
    public private(set) var blocksInvalidated = 0
    public private(set) var flushes = 0

    init(memory: PhysicalMemory) {
        self.memory = memory
        pageCount = memory.pageCount
        instructions = .allocate(capacity: DecodeCache.instructionCapacity)
        instructions.initialize(repeating: DecodedInstruction(), count: DecodeCache.instructionCapacity)
        blocks = .allocate(capacity: DecodeCache.blockCapacity)
        blocks.initialize(repeating: Block(), count: DecodeCache.blockCapacity)
        buckets = .allocate(capacity: DecodeCache.bucketCount)
        buckets.initialize(repeating: -1, count: DecodeCache.bucketCount)
        pageHeads = .allocate(capacity: pageCount)
        pageHeads.initialize(repeating: -1, count: pageCount)
        recent = .allocate(capacity: DecodeCache.recentCount)
        recent.initialize(repeating: (~0, 0), count: DecodeCache.recentCount)
    }

    deinit {
        instructions.deallocate()
        blocks.deallocate()
        buckets.deallocate()
        pageHeads.deallocate()
        recent.deallocate()
    }

    /// Registers a processor to hear code-page events.
    func attach(_ p: Processor) {
        memory.observers.append(CodePageObserver(object: p, id: ObjectIdentifier(p)))
    }

    /// Unregisters a processor (from its deinit).
    func detach(_ p: Processor) {
        let id = ObjectIdentifier(p)
        memory.observers.removeAll { $0.id == id }
    }

    @inline(__always)
    static func key(physical: UInt64, codeSize: UInt8) -> UInt64 {
        (physical << 4) | UInt64(codeSize)
    }

    @inline(__always)
    func bucket(_ key: UInt64) -> Int {
        let h = (key >> 4) &* 0x9E37_79B9_7F4A_7C15
        return Int(h >> 48)
    }

    /// The direct-mapped front of the lookup: the block last found for a key, by a few
    /// address bits. Small enough to stay in the host's L1 cache, unlike the hash buckets,
    /// and checked against the block itself (a removed block is invalid; a reused index
    /// holds another key), so it never needs clearing.
    static let recentCount = 1 << 10
    let recent: UnsafeMutablePointer<(key: UInt64, block: Int32)>

    @inline(__always)
    static func recentIndex(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key >> 4) ^ (key >> 14)) & (recentCount - 1)
    }

    /// The valid block for `key`, or -1.
    @inline(__always)
    func lookup(_ key: UInt64) -> Int32 {
        let r = recent + DecodeCache.recentIndex(key)
        if r.pointee.key == key {
            let blk = blocks + Int(r.pointee.block)
            if blk.pointee.valid && blk.pointee.key == key { return r.pointee.block }
        }
        var b = buckets[bucket(key)]
        while b >= 0 {
            let blk = blocks + Int(b)
            if blk.pointee.key == key {
                r.pointee = (key, b)
                return b
            }
            b = blk.pointee.nextInBucket
        }
        return -1
    }

    /// Space for a new block of up to `maxInstructions`; flushes everything when full.
    func reserve() -> UnsafeMutablePointer<DecodedInstruction> {
        if usedInstructions + DecodeCache.maxInstructions > DecodeCache.instructionCapacity
            || usedBlocks >= DecodeCache.blockCapacity {
            flushAll()
        }
        return instructions + usedInstructions
    }

    /// Commits `count` instructions written at `reserve()` as the block for `key`.
    func commit(key: UInt64, count: Int, endsBeforeCrossing: Bool = false) -> Int32 {
        let idx = Int32(usedBlocks)
        usedBlocks += 1
        let page = Int32(truncatingIfNeeded: key >> 16)
        let b = bucket(key)
        blocks[Int(idx)] = Block(key: key, start: Int32(usedInstructions), count: Int32(count),
                                 nextInBucket: buckets[b], nextInPage: pageHeads[Int(page)], page: page, valid: true,
                                 endsBeforeCrossing: endsBeforeCrossing)
        buckets[b] = idx
        pageHeads[Int(page)] = idx
        usedInstructions += count
        blocksDecoded += 1
        memory.markCode(page: Int(page))
        return idx
    }

    /// Removes every block of host-physical page `page`.
    func invalidate(page: Int) {
        epoch &+= 1
        var b = pageHeads[page]
        while b >= 0 {
            let blk = blocks + Int(b)
            if blk.pointee.valid {
                unlink(b)
                blk.pointee.valid = false
                blocksInvalidated += 1
            }
            b = blk.pointee.nextInPage
        }
        pageHeads[page] = -1
    }

    private func unlink(_ idx: Int32) {
        let key = blocks[Int(idx)].key
        let bk = bucket(key)
        var prev: Int32 = -1
        var b = buckets[bk]
        while b >= 0 {
            if b == idx {
                let next = blocks[Int(b)].nextInBucket
                if prev < 0 { buckets[bk] = next } else { blocks[Int(prev)].nextInBucket = next }
                return
            }
            prev = b
            b = blocks[Int(b)].nextInBucket
        }
    }

    /// Host code translated from the blocks (nil: no translator on this host).
    lazy var translations: BlockTranslations? = BlockTranslations()

    /// Drops every block (the arena is full, or L0 asked).
    func flushAll() {
        epoch &+= 1
        translations?.reset()
        for i in 0..<usedBlocks where blocks[i].valid {
            let page = Int(blocks[i].page)
            pageHeads[page] = -1
            blocks[i].valid = false
            if memory.codePages[page] != 0 { memory.codePages[page] = 0 }
        }
        buckets.update(repeating: -1, count: DecodeCache.bucketCount)
        usedBlocks = 0
        usedInstructions = 0
        flushes += 1
    }
}

extension Processor: CodePageListener {
    func codePageCreated(_ page: Int) {
        tlb.revokeWrites(toPhysicalPage: UInt64(page) << 12)
    }
}
