/// What the translator of a machine has done (`BlockTranslations`).
public struct TranslationStatistics: Sendable {
    public var blocks: UInt64
    public var instructions: UInt64
    /// Blocks whose first instruction the translator leaves to the interpreter.
    public var refused: UInt64
    /// Blocks whose code also runs the page-crossing instruction after them (`CrossingTail`).
    public var crossingTails: UInt64
    /// Memory operands translated without a TLB check of their own, since an earlier operand
    /// of their block checked their page (`SharedPageOperands`).
    public var sharedPageOperands: UInt64
    /// Decode cache: blocks decoded, blocks removed by stores to their page, full flushes.
    public var blocksDecoded: UInt64
    public var blocksInvalidated: UInt64
    public var flushes: UInt64
}

/// Running translated blocks from the interpreter loop (`Processor.run`).
extension Processor {
    /// The machine's translation counts (shared by its processors, like the decode cache).
    public var translationStatistics: TranslationStatistics {
        let t = decodeCache.translations
        return TranslationStatistics(blocks: UInt64(t?.blocksTranslated ?? 0), instructions: UInt64(t?.instructionsTranslated ?? 0),
                                     refused: UInt64(t?.blocksRefused ?? 0), crossingTails: UInt64(t?.crossingTails ?? 0),
                                     sharedPageOperands: UInt64(t?.sharedPageOperands ?? 0),
                                     blocksDecoded: UInt64(decodeCache.blocksDecoded),
                                     blocksInvalidated: UInt64(decodeCache.blocksInvalidated),
                                     flushes: UInt64(decodeCache.flushes))
    }

    /// Counts an execution of `blk` and translates it once it is hot. Only 64-bit code is
    /// translated (the block key's code size is 8).
    @inline(__always)
    func considerTranslation(_ blk: UnsafeMutablePointer<DecodeCache.Block>) {
        if blk.pointee.untranslatable { return }
        blk.pointee.heat &+= 1
        if blk.pointee.heat < BlockTranslations.threshold { return }
        if blk.pointee.key & 0xF != 8 {
            blk.pointee.untranslatable = true
            return
        }
        decodeCache.translations?.translate(blk, in: decodeCache,
                                            tail: blk.pointee.endsBeforeCrossing ? crossingTail(of: blk) : nil)
    }

    /// Whether every RIP the code of a block entered at `entry` can produce statically is
    /// canonical: all lie within `span` of `entry`, so it is enough that both ends are
    /// canonical and in the same half (SDM Vol. 3A §3.3.7.1). Then branches need no check
    /// of their own (SDM Vol. 2A "Jcc"/"JMP"/"CALL": #GP(0) for a non-canonical target);
    /// other blocks run in the interpreter.
    @inline(__always)
    func spanIsCanonical(_ entry: UInt64, _ span: Int32) -> Bool {
        let s = UInt64(span)
        let lo = entry &- s, hi = entry &+ s
        return lo <= entry && hi >= entry && (lo ^ hi) >> 63 == 0 && isCanonical(lo) && isCanonical(hi)
    }

    /// Runs the translated code of block `b` from its first instruction (RIP = its start),
    /// following chain slots into further translated blocks while the budget allows. Returns
    /// the block the code left from and how many of its instructions the interpreter must
    /// skip: all of them when the code left the block, or the index of the instruction the
    /// interpreter runs next. Runs only in 64-bit mode with the 64-bit stack, where the
    /// code's fast path is exactly the interpreter's.
    @inline(__always)
    func runTranslated(_ b: Int32, _ blk: UnsafeMutablePointer<DecodeCache.Block>, _ code: UnsafeRawPointer,
                       budget: UInt64) -> (block: Int32, done: Int) {
        let entry = rip
        guard is64 && stackSize == 8 && spanIsCanonical(entry, blk.pointee.span),
              let exits = translationExits, let slots = translationSlots, let entryCode = translationEntry
        else { return (b, 0) }
        if chainFrom >= 0 {
            // The last translated exit led here: record this block in its slot (for a
            // `.next` exit chainFromRIP is the source block's start; `.indirect`: the target).
            if chainTarget == entry, let phys = cachedFetchPhysical(entry) {
                let slot = ChainSlot(sourceRIP: chainFromRIP, targetPhysicalPage: phys & ~0xFFF,
                                     targetBlock: UInt(bitPattern: blk),
                                     targetCode: UInt(bitPattern: code),
                                     targetCount: UInt32(blk.pointee.count) + UInt32(blk.pointee.tail))
                slots[chainFrom] = slot
                // An indirect exit's slot is keyed by its target: it serves every indirect exit.
                if exits[chainFrom].kind == .indirect { slots[BlockTranslations.indirectSlotIndex(entry)] = slot }
            }
            chainFrom = -1
        }
        let f = translationFrame
        f.pointee.flags = TranslationFrame.compact(flags.value | RFLAGS.fixed1)
        f.pointee.room = budget
        f.pointee.entryRIP = entry
        f.pointee.tlbEntries = UInt(bitPattern: tlb.entries)
        f.pointee.tlbGeneration = tlb.generation
        f.pointee.readMask = accessMasks.read
        f.pointee.writeMask = accessMasks.write
        f.pointee.execMask = accessMasks.exec
        f.pointee.fsBase = segments[SegmentRegisterIndex.fs.rawValue].base
        f.pointee.gsBase = segments[SegmentRegisterIndex.gs.rawValue].base
        f.pointee.otherFlags = (flagsOther | RFLAGS.fixed1) & ~(RFLAGS.arithmetic | RFLAGS.vm | RFLAGS.rf)
        translatedEntries &+= 1
        let run = unsafeBitCast(entryCode, to: TranslatedEntry.self)
        let index = Int(run(gpr, UnsafeMutableRawPointer(f), code))
        let x = exits[index]
        instructionsRetired &+= budget &- f.pointee.room
        flags.set(TranslationFrame.expand(f.pointee.flags))
        let last = x.block
        let start = f.pointee.entryRIP
        let count = Int(decodeCache.blocks[Int(last)].count)
        let ripOffset = Int64(x.ripOffset)
        switch x.kind {
        case .next:
            rip = start &+ UInt64(bitPattern: ripOffset)
            chainFrom = index
            chainFromRIP = start
            chainTarget = rip
            return (last, count)
        case .interpret:
            rip = start &+ UInt64(bitPattern: ripOffset)
            return (last, Int(x.retired))
        case .indirect:
            let target = f.pointee.branchTarget
            rip = target
            chainFrom = index
            chainFromRIP = target
            chainTarget = target
            return (last, count)
        }
    }
}
