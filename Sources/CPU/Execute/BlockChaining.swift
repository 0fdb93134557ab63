/// Block chaining: each decoded block remembers the blocks that followed it (two links, keyed
/// by the RIP they start at), so the run loop goes from block to block without a lookup.
extension Processor {
    /// Changes whenever a cached block-to-block link could have become wrong: a TLB flush
    /// or set switch (translation or permission change), removal of decoded blocks, or a
    /// mode change. A link made under the current epoch is followed without further checks.
    @inline(__always) var linkEpoch: UInt64 {
        tlb.epoch &+ decodeCache.epoch &+ modeEpoch
    }

    /// The block that follows `b` at the current RIP, if a recorded link still holds.
    @inline(__always)
    func linkedSuccessor(of b: Int32) -> Int32 {
        let blk = decodeCache.blocks + Int(b)
        let epoch = linkEpoch
        if blk.pointee.linkRIP.0 == rip {
            if blk.pointee.linkEpoch.0 == epoch { return blk.pointee.linkBlock.0 }
            let r = revalidatedLink(blk, slot: 0, epoch: epoch)
            if r >= 0 { return r }
        }
        if blk.pointee.linkRIP.1 == rip {
            if blk.pointee.linkEpoch.1 == epoch { return blk.pointee.linkBlock.1 }
            return revalidatedLink(blk, slot: 1, epoch: epoch)
        }
        return -1
    }

    /// A link made under an older epoch, checked against the current state instead of being
    /// dropped (64-bit mode; elsewhere the CS base and limit matter, so it is dropped). It
    /// holds if the block it names is still valid and is the block `fetchBlock` would find
    /// now: the current TLB set maps RIP's page, with execute permission for this access
    /// (CPL, SMEP, NX and the VMX context are all in the entry, SDM Vol. 3A §4.6, §4.10.2),
    /// to the physical address and code size the block was decoded from. Then the link is
    /// renewed for this epoch. So INVLPG of a data page, CR writes, CPL changes and stores to
    /// other code pages cost one check per link instead of a decode-cache lookup.
    /// A slot never linked keeps RIP FFFFFFFF_FFFFFFFFH, which is canonical: a guest at that
    /// RIP matches it, and the slot's block (-1) is no block.
    func revalidatedLink(_ blk: UnsafeMutablePointer<DecodeCache.Block>, slot: Int, epoch: UInt64) -> Int32 {
        let target = slot == 0 ? blk.pointee.linkBlock.0 : blk.pointee.linkBlock.1
        guard is64, target >= 0 else { return -1 }
        let t = decodeCache.blocks + Int(target)
        guard t.pointee.valid, let phys = cachedFetchPhysical(rip),
              t.pointee.key == DecodeCache.key(physical: phys, codeSize: codeSize)
        else { return -1 }
        if slot == 0 { blk.pointee.linkEpoch.0 = epoch } else { blk.pointee.linkEpoch.1 = epoch }
        return target
    }

    /// Records that block `to` follows `from` at the current RIP: in the slot already holding
    /// this RIP (a stale link), else round-robin over the two slots.
    func link(_ from: Int32, to: Int32) {
        let blk = decodeCache.blocks + Int(from)
        let epoch = linkEpoch
        let slot0 = blk.pointee.linkRIP.0 == rip || (blk.pointee.linkRIP.1 != rip && blk.pointee.nextLinkSlot == 0)
        if slot0 {
            blk.pointee.linkRIP.0 = rip
            blk.pointee.linkBlock.0 = to
            blk.pointee.linkEpoch.0 = epoch
            blk.pointee.nextLinkSlot = 1
        } else {
            blk.pointee.linkRIP.1 = rip
            blk.pointee.linkBlock.1 = to
            blk.pointee.linkEpoch.1 = epoch
            blk.pointee.nextLinkSlot = 0
        }
    }
}
