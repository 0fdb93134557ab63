/// Memory operands in translated code: the effective and linear address, then the software
/// TLB's fast path inline, as the interpreter's `Processor.readLinear` takes it. In 64-bit
/// mode the linear address is the effective address plus the FS or GS base (SDM Vol. 3A
/// §3.4.4); a non-canonical address never matches a TLB tag (entries are filled for canonical
/// pages only), so it reaches the interpreter, which raises #GP or #SS (§3.3.7.1).
extension BlockTranslator {
    /// The effective address of the memory operand into RCX, without touching RFLAGS
    /// (MOV and LEA only); with `segment`, plus the FS/GS base. False when not translatable.
    mutating func address(_ d: DecodedInstruction, next: Int64, segment: Bool) -> Bool {
        guard d.addrSize == 8 || d.addrSize == 4 else { return false }
        var disp = d.disp
        let b = d.base, x = d.index
        if b == DecodedInstruction.ripBase { disp &+= next }
        guard disp >= Int64(Int32.min) && disp <= Int64(Int32.max) else { return false }
        // Base and index straight from the host registers that hold them, if they do.
        var base = R.rcx
        if b == DecodedInstruction.ripBase {
            guard d.addrSize == 8 else { return false }
            e.load(R.rcx, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
        } else if b != DecodedInstruction.noRegister {
            if case .reg(let h) = slot(b) { base = h } else { e.load(R.rcx, slot(b), width: 8) }
        } else {
            e.loadImmediate64(R.rcx, 0)
        }
        if x != DecodedInstruction.noRegister {
            var index = R.r8
            if case .reg(let h) = slot(x) { index = h } else { e.load(R.r8, slot(x), width: 8) }
            e.lea(R.rcx, .mem(base: base, index: index, scale: d.scale, disp: Int32(disp)))
        } else if disp != 0 || base != R.rcx {
            e.lea(R.rcx, .at(base, Int32(disp)))
        }
        if d.addrSize == 4 { e.store(.reg(R.rcx), R.rcx, width: 4) }
        if segment && d.seg >= 4 {
            e.load(R.r8, .at(R.rsi, d.seg == 4 ? TranslationFrame.fsBaseOffset : TranslationFrame.gsBaseOffset), width: 8)
            e.lea(R.rcx, .mem(base: R.rcx, index: R.r8, scale: 0, disp: 0))
        }
        return true
    }

    /// The software-TLB fast path for the linear address in RCX: on a hit with the
    /// permission this access needs, within one page, RCX becomes the host address;
    /// otherwise the code exits to the interpreter at the instruction at `p`. Clobbers R8,
    /// R9, RFLAGS (and RAX, saving the guest's flags).
    mutating func probe(size: Int, write: Bool, at p: Position) {
        probe(first: 0, last: Int32(size - 1), write: write, at: p)
    }

    /// The fast path for bytes RCX + `first` … RCX + `last` (one access, or the range of the
    /// operands sharing a page, `SharedPageOperands`): they must lie in one page that the
    /// current TLB set maps with the permission (write covers read: `TLBPerm.
    /// writesImplyReads`). Then RCX becomes the host address of RCX, and host register
    /// `delta` (R8 unless a shared-page leader names its own) the page's `hostDelta`.
    mutating func probe(first: Int32, last: Int32, write: Bool, at p: Position, delta: UInt8 = R.r8) {
        spillFlags()
        if first == 0 {
            tlbEntry(of: R.rcx, into: R.r8)
        } else {
            e.lea(R.r8, .at(R.rcx, first))
            tlbEntry(of: R.r8, into: R.r8)
        }
        // The tag is compared with the page of the last byte: a range crossing into the next
        // page cannot match the entry of its first page (the next page has the next index),
        // so one compare checks both.
        e.lea(R.r9, .at(R.rcx, last))
        e.alu(.and, .reg(R.r9), immediate: UInt64(bitPattern: -4096), width: 8)
        e.alu(.or, R.r9, .at(R.rsi, TranslationFrame.tlbGenerationOffset), width: 8)
        e.alu(.cmp, R.r9, .at(R.r8, Int32(MemoryLayout<TLBEntry>.offset(of: \.tag)!)), width: 8)
        interpretIf(CC.nz, at: p)
        e.load(R.r9, .at(R.rsi, write ? TranslationFrame.writeMaskOffset : TranslationFrame.readMaskOffset), width: 4)
        e.test(.at(R.r8, Int32(MemoryLayout<TLBEntry>.offset(of: \.perms)!)), R.r9, width: 4)
        interpretIf(CC.z, at: p)
        e.load(delta, .at(R.r8, BlockTranslator.hostDeltaOffset), width: 8)
        e.alu(.add, R.rcx, .reg(delta), width: 8)
    }

    static let hostDeltaOffset = Int32(MemoryLayout<TLBEntry>.offset(of: \.hostDelta)!)

    /// Host register `into` = the current TLB set's entry for the linear address in `la`
    /// (`SoftwareTLB.slot`): the page number's index bits, shifted straight to the entry's
    /// byte offset.
    mutating func tlbEntry(of la: UInt8, into r: UInt8) {
        if la != r { e.store(.reg(r), la, width: 8) }
        e.shiftRight(.reg(r), 12 - tlbStrideShift, width: 8)
        e.alu(.and, .reg(r), immediate: tlbIndexMask << UInt64(tlbStrideShift), width: 4)
        e.alu(.add, r, .at(R.rsi, TranslationFrame.tlbEntriesOffset), width: 8)
    }

    /// The memory operand of `d`: address, then the TLB fast path; RCX = host address.
    /// An operand sharing its page with others of the block (`SharedPageOperands`) has the
    /// leader's check cover them all, and the others add the delta the leader kept.
    mutating func memoryOperand(_ d: DecodedInstruction, size: Int, write: Bool, at p: Position) -> Bool {
        accesses.append(OperandAccess(index: p.index, size: size, write: write))
        switch sharedPage[p.index] {
        case .member(let g)?:
            sharedPageMember(d, g)
            return true
        case .leader(let g)?:
            guard address(d, next: p.next, segment: true) else { return false }
            let disp = Int32(d.disp)
            var keep = R.r8
            if case .register(let h) = g.delta, d.seg < 4 { keep = h }
            probe(first: g.first - disp, last: g.last - disp, write: g.write, at: p, delta: keep)
            if d.seg >= 4 {
                e.alu(.add, R.r8, .at(R.rsi, d.seg == 4 ? TranslationFrame.fsBaseOffset : TranslationFrame.gsBaseOffset), width: 8)
            }
            switch g.delta {
            case .register(let h): if h != keep { e.store(.reg(h), R.r8, width: 8) }
            case .frame(let offset): e.store(.at(R.rsi, offset), R.r8, width: 8)
            }
            return true
        case nil:
            guard address(d, next: p.next, segment: true) else { return false }
            probe(size: size, write: write, at: p)
            return true
        }
    }

    /// RCX = the host address of a member's operand: base + displacement + the delta its
    /// leader kept (host minus linear address, plus the FS/GS base). RFLAGS untouched.
    mutating func sharedPageMember(_ d: DecodedInstruction, _ g: SharedPageGroup) {
        let disp = Int32(d.disp)
        var base: UInt8
        switch slot(d.base) {
        case .reg(let h): base = h
        case let m:
            e.load(R.rcx, m, width: 8)
            base = R.rcx
        }
        switch g.delta {
        case .register(let h):
            e.lea(R.rcx, .mem(base: base, index: h, scale: 0, disp: disp))
        case .frame(let offset):
            e.load(R.r9, .at(R.rsi, offset), width: 8)
            e.lea(R.rcx, .mem(base: base, index: R.r9, scale: 0, disp: disp))
        }
    }

    /// RCX = RSP + `delta` (a stack slot; SS has base 0 in 64-bit mode).
    mutating func stackAddress(_ delta: Int32) {
        e.load(R.rcx, slot(.rsp), width: 8)
        if delta != 0 { e.lea(R.rcx, .at(R.rcx, delta)) }
    }

    /// RSP += `delta`, without touching RFLAGS.
    mutating func adjustStack(_ delta: Int32, using h: UInt8) {
        e.load(h, slot(.rsp), width: 8)
        e.lea(h, .at(h, delta))
        e.store(slot(.rsp), h, width: 8)
    }
}
