/// The instruction after a block that crosses into the next page (`DecodeCache.Block.
/// endsBeforeCrossing`), run by the block's translation instead of returning to the run loop
/// for it (a hot loop of Linux's XZ decompressor has one).
///
/// The decode cache keeps blocks within one page, since its bookkeeping (invalidation by
/// stores, the run loop's one TLB check per block) is per page. The translation covers the
/// second page by checking, in line before the instruction, what the interpreter's fetch
/// would find: the current TLB set maps the second page's linear address, with execute
/// permission for this access, to the host page the bytes were decoded from, and the
/// instruction's bytes there are the ones decoded. (Its bytes on the first page are the
/// block's page: a store there removes the block and its code.) Otherwise the code exits to
/// the interpreter at that instruction, which fetches it page by page — walks, #PF with CR2 =
/// the second page's address before any of the instruction executes (SDM Vol. 3A §6.15,
/// interrupt 14), and new bytes decoded afresh.
struct CrossingTail {
    var instruction: DecodedInstruction
    /// How many of the instruction's bytes lie on the first page.
    var firstCount: Int
    /// Host address of the second page as the TLB mapped it when the bytes were read.
    var secondPageHost: UInt
    /// The instruction's bytes on the second page (bytes 0–7, 8–15; zero past its end).
    var secondBytes: (UInt64, UInt64)

    var secondCount: Int { Int(instruction.length) - firstCount }
}

extension Processor {
    /// The crossing instruction after `blk` (whose first instruction is at RIP), when both
    /// pages are in the TLB with execute permission and the translator takes its form.
    /// Reads memory only as `crossPageBytes` does; raises nothing.
    @inline(never)
    func crossingTail(of blk: UnsafeMutablePointer<DecodeCache.Block>) -> CrossingTail? {
        guard blk.pointee.endsBeforeCrossing && is64 else { return nil }
        let length = blockByteLength(blk.pointee)
        guard let bytes = crossPageBytes(rip &+ UInt64(length)),
              bytes.first == (blk.pointee.key >> 4) &+ UInt64(length) else { return nil }
        let p2 = bytes.second, first = bytes.firstCount
        var buf = bytes.bytes
        let r = withUnsafeBytes(of: &buf) { raw in
            Decoder.decode(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), available: 15, codeSize: 8)
        }
        guard case .instruction(let d) = r, Int(d.length) > first, BlockTranslator.handles(d) else { return nil }
        var second: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &second) { raw in
            raw.baseAddress!.copyMemory(from: memory.base + Int(p2), byteCount: Int(d.length) - first)
        }
        return CrossingTail(instruction: d, firstCount: first,
                            secondPageHost: UInt(bitPattern: memory.base) &+ UInt(p2), secondBytes: second)
    }
}

extension BlockTranslator {
    /// Before the crossing instruction at `p`: exits to the interpreter there unless the
    /// second page is still what `tail` was decoded from (`CrossingTail`). The TLB check is
    /// the one a chain makes for its target page. Clobbers RAX, RCX, RDX, RFLAGS.
    mutating func crossingGuard(_ tail: CrossingTail, at p: Position) {
        spillFlags()
        e.load(R.rax, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
        e.lea(R.rax, .at(R.rax, Int32(p.offset) + Int32(tail.firstCount)))     // the second page
        tlbEntry(of: R.rax, into: R.rcx)
        e.store(.reg(R.rdx), R.rax, width: 8)
        e.alu(.or, R.rax, .at(R.rsi, TranslationFrame.tlbGenerationOffset), width: 8)
        e.alu(.cmp, R.rax, .at(R.rcx, Int32(MemoryLayout<TLBEntry>.offset(of: \.tag)!)), width: 8)
        interpretIf(CC.nz, at: p)
        e.load(R.rax, .at(R.rsi, TranslationFrame.execMaskOffset), width: 4)
        e.test(.at(R.rcx, Int32(MemoryLayout<TLBEntry>.offset(of: \.perms)!)), R.rax, width: 4)
        interpretIf(CC.z, at: p)
        e.alu(.add, R.rdx, .at(R.rcx, BlockTranslator.hostDeltaOffset), width: 8)     // its host address
        e.loadImmediate64(R.rax, UInt64(tail.secondPageHost))
        e.alu(.cmp, R.rdx, .reg(R.rax), width: 8)
        interpretIf(CC.nz, at: p)
        // The bytes, compared in up to two quadwords; bytes past the instruction are shifted out.
        let n = tail.secondCount
        for chunk in 0..<2 where n > 8 * chunk {
            let expected = chunk == 0 ? tail.secondBytes.0 : tail.secondBytes.1
            let bytes = min(n - 8 * chunk, 8)
            let drop = UInt8(64 - 8 * bytes)
            e.load(R.rax, .at(R.rdx, Int32(8 * chunk)), width: 8)
            if drop != 0 { e.shiftLeft(.reg(R.rax), drop, width: 8) }
            e.loadImmediate64(R.rcx, drop == 0 ? expected : expected << UInt64(drop))
            e.alu(.cmp, R.rax, .reg(R.rcx), width: 8)
            interpretIf(CC.nz, at: p)
        }
    }
}
