/// Running translated blocks from the interpreter loop (`Processor.run`).
extension Processor {
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
        decodeCache.translations?.translate(blk, in: decodeCache)
    }

    /// Runs the translated code of `blk` from its first instruction (RIP = the block's start)
    /// and returns how many of the block's instructions it completed or skipped: all of them
    /// when it left the block, or the index of the instruction the interpreter must run next.
    ///
    /// The code runs only where its fast path is exactly the interpreter's: 64-bit mode with
    /// the 64-bit stack, and every RIP it can produce canonical (checked once here from the
    /// block's span, so branches need no check of their own, SDM Vol. 2A "Jcc"/"JMP"/"CALL":
    /// #GP(0) for a non-canonical target; such blocks run in the interpreter instead).
    @inline(__always)
    func runTranslated(_ blk: UnsafeMutablePointer<DecodeCache.Block>, _ code: UnsafeRawPointer) throws(Fault) -> Int {
        let entry = rip
        let span = UInt64(blk.pointee.span)
        let lo = entry &- span, hi = entry &+ span
        guard is64 && stackSize == 8 && lo <= entry && hi >= entry && (lo ^ hi) >> 63 == 0
                && isCanonical(lo) && isCanonical(hi), let exits = translationExits else { return 0 }
        let f = translationFrame
        if blk.pointee.needsFlagsIn { f.pointee.flagsIn = flags.value | RFLAGS.fixed1 }
        f.pointee.entryRIP = entry
        f.pointee.tlbEntries = UInt(bitPattern: tlb.entries)
        f.pointee.tlbGeneration = tlb.generation
        f.pointee.readMask = accessMasks.read
        f.pointee.writeMask = accessMasks.write
        f.pointee.fsBase = segments[SegmentRegisterIndex.fs.rawValue].base
        f.pointee.gsBase = segments[SegmentRegisterIndex.gs.rawValue].base
        let run = unsafeBitCast(code, to: TranslatedCode.self)
        let x = exits[Int(blk.pointee.exitBase) + Int(run(gpr, UnsafeMutableRawPointer(f)))]
        instructionsRetired &+= UInt64(x.retired)
        if x.flagsOut { flags.set(f.pointee.flagsOut) }
        switch x.kind {
        case .next:
            rip = entry &+ UInt64(bitPattern: Int64(x.ripOffset))
            return Int(blk.pointee.count)
        case .interpret:
            rip = entry &+ UInt64(bitPattern: Int64(x.ripOffset))
            return Int(x.retired)
        case .returned:
            let target = f.pointee.returnTarget
            if isCanonical(target) {
                rip = target
                return Int(blk.pointee.count)
            }
            // SDM Vol. 2B "RET": #GP(0) for a non-canonical return address, raised by the
            // RET itself before RSP changes: undo its pop.
            gpr[GPR.rsp.rawValue] &-= 8
            instructionsRetired &-= 1
            rip = entry &+ UInt64(bitPattern: Int64(x.ripOffset))
            throw Fault.gp(0)
        }
    }
}
