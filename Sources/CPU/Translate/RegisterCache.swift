/// Guest general-purpose registers in a block's code: in the register file (RDI), or kept
/// in a host register from their first use in the block.
extension BlockTranslator {
    /// Host registers that hold guest registers inside a block: the callee-saved RBX, RBP,
    /// R12–R15 (the entry trampoline saves them) and R10, R11. The rest is the code's own:
    /// RDI (guest registers), RSI (frame), RAX, RCX, RDX, R8, R9 (scratch).
    static let cacheRegisters: [UInt8] = [3, 5, 12, 13, 14, 15, 10, 11]

    /// Picks the guest registers this block uses at least twice (up to the first
    /// instruction it cannot translate), most used first, for host registers. Each is loaded
    /// just before the first instruction that uses it (`loadCachedRegisters`), so a side exit
    /// before that pays nothing for it; in a block that loops back to its start, all at the
    /// start (the loop keeps them in host registers). Every access to a guest register goes
    /// through `slot`, so the choice changes no instruction's translation, only its operands;
    /// every exit stores the ones written before it back to the register file
    /// (`storeCachedRegisters`), so state is exact wherever the code leaves. The uses counted
    /// are the forms' (`TranslatableForms`: reg, r/m or the memory operand's base and index,
    /// the implicit registers), so no instruction reaches a register before its load.
    mutating func cacheRegisters(_ inst: UnsafePointer<DecodedInstruction>, count: Int, loadAtStart: Bool) {
        var uses = [Int](repeating: 0, count: 16)
        var firstUse = [Int](repeating: 0, count: 16)
        var written: UInt16 = 0
        var k = 0
        func note(_ g: UInt8) {
            var r = g
            if r >= DecodedInstruction.highByteBase && r < DecodedInstruction.highByteBase + 4 { r -= DecodedInstruction.highByteBase }
            guard r < 16 else { return }
            if uses[Int(r)] == 0 { firstUse[Int(r)] = k }
            uses[Int(r)] += 1
        }
        while k < count {
            defer { k += 1 }
            let d = inst[k]
            guard let form = TranslatableForms.form(of: d) else { break }
            note(d.reg)
            if d.isMemory {
                if d.base != DecodedInstruction.ripBase { note(d.base) }
                note(d.index)
            } else {
                note(d.rm)
            }
            for g in 0..<16 where form.implicitUses & (1 << g) != 0 { note(UInt8(g)) }
            written |= BlockTranslator.writtenMask(d)
        }
        let order = (0..<16).filter { uses[$0] >= 2 }.sorted { uses[$0] > uses[$1] }
        for (g, h) in zip(order, BlockTranslator.cacheRegisters) {
            cached[g] = h
            if loadAtStart {
                e.load(h, .at(R.rdi, Int32(g) * 8), width: 8)
            } else {
                pendingLoads.append((firstUse[g], UInt8(g), h))
            }
            if written & (1 << UInt16(g)) != 0 { writeBack.append((UInt8(g), h)) }
        }
        pendingLoads.sort { $0.index < $1.index }
    }

    /// Loads the cached registers whose first use is instruction `k`.
    mutating func loadCachedRegisters(before k: Int) {
        while let next = pendingLoads.first, next.index <= k {
            e.load(next.host, .at(R.rdi, Int32(next.guest) * 8), width: 8)
            pendingLoads.removeFirst()
        }
    }

    /// The guest registers `d` may write, bit g for register g, counted conservatively: reg
    /// and a register r/m whatever the form, and the form's implicit writes; all sixteen for
    /// an instruction not translated. The one rule for the registers an exit stores
    /// (`dirty`), the ones a block writes back (`cacheRegisters`) and the end of a
    /// shared-page group (`sharedPagePlan`).
    static func writtenMask(_ d: DecodedInstruction) -> UInt16 {
        guard let form = TranslatableForms.form(of: d) else { return 0xFFFF }
        var m = form.implicitWrites
        func note(_ g: UInt8) {
            var g = g
            if g >= DecodedInstruction.highByteBase && g < DecodedInstruction.highByteBase + 4 { g -= DecodedInstruction.highByteBase }
            if g < 16 { m |= 1 << UInt16(g) }
        }
        note(d.reg)
        if !d.isMemory { note(d.rm) }
        return m
    }

    /// How many host registers hold guest registers (the first of `cacheRegisters`).
    var cachedCount: Int { cached.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// Stores the cached guest registers the block may have changed by here (`dirty`), before
    /// an exit.
    mutating func storeCachedRegisters(_ dirty: UInt16) {
        for (g, h) in writeBack where dirty & (1 << UInt16(g)) != 0 { e.store(.at(R.rdi, Int32(g) * 8), h, width: 8) }
    }

    /// The host register holding guest register `g` for an operation of `size` bytes done on
    /// it in place, if any: 16, 32 and 64 bits (the host then merges a word and zero-extends
    /// a doubleword as the guest does, SDM Vol. 1 §3.4.1.1); a byte could name AH–BH or need
    /// a REX prefix the emitter does not add, so it goes through scratch registers.
    func cachedHost(_ g: UInt8, size: Int) -> UInt8? {
        guard size >= 2, g < 16 else { return nil }
        return cached[Int(g)]
    }

    /// The guest register slot of register `g` (0–15).
    func slot(_ g: UInt8) -> Operand {
        if let h = cached[Int(g & 15)] { return .reg(h) }
        return .at(R.rdi, Int32(g) * 8)
    }

    /// The slot of a guest register named by `GPR`.
    func slot(_ g: GPR) -> Operand { slot(UInt8(g.rawValue)) }

    /// A guest register operand of `size` bytes loaded into host register `h`: returns the
    /// host register code the instruction should use (AH/DH for AH–BH) and whether it is a
    /// high byte. Bytes and words load the whole register so the store keeps the rest.
    mutating func loadRegister(_ g: UInt8, _ size: Int, into h: UInt8) -> (code: UInt8, high: Bool) {
        if size == 1 && g >= DecodedInstruction.highByteBase {
            e.load(h, slot(g - DecodedInstruction.highByteBase), width: 8)
            return (h + 4, true)
        }
        e.load(h, slot(g), width: size == 4 ? 4 : 8)
        return (h, false)
    }

    /// Stores host register `h` (all 64 bits: zero-extended for 32-bit results, merged for
    /// byte and word results) into the slot of guest register `g`.
    mutating func storeRegister(_ g: UInt8, _ size: Int, from h: UInt8) {
        let r = size == 1 && g >= DecodedInstruction.highByteBase ? g - DecodedInstruction.highByteBase : g
        e.store(slot(r), h, width: 8)
    }
}
