/// Instruction fetch for the run loop: the block at RIP from the decode cache (decoded on a
/// miss), or one instruction outside it when no block can hold it.
extension Processor {
    /// The linear address of RIP, with the 64-bit canonical check or the CS limit check.
    @inline(__always)
    func fetchLinearRIP() throws(Fault) -> UInt64 {
        if is64 {
            if !isCanonical(rip) { throw Fault.gp(0) }
            return rip
        }
        let cs = segments[SegmentRegisterIndex.cs.rawValue]
        if rip > UInt64(cs.limit) { throw Fault.gp(0) }
        return (cs.base &+ rip) & 0xFFFF_FFFF
    }

    /// The physical address of an instruction fetch at `la` if the current TLB set holds a
    /// translation with execute permission for this access, else nil (no walk).
    @inline(__always)
    func cachedFetchPhysical(_ la: UInt64) -> UInt64? {
        let e = tlb.slot(la)
        guard e.pointee.tag == tlb.tag(la) && e.pointee.perms & accessMasks.exec != 0 else { return nil }
        return e.pointee.physical | (la & 0xFFF)
    }

    /// Finds (or decodes) the block at RIP. Returns -1 when the instruction must be executed
    /// through the uncached path (it crosses a page, is fetched from a device, or the block
    /// would pass the CS limit).
    @inline(__always)
    func fetchBlock() throws(Fault) -> Int32 {
        // The block fetched last, at the same RIP under the same link epoch, is the one the
        // lookup below would find — the rule block links follow (BlockChaining).
        let epoch = linkEpoch
        if rip == fetchMemoRIP && epoch == fetchMemoEpoch && is64 { return fetchMemoBlock }
        let b = try lookUpBlock()
        if b >= 0 && is64 { fetchMemoRIP = rip; fetchMemoEpoch = epoch; fetchMemoBlock = b }
        return b
    }

    /// `fetchBlock` past its memo: the TLB, then the decode cache, then a decode.
    @inline(__always)
    func lookUpBlock() throws(Fault) -> Int32 {
        let la = try fetchLinearRIP()
        var phys: UInt64
        if let p = cachedFetchPhysical(la) {
            phys = p
        } else {
            let t = try translate(la, currentAccess(.execute))
            if !t.ram { return -1 }
            phys = t.physical
        }
        let key = DecodeCache.key(physical: phys, codeSize: codeSize)
        // An instruction that starts here crosses into the next page: no block can start
        // here (a wrong guess only costs the uncached path, which handles any instruction).
        if key == crossingKey { return -1 }
        var b = decodeCache.lookup(key)
        if b < 0 { b = try buildBlock(physical: phys, key: key) }
        if b >= 0 && !is64 {
            // The block must lie within the CS limit; otherwise take the exact path.
            let blk = decodeCache.blocks + Int(b)
            let bytes = blockByteLength(blk.pointee)
            if rip &+ UInt64(bytes) &- 1 > UInt64(segments[SegmentRegisterIndex.cs.rawValue].limit) { return -1 }
        }
        return b
    }

    func blockByteLength(_ blk: DecodeCache.Block) -> Int {
        var n = 0
        for k in 0..<Int(blk.count) { n += Int(decodeCache.instructions[Int(blk.start) + k].length) }
        return n
    }

    /// Decodes a new block starting at host-physical `physical` (within one page).
    func buildBlock(physical: UInt64, key: UInt64) throws(Fault) -> Int32 {
        let dst = decodeCache.reserve()
        let page = memory.base + Int(physical & ~0xFFF)
        var off = Int(physical & 0xFFF)
        var n = 0
        // With a translator, 64-bit blocks also start where translatable code resumes after
        // instructions it leaves to the interpreter, so that code gets a translation of its own.
        let split = codeSize == 8 && decodeCache.translations != nil
        var previousTranslatable = false
        var endsBeforeCrossing = false
        while n < DecodeCache.maxInstructions && off < 4096 {
            let r = Decoder.decode(UnsafePointer(page.assumingMemoryBound(to: UInt8.self)) + off,
                                   available: 4096 - off, codeSize: codeSize)
            guard case .instruction(let d) = r else {
                if case .tooLong = r, n == 0 { throw Fault.gp(0) }
                if case .needMoreBytes = r { endsBeforeCrossing = true }
                break
            }
            // (The previous instruction's answer is the one computed for it: fusing it with a
            // Jcc happens below, after this check.)
            let translatable = split && BlockTranslator.handles(d)
            if translatable && n > 0 && !previousTranslatable { break }
            previousTranslatable = translatable
            dst[n] = d
            if d.op == .jcc && n > 0, let f = dst[n - 1].op.fusedWithJcc { dst[n - 1].op = f }
            n += 1
            off += Int(d.length)
            if d.flags & DecodedInstruction.Flags.endsBlock != 0 { break }
        }
        if n == 0 {
            if off > 4096 - 15 { crossingKey = key }
            return -1
        }
        return decodeCache.commit(key: key, count: n, endsBeforeCrossing: endsBeforeCrossing)
    }

    /// Fetches and decodes one instruction into `scratchInstruction`, without the decode
    /// cache: instructions crossing a page boundary or the CS limit, and code fetched from
    /// device memory. Faults on the second page only if the instruction reaches it.
    func decodeSingle() throws(Fault) {
        let la = try fetchLinearRIP()
        if is64 && decodeAcrossCachedPages(la) { return }
        var buf: (UInt64, UInt64) = (0, 0)
        let firstCount = min(15, 4096 - Int(la & 0xFFF))
        let access = currentAccess(.execute)
        let t1 = try translate(la, access)
        try withUnsafeMutableBytes(of: &buf) { (raw) throws(Fault) in
            for k in 0..<firstCount { raw[k] = try fetchByte(t1, k) }
        }
        var count = firstCount
        while true {
            let r = withUnsafeBytes(of: &buf) { raw in
                Decoder.decode(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), available: count, codeSize: codeSize)
            }
            switch r {
            case .instruction(var d):
                if !is64 {
                    let limit = UInt64(segments[SegmentRegisterIndex.cs.rawValue].limit)
                    if rip &+ UInt64(d.length) &- 1 > limit { throw Fault.gp(0) }
                }
                d.flags |= DecodedInstruction.Flags.endsBlock
                scratchInstruction.pointee = d
                return
            case .tooLong:
                throw Fault.gp(0)
            case .needMoreBytes:
                if count >= 15 { throw Fault.gp(0) }
                let la2 = (la &+ UInt64(count)) & (is64 ? ~0 : 0xFFFF_FFFF)
                let t2 = try translate(la2, access)
                let more = 15 - count
                let base = count
                try withUnsafeMutableBytes(of: &buf) { (raw) throws(Fault) in
                    for k in 0..<more { raw[base + k] = try fetchByte(t2, k) }
                }
                count = 15
            }
        }
    }

    /// `decodeSingle` for an instruction at `la` (64-bit mode) that may cross into the next
    /// page when the TLB already maps both pages with execute permission: then neither
    /// fetch can fault, so all 15 bytes are read at once and decoded once, or taken from
    /// `crossPageDecodes` when those bytes were decoded before. False when a page is not cached
    /// (the exact path then fetches page by page).
    func decodeAcrossCachedPages(_ la: UInt64) -> Bool {
        guard let bytes = crossPageBytes(la) else { return false }
        let p1 = bytes.first, p2 = bytes.second
        var buf = bytes.bytes
        let memo = crossPageDecodes.slot(p1)
        if memo.pointee.first == p1 && memo.pointee.second == p2 && memo.pointee.codeSize == codeSize
            && memo.pointee.bytes == buf {
            scratchInstruction.pointee = memo.pointee.instruction
            return true
        }
        let r = withUnsafeBytes(of: &buf) { raw in
            Decoder.decode(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), available: 15, codeSize: codeSize)
        }
        guard case .instruction(var d) = r else { return false }
        d.flags |= DecodedInstruction.Flags.endsBlock
        scratchInstruction.pointee = d
        memo.pointee = CrossPageDecodes.Entry(first: p1, second: p2, codeSize: codeSize, bytes: buf, instruction: d)
        return true
    }

    /// The 15 bytes at `la`, which starts an instruction crossing into the next page, when the
    /// TLB maps both pages for execution: the two physical pages, how many bytes lie on the
    /// first, and the bytes. Reads nothing else and raises nothing.
    @inline(__always)
    func crossPageBytes(_ la: UInt64) -> (first: UInt64, second: UInt64, firstCount: Int, bytes: (UInt64, UInt64))? {
        let n = 4096 - Int(la & 0xFFF)
        guard n < 15, let p1 = cachedFetchPhysical(la), let p2 = cachedFetchPhysical(la &+ UInt64(n)) else { return nil }
        var buf: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &buf) { raw in
            let dst = raw.baseAddress!
            dst.copyMemory(from: memory.base + Int(p1), byteCount: n)
            (dst + n).copyMemory(from: memory.base + Int(p2), byteCount: 15 - n)
        }
        return (p1, p2, n, buf)
    }

    func fetchByte(_ t: Translation, _ k: Int) throws(Fault) -> UInt8 {
        var t = t
        t.physical &+= UInt64(k)
        return UInt8(truncatingIfNeeded: try physicalRead(t, 0, 1))
    }
}
