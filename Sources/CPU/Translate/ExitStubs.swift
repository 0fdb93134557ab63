/// How a block's code leaves: exits (`TranslationExit`) that return an index to the run
/// loop, and the chains that continue in the next translated block instead (`ChainSlot`).
extension BlockTranslator {
    func exit(_ ripOffset: Int32, retired: Int, _ kind: TranslationExit.Kind) -> TranslationExit {
        TranslationExit(ripOffset: ripOffset, retired: UInt8(retired), kind: kind, block: block)
    }

    /// Emits an exit here.
    mutating func inlineExit(_ x: TranslationExit) {
        exits.append(x)
        exitBody(exits.count - 1, flags: flagsAt, dirty: dirty)
    }

    /// A conditional jump (host condition `cc`) to a new exit stub.
    mutating func exitIf(_ cc: UInt8, _ x: TranslationExit) {
        exits.append(x)
        stubs.append((e.jump(cc), exits.count - 1, flagsAt, dirty))
    }

    /// Jumps (host condition `cc`) to the exit handing the instruction at `p` to the interpreter.
    mutating func interpretIf(_ cc: UInt8, at p: Position) {
        precondition(flagsAt != .host)
        if let x = interpretExit[p.index] {
            stubs.append((e.jump(cc), x, flagsAt, dirty))
            return
        }
        exitIf(cc, exit(Int32(p.offset), retired: p.index, .interpret))
        interpretExit[p.index] = exits.count - 1
    }

    /// The code of exit `local`: saves the guest's flags if the host holds them, counts the
    /// retired instructions, and for a `.next` exit continues in the block its chain slot
    /// names when the slot still holds (`ChainSlot`) and that whole block fits in the
    /// budget; otherwise returns the exit's index to the run loop.
    mutating func exitBody(_ local: Int, flags: FlagsAt, dirty: UInt16) {
        let x = exits[local]
        let index = exitBase + local
        var flags = flags
        if x.kind == .next && x.ripOffset == 0 {
            loopBack(x, flags: flags)
            if flags == .host { flags = .frame }
        }
        storeCachedRegisters(dirty)
        if flags == .host { saveFlags() }
        e.alu(.sub, .at(R.rsi, TranslationFrame.roomOffset), immediate: UInt64(x.retired), width: 8)
        let samePage = x.kind == .next && pageOffset + Int64(x.ripOffset) >= 0 && pageOffset + Int64(x.ripOffset) < 4096
        if samePage {
            samePageChain(x, index: index, flags: flags)
        } else if x.kind == .next || x.kind == .indirect {
            e.loadImmediate64(R.r8, UInt64(UInt(bitPattern: slots + index)))
            var fails: [Int] = []
            if x.kind == .next {
                // Same source RIP, so the same target RIP.
                e.load(R.rax, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
                e.alu(.cmp, R.rax, .at(R.r8, ChainSlot.sourceRIPOffset), width: 8)
                fails.append(e.jump(CC.nz))
                e.lea(R.rax, .at(R.rax, x.ripOffset))
            } else {
                // A RET or indirect branch: the target is the one the exit's slot was made
                // for, or else the one the shared slot for that target's hash was made for.
                e.load(R.rax, .at(R.rsi, TranslationFrame.branchTargetOffset), width: 8)
                e.alu(.cmp, R.rax, .at(R.r8, ChainSlot.sourceRIPOffset), width: 8)
                let hit = e.jump(CC.z)
                sharedIndirectSlot(of: R.rax, into: R.r8)
                e.alu(.cmp, R.rax, .at(R.r8, ChainSlot.sourceRIPOffset), width: 8)
                fails.append(e.jump(CC.nz))
                e.bind(hit, to: e.position)
            }
            // RAX = target RIP.
            chainFits(fails: &fails)
            // The target RIP's page: a TLB hit with execute permission, same physical page.
            tlbEntry(of: R.rax, into: R.rcx)
            e.store(.reg(R.rdx), R.rax, width: 8)
            e.alu(.and, .reg(R.rdx), immediate: UInt64(bitPattern: -4096), width: 8)
            e.alu(.or, R.rdx, .at(R.rsi, TranslationFrame.tlbGenerationOffset), width: 8)
            e.alu(.cmp, R.rdx, .at(R.rcx, Int32(MemoryLayout<TLBEntry>.offset(of: \.tag)!)), width: 8)
            fails.append(e.jump(CC.nz))
            e.load(R.rdx, .at(R.rsi, TranslationFrame.execMaskOffset), width: 4)
            e.test(.at(R.rcx, Int32(MemoryLayout<TLBEntry>.offset(of: \.perms)!)), R.rdx, width: 4)
            fails.append(e.jump(CC.z))
            e.load(R.rdx, .at(R.rcx, Int32(MemoryLayout<TLBEntry>.offset(of: \.physical)!)), width: 8)
            e.alu(.cmp, R.rdx, .at(R.r8, ChainSlot.targetPhysicalPageOffset), width: 8)
            fails.append(e.jump(CC.nz))
            // The target block: still valid. Then it is the block the slot was filled with,
            // with the same translation: a removed block's index is not reused before a full
            // flush, which clears the slots too, and a translation is never replaced.
            e.load(R.rcx, .at(R.r8, ChainSlot.targetBlockOffset), width: 8)
            e.test(.reg(R.rcx), R.rcx, width: 8)
            fails.append(e.jump(CC.z))
            e.alu(.cmp, .at(R.rcx, BlockTranslator.blockValidOffset), immediate: 0, width: 1)
            fails.append(e.jump(CC.z))
            e.store(.at(R.rsi, TranslationFrame.entryRIPOffset), R.rax, width: 8)
            e.jumpIndirect(.at(R.r8, ChainSlot.targetCodeOffset))
            for p in fails { e.bind(p, to: e.position) }
        }
        e.exitTo(.at(R.rsi, TranslationFrame.exitAddressOffset), index: UInt32(index))
    }

    /// R8 ← the shared indirect-branch slot for target RIP `target` (`BlockTranslations.
    /// indirectSlotIndex`, computed the same way); clobbers RDX.
    mutating func sharedIndirectSlot(of target: UInt8, into r: UInt8) {
        e.load(R.rdx, .reg(target), width: 8)
        e.shiftRight(.reg(R.rdx), UInt8(BlockTranslations.indirectHashShift), width: 8)
        e.alu(.xor, R.rdx, .reg(target), width: 4)
        e.alu(.and, .reg(R.rdx), immediate: UInt64(BlockTranslations.indirectSlotCount - 1), width: 4)
        e.imul(R.rdx, .reg(R.rdx), immediate: UInt64(MemoryLayout<ChainSlot>.stride), width: 4)
        e.loadImmediate64(r, UInt64(UInt(bitPattern: indirectSlots)))
        e.alu(.add, r, .reg(R.rdx), width: 8)
    }

    /// A `.next` exit to the block's own start (a loop of one block): while the whole block
    /// fits in the budget, the code jumps back to its first instruction with the guest's
    /// registers still in host registers, instead of storing them and taking its chain slot.
    /// That is what the slot would do: the target is this block, still valid and with this
    /// translation, since nothing in translated code can drop it (a store to a page holding
    /// code exits to the interpreter: its TLB entries withhold write permission). Changed
    /// flags go to the frame, where the block's start takes them (`FlagsAt.frame`). Falls
    /// through to the exit when the budget is short (flags then in the frame).
    mutating func loopBack(_ x: TranslationExit, flags: FlagsAt) {
        if flags == .host { saveFlags() }
        e.alu(.cmp, .at(R.rsi, TranslationFrame.roomOffset), immediate: UInt64(Int(x.retired) + blockCount), width: 8)
        let short = e.jump(CC.b)
        e.alu(.sub, .at(R.rsi, TranslationFrame.roomOffset), immediate: UInt64(x.retired), width: 8)
        e.bind(e.jump(), to: loopTop)
        e.bind(short, to: e.position)
    }

    /// The chain check common to every slot (R8), jumping to a `fails` label otherwise: the
    /// whole target block fits in what is left of the budget (`TranslationFrame.room`). The
    /// flags are in the frame at every exit (`TranslationFrame.flags`).
    mutating func chainFits(fails: inout [Int]) {
        e.load(R.rdx, .at(R.r8, ChainSlot.targetCountOffset), width: 4)
        e.alu(.cmp, .at(R.rsi, TranslationFrame.roomOffset), R.rdx, width: 8)
        fails.append(e.jump(CC.b))
    }

    /// The chain of a `.next` exit whose target lies in the block's own page: the target's
    /// physical address is the block's plus the same offset, and the page's translation and
    /// execute permission were checked when the chain (or the run loop) entered it and cannot
    /// change inside translated code (TLB fills, flushes and CPL changes all happen in the
    /// interpreter). So the slot needs no TLB check: only the same source RIP (the run loop
    /// filled the slot after checking the target's span at that RIP: `spanIsCanonical`), a
    /// filled slot, and `chainFits`. Nor does it need to check that the target
    /// block is still valid with that translation: blocks are removed a whole page at a
    /// time (`DecodeCache.invalidate(page:)`) or all at once with every translation and slot
    /// (`flushAll`, `dropTranslations`), so a target on this block's page lives as long as
    /// the code running here, and a block's translation, once made, is never replaced.
    mutating func samePageChain(_ x: TranslationExit, index: Int, flags: FlagsAt) {
        e.loadImmediate64(R.r8, UInt64(UInt(bitPattern: slots + index)))
        var fails: [Int] = []
        e.load(R.rax, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
        e.alu(.cmp, R.rax, .at(R.r8, ChainSlot.sourceRIPOffset), width: 8)
        fails.append(e.jump(CC.nz))
        e.load(R.rcx, .at(R.r8, ChainSlot.targetCodeOffset), width: 8)
        e.test(.reg(R.rcx), R.rcx, width: 8)
        fails.append(e.jump(CC.z))
        chainFits(fails: &fails)
        e.lea(R.rax, .at(R.rax, x.ripOffset))
        e.store(.at(R.rsi, TranslationFrame.entryRIPOffset), R.rax, width: 8)
        e.jumpIndirect(.reg(R.rcx))
        for p in fails { e.bind(p, to: e.position) }
    }
}
