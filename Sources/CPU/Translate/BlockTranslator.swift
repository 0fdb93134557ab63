/// Translates a decoded 64-bit-mode block into host x86-64 code, instruction by instruction.
///
/// The host is the same architecture, so an integer instruction becomes the same host
/// instruction on the guest register file in memory (RDI), and the host computes the status
/// flags exactly as the SDM defines them for the guest (SDM Vol. 1 Appendix A). What cannot be
/// done in line ends the code with an exit that hands the instruction to the interpreter:
/// a form not translated, and any memory access that misses the software TLB's fast path
/// (not cached, no permission for this access, crossing a page). Guest state is exact at every
/// exit, so the interpreter then raises faults, walks page tables and runs devices as always.
///
/// Memory operands follow the interpreter's fast path (`Processor.readLinear`): in 64-bit mode
/// the linear address is the effective address plus the FS or GS base (SDM Vol. 3A §3.4.4);
/// a non-canonical address never matches a TLB tag (entries are filled for canonical pages
/// only), so it reaches the interpreter, which raises #GP or #SS (§3.3.7.1).
struct BlockTranslator {
    typealias R = HostCodeEmitter.R
    typealias Operand = HostCodeEmitter.Operand

    /// Where the guest's status flags are at a point of the code.
    enum FlagsAt {
        /// Not changed by this block: `TranslationFrame.flags` as the block found it (valid
        /// there if the block needs it: `needsFlagsIn`).
        case entry
        /// In the host's RFLAGS.
        case host
        /// Changed and saved in `TranslationFrame.flags` (host RFLAGS clobbered since).
        case frame
    }

    /// The translation of one block.
    struct Result {
        var code: [UInt8]
        var exits: [TranslationExit]
        /// The block reads flags before writing them.
        var needsFlagsIn: Bool
        /// Largest |offset| from the entry RIP of any RIP the block can produce statically.
        var span: Int64
        /// Instructions translated before the first exit to the interpreter (statistics).
        var translated: Int
    }

    private var e = HostCodeEmitter()
    private var exits: [TranslationExit] = []
    /// This block's index, its first exit's index in the shared table, and the chain slots.
    private let block: Int32
    /// Where the block starts in its 4 KiB page (the same for its linear and physical address).
    private let pageOffset: Int64
    private let exitBase: Int
    private let slots: UnsafeMutablePointer<ChainSlot>
    /// Jumps to exit stubs emitted after the body: (rel32 position, exit index, flags there).
    private var stubs: [(patch: Int, exit: Int, flags: FlagsAt)] = []
    private var flagsAt = FlagsAt.entry
    private var needsFlagsIn = false
    private var span: Int64 = 0
    /// The exit that hands instruction k to the interpreter, once made.
    private var interpretExit: [Int: Int] = [:]
    /// Guest register → the host register holding it in this block (`cacheRegisters`), and
    /// the cached registers the block may write (stored back at every exit).
    private var cached = [UInt8?](repeating: nil, count: 16)
    private var writeBack: [(guest: UInt8, host: UInt8)] = []

    /// Host registers that hold guest registers inside a block: the callee-saved RBX, RBP,
    /// R12–R15 (the entry trampoline saves them) and R10, R11. The rest is the code's own:
    /// RDI (guest registers), RSI (frame), RAX, RCX, RDX, R8, R9 (scratch).
    static let cacheRegisters: [UInt8] = [3, 5, 12, 13, 14, 15, 10, 11]

    static let blockValidOffset = Int32(MemoryLayout<DecodeCache.Block>.offset(of: \.valid)!)
    static let blockCodeOffset = Int32(MemoryLayout<DecodeCache.Block>.offset(of: \.code)!)
    static let blockKeyOffset = Int32(MemoryLayout<DecodeCache.Block>.offset(of: \.key)!)

    private let tlbIndexMask: UInt64
    private let tlbStrideShift: UInt8

    private init(block: Int32, pageOffset: Int64, exitBase: Int, slots: UnsafeMutablePointer<ChainSlot>) {
        self.block = block
        self.pageOffset = pageOffset
        self.exitBase = exitBase
        self.slots = slots
        tlbIndexMask = SoftwareTLB.indexMask
        tlbStrideShift = UInt8(MemoryLayout<TLBEntry>.stride.trailingZeroBitCount)
    }

    /// Translates `count` instructions; nil when not even the first can be translated.
    /// Exits are numbered from `exitBase` in the shared exits table; `.next` exits follow
    /// their slot in `slots` (same numbering) when it is valid.
    static func translate(_ inst: UnsafePointer<DecodedInstruction>, count: Int, block: Int32, pageOffset: Int64,
                          exitBase: Int, slots: UnsafeMutablePointer<ChainSlot>) -> Result? {
        precondition(MemoryLayout<TLBEntry>.stride.nonzeroBitCount == 1)
        var t = BlockTranslator(block: block, pageOffset: pageOffset, exitBase: exitBase, slots: slots)
        t.cacheRegisters(inst, count: count)
        var offsets = [Int64](repeating: 0, count: count + 1)
        for k in 0..<count { offsets[k + 1] = offsets[k] + Int64(inst[k].length) }
        t.span = offsets[count]
        var k = 0
        var ended = false
        while k < count {
            let d = inst[k]
            let before = (t.e.position, t.exits.count, t.stubs.count, t.flagsAt, t.needsFlagsIn)
            let outcome = t.instruction(d, k: k, offset: offsets[k], next: offsets[k + 1])
            if outcome == .unsupported {
                // Undo a partial emission, then hand this instruction to the interpreter.
                t.e.bytes.removeSubrange(before.0...)
                t.exits.removeSubrange(before.1...)
                t.stubs.removeSubrange(before.2...)
                t.interpretExit = t.interpretExit.filter { $0.value < before.1 }
                t.flagsAt = before.3
                t.needsFlagsIn = before.4
                if k == 0 { return nil }
                t.inlineExit(t.exit(Int32(offsets[k]), retired: k, .interpret))
                ended = true
                break
            }
            k += 1
            if outcome == .ended { ended = true; break }
        }
        if !ended {
            t.inlineExit(t.exit(Int32(offsets[count]), retired: count, .next))
        }
        for s in t.stubs {
            t.e.bind(s.patch, to: t.e.position)
            t.exitBody(s.exit, flags: s.flags)
        }
        return Result(code: t.e.bytes, exits: t.exits, needsFlagsIn: t.needsFlagsIn, span: t.span,
                      translated: k)
    }

    private enum Outcome { case done, ended, unsupported }

    // MARK: Guest registers in host registers

    /// Picks the guest registers this block uses at least twice (up to the first
    /// instruction it cannot translate), most used first, and loads them into host
    /// registers at the block's start. Every access to a guest register goes through
    /// `slot`, so the choice changes no instruction's translation, only its operands; every
    /// exit stores the ones the block may write back to the register file, so state is
    /// exact wherever the code leaves.
    private mutating func cacheRegisters(_ inst: UnsafePointer<DecodedInstruction>, count: Int) {
        var uses = [Int](repeating: 0, count: 16)
        var written = [Bool](repeating: false, count: 16)
        func note(_ g: UInt8, write: Bool) {
            var r = g
            if r >= DecodedInstruction.highByteBase && r < DecodedInstruction.highByteBase + 4 { r -= DecodedInstruction.highByteBase }
            guard r < 16 else { return }
            uses[Int(r)] += 1
            if write { written[Int(r)] = true }
        }
        for k in 0..<count {
            let d = inst[k]
            guard BlockTranslator.handles(d) else { break }
            // Conservative: reg and a register rm count as written whatever the form.
            note(d.reg, write: true)
            if d.isMemory {
                if d.base != DecodedInstruction.ripBase { note(d.base, write: false) }
                note(d.index, write: false)
            } else {
                note(d.rm, write: true)
            }
            switch d.op.unfused {
            case .pushReg, .pushImm, .popReg, .callRel, .ret, .pushf, .callRM: note(4, write: true)
            case .leave: note(4, write: true); note(5, write: true)
            case .aluAccImm, .testAccImm: note(0, write: true)
            case .shiftRMCL: note(1, write: false)
            default: break
            }
        }
        let order = (0..<16).filter { uses[$0] >= 2 }.sorted { uses[$0] > uses[$1] }
        for (g, h) in zip(order, BlockTranslator.cacheRegisters) {
            cached[g] = h
            e.load(h, .at(R.rdi, Int32(g) * 8), width: 8)
            if written[g] { writeBack.append((UInt8(g), h)) }
        }
    }

    /// Stores the cached guest registers the block may have changed (before any exit).
    private mutating func storeCachedRegisters() {
        for (g, h) in writeBack { e.store(.at(R.rdi, Int32(g) * 8), h, width: 8) }
    }

    // MARK: Exits and flags

    private func exit(_ ripOffset: Int32, retired: Int, _ kind: TranslationExit.Kind) -> TranslationExit {
        TranslationExit(ripOffset: ripOffset, retired: UInt8(retired), kind: kind, block: block)
    }

    /// Emits an exit here.
    private mutating func inlineExit(_ x: TranslationExit) {
        exits.append(x)
        exitBody(exits.count - 1, flags: flagsAt)
    }

    /// A conditional jump (host condition `cc`) to a new exit stub.
    private mutating func exitIf(_ cc: UInt8, _ x: TranslationExit) {
        exits.append(x)
        stubs.append((e.jump(cc), exits.count - 1, flagsAt))
    }

    /// The code of exit `local`: saves the guest's flags if the host holds them, counts the
    /// retired instructions, and for a `.next` exit continues in the block its chain slot
    /// names when the slot still holds (`ChainSlot`) and that whole block fits in the
    /// budget; otherwise returns the exit's index to the run loop.
    private mutating func exitBody(_ local: Int, flags: FlagsAt) {
        let x = exits[local]
        let index = exitBase + local
        storeCachedRegisters()
        if flags == .host { saveFlags() }
        e.load(R.r9, .at(R.rsi, TranslationFrame.retiredOffset), width: 8)
        e.lea(R.r9, .at(R.r9, Int32(x.retired)))
        e.store(.at(R.rsi, TranslationFrame.retiredOffset), R.r9, width: 8)
        let samePage = x.kind == .next && pageOffset + Int64(x.ripOffset) >= 0 && pageOffset + Int64(x.ripOffset) < 4096
        if samePage {
            samePageChain(x, index: index, flags: flags)
        } else if x.kind == .next || x.kind == .indirect {
            e.loadImmediate64(R.r8, UInt64(UInt(bitPattern: slots + index)))
            var fails: [Int] = []
            if x.kind == .next {
                // Same source RIP, so the same target RIP.
                e.load(R.rax, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
                e.alu(7, R.rax, .at(R.r8, ChainSlot.sourceRIPOffset), width: 8)
                fails.append(e.jump(HostCodeEmitter.CC.nz))
                e.lea(R.rax, .at(R.rax, x.ripOffset))
            } else {
                // A RET or indirect branch: the target is the one the slot was made for.
                e.load(R.rax, .at(R.rsi, TranslationFrame.branchTargetOffset), width: 8)
                e.alu(7, R.rax, .at(R.r8, ChainSlot.sourceRIPOffset), width: 8)
                fails.append(e.jump(HostCodeEmitter.CC.nz))
            }
            // RAX = target RIP.
            chainFitsAndHasFlags(flags: flags, fails: &fails)
            // The target RIP's page: a TLB hit with execute permission, same physical page.
            tlbEntry(of: R.rax, into: R.rcx)
            e.store(.reg(R.rdx), R.rax, width: 8)
            e.alu(4, .reg(R.rdx), immediate: UInt64(bitPattern: -4096), width: 8)
            e.alu(1, R.rdx, .at(R.rsi, TranslationFrame.tlbGenerationOffset), width: 8)
            e.alu(7, R.rdx, .at(R.rcx, Int32(MemoryLayout<TLBEntry>.offset(of: \.tag)!)), width: 8)
            fails.append(e.jump(HostCodeEmitter.CC.nz))
            e.load(R.rdx, .at(R.rsi, TranslationFrame.execMaskOffset), width: 4)
            e.test(.at(R.rcx, Int32(MemoryLayout<TLBEntry>.offset(of: \.perms)!)), R.rdx, width: 4)
            fails.append(e.jump(HostCodeEmitter.CC.z))
            e.load(R.rdx, .at(R.rcx, Int32(MemoryLayout<TLBEntry>.offset(of: \.physical)!)), width: 8)
            e.alu(7, R.rdx, .at(R.r8, ChainSlot.targetPhysicalPageOffset), width: 8)
            fails.append(e.jump(HostCodeEmitter.CC.nz))
            // The target block: still valid, still with this translation and key.
            e.load(R.rcx, .at(R.r8, ChainSlot.targetBlockOffset), width: 8)
            e.test(.reg(R.rcx), R.rcx, width: 8)
            fails.append(e.jump(HostCodeEmitter.CC.z))
            e.alu(7, .at(R.rcx, BlockTranslator.blockValidOffset), immediate: 0, width: 1)
            fails.append(e.jump(HostCodeEmitter.CC.z))
            e.load(R.rdx, .at(R.rcx, BlockTranslator.blockCodeOffset), width: 8)
            e.alu(7, R.rdx, .at(R.r8, ChainSlot.targetCodeOffset), width: 8)
            fails.append(e.jump(HostCodeEmitter.CC.nz))
            e.load(R.rdx, .at(R.rcx, BlockTranslator.blockKeyOffset), width: 8)
            e.alu(7, R.rdx, .at(R.r8, ChainSlot.targetKeyOffset), width: 8)
            fails.append(e.jump(HostCodeEmitter.CC.nz))
            e.store(.at(R.rsi, TranslationFrame.entryRIPOffset), R.rax, width: 8)
            e.jumpIndirect(.at(R.r8, ChainSlot.targetCodeOffset))
            for p in fails { e.bind(p, to: e.position) }
        }
        e.exitTo(.at(R.rsi, TranslationFrame.exitAddressOffset), index: UInt32(index))
    }

    /// Chain checks common to every slot (R8), jumping to a `fails` label otherwise: the whole
    /// target block fits in the budget (R9 = instructions retired so far), and a target that
    /// reads flags first finds them in the frame — known here unless the flags are still the
    /// block's entry flags, whose presence in the frame is known only at run time.
    private mutating func chainFitsAndHasFlags(flags: FlagsAt, fails: inout [Int]) {
        e.load(R.rdx, .at(R.r8, ChainSlot.targetCountOffset), width: 4)
        e.alu(0, R.rdx, .reg(R.r9), width: 8)
        e.alu(7, R.rdx, .at(R.rsi, TranslationFrame.budgetOffset), width: 8)
        fails.append(e.jump(HostCodeEmitter.CC.a))
        guard flags == .entry else { return }
        e.load(R.rdx, .at(R.r8, ChainSlot.targetNeedsFlagsOffset), width: 4)
        e.test(.at(R.rsi, TranslationFrame.flagsValidOffset), R.rdx, width: 4)
        let ok = e.jump(HostCodeEmitter.CC.nz)
        e.test(.reg(R.rdx), R.rdx, width: 4)
        fails.append(e.jump(HostCodeEmitter.CC.nz))
        e.bind(ok, to: e.position)
    }

    /// The chain of a `.next` exit whose target lies in the block's own page: the target's
    /// physical address is the block's plus the same offset, and the page's translation and
    /// execute permission were checked when the chain (or the run loop) entered it and cannot
    /// change inside translated code (TLB fills, flushes and CPL changes all happen in the
    /// interpreter). So the slot needs no TLB check: only the same source RIP (the run loop
    /// filled the slot after checking the target's span at that RIP: `spanIsCanonical`),
    /// that its block is still valid with the translation it names (a block removed by a
    /// store stays invalid; a full flush clears the slots), and `chainFitsAndHasFlags`.
    private mutating func samePageChain(_ x: TranslationExit, index: Int, flags: FlagsAt) {
        e.loadImmediate64(R.r8, UInt64(UInt(bitPattern: slots + index)))
        var fails: [Int] = []
        e.load(R.rax, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
        e.alu(7, R.rax, .at(R.r8, ChainSlot.sourceRIPOffset), width: 8)
        fails.append(e.jump(HostCodeEmitter.CC.nz))
        e.load(R.rcx, .at(R.r8, ChainSlot.targetBlockOffset), width: 8)
        e.test(.reg(R.rcx), R.rcx, width: 8)
        fails.append(e.jump(HostCodeEmitter.CC.z))
        chainFitsAndHasFlags(flags: flags, fails: &fails)
        e.alu(7, .at(R.rcx, BlockTranslator.blockValidOffset), immediate: 0, width: 1)
        fails.append(e.jump(HostCodeEmitter.CC.z))
        e.load(R.rdx, .at(R.rcx, BlockTranslator.blockCodeOffset), width: 8)
        e.alu(7, R.rdx, .at(R.r8, ChainSlot.targetCodeOffset), width: 8)
        fails.append(e.jump(HostCodeEmitter.CC.nz))
        e.lea(R.rax, .at(R.rax, x.ripOffset))
        e.store(.at(R.rsi, TranslationFrame.entryRIPOffset), R.rax, width: 8)
        e.jumpIndirect(.at(R.r8, ChainSlot.targetCodeOffset))
        for p in fails { e.bind(p, to: e.position) }
    }

    /// Jumps (host condition `cc`) to the exit handing instruction `k` to the interpreter.
    private mutating func interpretIf(_ cc: UInt8, k: Int, offset: Int64) {
        precondition(flagsAt != .host)
        if let x = interpretExit[k] {
            stubs.append((e.jump(cc), x, flagsAt))
            return
        }
        exitIf(cc, exit(Int32(offset), retired: k, .interpret))
        interpretExit[k] = exits.count - 1
    }

    /// Stores the host's status flags as the guest's, in the frame's compact form (LAHF's
    /// AH and SETO's AL; far cheaper than PUSHFQ). Clobbers RAX.
    private mutating func saveFlags() {
        e.byte(0x9F)                                                        // LAHF
        e.setcc(0, .reg(R.rax))                                             // SETO AL
        e.store(.at(R.rsi, TranslationFrame.flagsOffset), R.rax, width: 2)
        e.storeImmediate(.at(R.rsi, TranslationFrame.flagsValidOffset), 1, width: 8)
    }

    /// Loads the guest's status flags from the frame's compact form: ADD AL, 7FH sets OF
    /// exactly when AL = 1, then SAHF sets SF, ZF, AF, PF and CF from AH. Clobbers RAX, so
    /// it comes before an instruction's operands are loaded.
    private mutating func restoreFlags() {
        e.movzx(R.rax, .at(R.rsi, TranslationFrame.flagsOffset), from: 2, width: 4)
        e.alu(0, .reg(R.rax), immediate: 0x7F, width: 1)
        e.byte(0x9E)                                                        // SAHF
    }

    /// Before host code that clobbers RFLAGS: keep the guest's flags in the frame.
    private mutating func spillFlags() {
        if flagsAt == .host {
            saveFlags()
            flagsAt = .frame
        }
    }

    /// Before an instruction that reads flags: load them into the host's RFLAGS.
    private mutating func loadFlags() {
        switch flagsAt {
        case .host: return
        case .entry:
            needsFlagsIn = true
            restoreFlags()
        case .frame:
            restoreFlags()
        }
        flagsAt = .host
    }

    private mutating func noteTarget(_ offset: Int64) {
        span = max(span, offset < 0 ? -offset : offset)
    }

    // MARK: Guest operands

    /// The guest register slot of register `g` (0–15).
    private func slot(_ g: UInt8) -> Operand {
        if let h = cached[Int(g & 15)] { return .reg(h) }
        return .at(R.rdi, Int32(g) * 8)
    }

    /// A guest register operand of `size` bytes loaded into host register `h`: returns the
    /// host register code the instruction should use (AH/DH for AH–BH) and whether it is a
    /// high byte. Bytes and words load the whole register so the store keeps the rest.
    private mutating func loadRegister(_ g: UInt8, _ size: Int, into h: UInt8) -> (code: UInt8, high: Bool) {
        if size == 1 && g >= DecodedInstruction.highByteBase {
            e.load(h, slot(g - DecodedInstruction.highByteBase), width: 8)
            return (h + 4, true)
        }
        e.load(h, slot(g), width: size == 4 ? 4 : 8)
        return (h, false)
    }

    /// Stores host register `h` (all 64 bits: zero-extended for 32-bit results, merged for
    /// byte and word results) into the slot of guest register `g`.
    private mutating func storeRegister(_ g: UInt8, _ size: Int, from h: UInt8) {
        let r = size == 1 && g >= DecodedInstruction.highByteBase ? g - DecodedInstruction.highByteBase : g
        e.store(slot(r), h, width: 8)
    }

    /// The effective address of the memory operand into RCX, without touching RFLAGS
    /// (MOV and LEA only); with `segment`, plus the FS/GS base. False when not translatable.
    private mutating func address(_ d: DecodedInstruction, next: Int64, segment: Bool) -> Bool {
        guard d.addrSize == 8 || d.addrSize == 4 else { return false }
        var disp = d.disp
        let b = d.base, x = d.index
        if b == DecodedInstruction.ripBase {
            guard d.addrSize == 8 else { return false }
            e.load(R.rcx, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
            disp &+= next
        } else if b != DecodedInstruction.noRegister {
            e.load(R.rcx, slot(b), width: 8)
        } else {
            e.loadImmediate64(R.rcx, 0)
        }
        guard disp >= Int64(Int32.min) && disp <= Int64(Int32.max) else { return false }
        if x != DecodedInstruction.noRegister {
            e.load(R.r8, slot(x), width: 8)
            e.lea(R.rcx, .mem(base: R.rcx, index: R.r8, scale: d.scale, disp: Int32(disp)))
        } else if disp != 0 {
            e.lea(R.rcx, .at(R.rcx, Int32(disp)))
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
    /// otherwise the code exits to the interpreter at instruction `k`. Clobbers R8, R9,
    /// RFLAGS (and RAX, saving the guest's flags).
    private mutating func probe(size: Int, write: Bool, k: Int, offset: Int64) {
        spillFlags()
        tlbEntry(of: R.rcx, into: R.r8)
        // The tag is compared with the page of the access's last byte: an access crossing
        // into the next page cannot match the entry of its first page (the next page has the
        // next index), so one compare checks both.
        e.lea(R.r9, .at(R.rcx, Int32(size - 1)))
        e.alu(4, .reg(R.r9), immediate: UInt64(bitPattern: -4096), width: 8)
        e.alu(1, R.r9, .at(R.rsi, TranslationFrame.tlbGenerationOffset), width: 8)
        e.alu(7, R.r9, .at(R.r8, Int32(MemoryLayout<TLBEntry>.offset(of: \.tag)!)), width: 8)
        interpretIf(HostCodeEmitter.CC.nz, k: k, offset: offset)
        e.load(R.r9, .at(R.rsi, write ? TranslationFrame.writeMaskOffset : TranslationFrame.readMaskOffset), width: 4)
        e.test(.at(R.r8, Int32(MemoryLayout<TLBEntry>.offset(of: \.perms)!)), R.r9, width: 4)
        interpretIf(HostCodeEmitter.CC.z, k: k, offset: offset)
        e.load(R.r8, .at(R.r8, Int32(MemoryLayout<TLBEntry>.offset(of: \.host)!)), width: 8)
        e.alu(4, .reg(R.rcx), immediate: 0xFFF, width: 4)
        e.alu(0, R.rcx, .reg(R.r8), width: 8)
    }

    /// Host register `into` = the current TLB set's entry for the linear address in `la`
    /// (`SoftwareTLB.slot`).
    private mutating func tlbEntry(of la: UInt8, into r: UInt8) {
        e.store(.reg(r), la, width: 8)
        e.shiftRight(.reg(r), 12, width: 8)
        e.alu(4, .reg(r), immediate: tlbIndexMask, width: 4)
        e.shiftLeft(.reg(r), tlbStrideShift, width: 8)
        e.alu(0, r, .at(R.rsi, TranslationFrame.tlbEntriesOffset), width: 8)
    }

    /// The memory operand of `d`: address, then the TLB fast path; RCX = host address.
    private mutating func memoryOperand(_ d: DecodedInstruction, size: Int, write: Bool, k: Int,
                                        offset: Int64, next: Int64) -> Bool {
        guard address(d, next: next, segment: true) else { return false }
        probe(size: size, write: write, k: k, offset: offset)
        return true
    }

    /// The target of a RET or an indirect CALL/JMP, in RAX, becomes the frame's
    /// `branchTarget` if it is canonical with 48-bit linear addresses (so with 57-bit ones
    /// too); otherwise the interpreter runs instruction `k`, which raises the #GP(0) the SDM
    /// gives a non-canonical target (Vol. 2A "CALL", "JMP"; Vol. 2B "RET") before the
    /// instruction changes anything, or, with 5-level paging, takes the branch. Call with
    /// the flags out of the host (no check below clobbers RAX).
    private mutating func branchTarget(k: Int, offset: Int64) {
        e.store(.reg(R.rdx), R.rax, width: 8)
        e.shiftLeft(.reg(R.rdx), 16, width: 8)
        e.shift(7, .reg(R.rdx), count: 16, width: 8)
        e.alu(7, R.rdx, .reg(R.rax), width: 8)
        interpretIf(HostCodeEmitter.CC.nz, k: k, offset: offset)
        e.store(.at(R.rsi, TranslationFrame.branchTargetOffset), R.rax, width: 8)
    }

    /// A near CALL's push of the next instruction's RIP (entry RIP + `next`), through host
    /// register `h`; a stack slot that misses the TLB hands instruction `k` to the interpreter.
    private mutating func pushReturnAddress(_ next: Int64, using h: UInt8, k: Int, offset: Int64) {
        stackAddress(-8)
        probe(size: 8, write: true, k: k, offset: offset)
        e.load(h, .at(R.rsi, TranslationFrame.entryRIPOffset), width: 8)
        e.lea(h, .at(h, Int32(next)))
        e.store(.at(R.rcx), h, width: 8)
        adjustStack(-8, using: h)
    }

    /// RCX = RSP + `delta` (a stack slot; SS has base 0 in 64-bit mode).
    private mutating func stackAddress(_ delta: Int32) {
        e.load(R.rcx, slot(4), width: 8)
        if delta != 0 { e.lea(R.rcx, .at(R.rcx, delta)) }
    }

    /// RSP += `delta`, without touching RFLAGS.
    private mutating func adjustStack(_ delta: Int32, using h: UInt8) {
        e.load(h, slot(4), width: 8)
        e.lea(h, .at(h, delta))
        e.store(slot(4), h, width: 8)
    }

    private static func fitsInt32(_ v: UInt64) -> Bool {
        let s = Int64(bitPattern: v)
        return s >= Int64(Int32.min) && s <= Int64(Int32.max)
    }

    // MARK: Instructions

    /// Whether `d` is a form `instruction` translates (some operand forms of these are
    /// still left to the interpreter: 16-bit addressing, an immediate beyond imm32).
    static func handles(_ d: DecodedInstruction) -> Bool {
        if d.hasLock { return false }
        switch d.op.unfused {
        case .nop, .movRegImm, .movRMImm, .movRMReg, .movRegRM, .movzx, .movsx, .movsxd, .lea,
             .aluRMReg, .aluRMImm, .aluRegRM, .aluAccImm, .testRMReg, .testRMImm, .testAccImm,
             .incRM, .decRM, .notRM, .negRM, .setcc, .jcc, .jmpRel:
            return true
        case .cmovcc:
            return d.opSize >= 4
        case .callRel, .ret, .pushReg, .pushImm, .popReg, .leave, .pushf, .callRM, .jmpRM:
            return d.opSize == 8
        case .btRMImm:
            return d.opSize >= 4 && d.modrmReg >= 4
        case .shiftRMImm, .shiftRMCL:
            return !d.isMemory && d.opSize >= 4 && (d.sub & 7 == 4 || d.sub & 7 == 5 || d.sub & 7 == 7)
        default:
            return false
        }
    }

    private mutating func instruction(_ d: DecodedInstruction, k: Int, offset: Int64, next: Int64) -> Outcome {
        if d.hasLock { return .unsupported }
        let s = Int(d.opSize)
        let mem = d.isMemory
        switch d.op.unfused {
        case .nop:
            return .done

        case .movRegImm:
            return moveImmediate(toRegister: d.reg, d.imm, size: s) ? .done : .unsupported
        case .movRMImm:
            if !mem { return moveImmediate(toRegister: d.rm, d.imm, size: s) ? .done : .unsupported }
            guard s != 8 || BlockTranslator.fitsInt32(d.imm) else { return .unsupported }
            guard memoryOperand(d, size: s, write: true, k: k, offset: offset, next: next) else { return .unsupported }
            e.storeImmediate(.at(R.rcx), d.imm, width: s)
            return .done

        case .movRMReg:
            if !mem { moveRegister(d.reg, to: d.rm, size: s); return .done }
            guard memoryOperand(d, size: s, write: true, k: k, offset: offset, next: next) else { return .unsupported }
            let src = loadRegister(d.reg, s, into: R.rdx)
            e.store(.at(R.rcx), src.code, width: s, byteHigh: src.high)
            return .done

        case .movRegRM:
            if !mem { moveRegister(d.rm, to: d.reg, size: s); return .done }
            guard memoryOperand(d, size: s, write: false, k: k, offset: offset, next: next) else { return .unsupported }
            if s >= 4 {
                e.load(R.rax, .at(R.rcx), width: s)
            } else {
                let dst = loadRegister(d.reg, s, into: R.rax)
                e.load(dst.code, .at(R.rcx), width: s, byteHigh: dst.high)
            }
            storeRegister(d.reg, s, from: R.rax)
            return .done

        case .movzx, .movsx, .movsxd:
            return extend(d, k: k, offset: offset, next: next) ? .done : .unsupported

        case .lea:
            guard s >= 4, address(d, next: next, segment: false) else { return .unsupported }
            if s == 4 { e.store(.reg(R.rcx), R.rcx, width: 4) }
            e.store(slot(d.reg), R.rcx, width: 8)
            return .done

        case .aluRMReg, .aluRMImm:
            let k8 = d.sub
            let imm = d.op == .aluRMImm || d.op == .aluRMImmJcc
            if imm && s == 8 && !BlockTranslator.fitsInt32(d.imm) { return .unsupported }
            if mem {
                guard memoryOperand(d, size: s, write: k8 != 7, k: k, offset: offset, next: next) else { return .unsupported }
                if k8 == 2 || k8 == 3 { loadFlags() }
                if imm {
                    e.alu(k8, .at(R.rcx), immediate: d.imm, width: s)
                } else {
                    let src = loadRegister(d.reg, s, into: R.rdx)
                    e.alu(k8, .at(R.rcx), src.code, width: s, byteHigh: src.high)
                }
                flagsAt = .host
                return .done
            }
            if imm {
                if k8 == 2 || k8 == 3 { loadFlags() }
                let dst = loadRegister(d.rm, s, into: R.rax)
                e.alu(k8, .reg(dst.code), immediate: d.imm, width: s, byteHigh: dst.high)
                if k8 != 7 { storeRegister(d.rm, s, from: R.rax) }
                flagsAt = .host
            } else {
                aluRegisters(k8, d.rm, d.reg, size: s)
            }
            return .done

        case .aluRegRM:
            let k8 = d.sub
            if mem {
                guard memoryOperand(d, size: s, write: false, k: k, offset: offset, next: next) else { return .unsupported }
                if k8 == 2 || k8 == 3 { loadFlags() }
                let dst = loadRegister(d.reg, s, into: R.rax)
                e.alu(k8, dst.code, .at(R.rcx), width: s, byteHigh: dst.high)
                if k8 != 7 { storeRegister(d.reg, s, from: R.rax) }
                flagsAt = .host
            } else {
                aluRegisters(k8, d.reg, d.rm, size: s)
            }
            return .done

        case .aluAccImm:
            let k8 = d.sub
            if s == 8 && !BlockTranslator.fitsInt32(d.imm) { return .unsupported }
            if k8 == 2 || k8 == 3 { loadFlags() }
            let dst = loadRegister(0, s, into: R.rax)
            e.alu(k8, .reg(dst.code), immediate: d.imm, width: s)
            if k8 != 7 { storeRegister(0, s, from: R.rax) }
            flagsAt = .host
            return .done

        case .testRMReg, .testRMImm, .testAccImm:
            let imm = d.op != .testRMReg && d.op != .testRMRegJcc
            if imm && s == 8 && !BlockTranslator.fitsInt32(d.imm) { return .unsupported }
            let acc = d.op == .testAccImm || d.op == .testAccImmJcc
            var a: Operand
            var high = false
            if mem && !acc {
                guard memoryOperand(d, size: s, write: false, k: k, offset: offset, next: next) else { return .unsupported }
                a = .at(R.rcx)
            } else {
                let r = loadRegister(acc ? 0 : d.rm, s, into: R.rax)
                a = .reg(r.code)
                high = r.high
            }
            if imm {
                e.test(a, immediate: d.imm, width: s, byteHigh: high)
            } else {
                let b = loadRegister(d.reg, s, into: R.rdx)
                e.test(a, b.code, width: s, byteHigh: high || b.high)
            }
            flagsAt = .host
            return .done

        case .incRM, .decRM, .notRM, .negRM:
            let u: HostCodeEmitter.Unary = d.op == .incRM ? .inc : d.op == .decRM ? .dec : d.op == .notRM ? .not : .neg
            if mem {
                guard memoryOperand(d, size: s, write: true, k: k, offset: offset, next: next) else { return .unsupported }
                if u == .inc || u == .dec { loadFlags() }
                e.unary(u, .at(R.rcx), width: s)
            } else {
                if u == .inc || u == .dec { loadFlags() }
                let r = loadRegister(d.rm, s, into: R.rax)
                e.unary(u, .reg(r.code), width: s, byteHigh: r.high)
                storeRegister(d.rm, s, from: R.rax)
            }
            if u != .not { flagsAt = .host }
            return .done

        case .shiftRMImm, .shiftRMCL:
            return shift(d) ? .done : .unsupported

        case .setcc:
            if mem {
                guard memoryOperand(d, size: 1, write: true, k: k, offset: offset, next: next) else { return .unsupported }
                loadFlags()
                e.setcc(d.sub, .at(R.rcx))
            } else {
                loadFlags()
                let r = loadRegister(d.rm, 1, into: R.rax)
                e.setcc(d.sub, .reg(r.code), byteHigh: r.high)
                storeRegister(d.rm, 1, from: R.rax)
            }
            return .done

        case .cmovcc:
            guard s >= 4 else { return .unsupported }
            if mem {
                guard memoryOperand(d, size: s, write: false, k: k, offset: offset, next: next) else { return .unsupported }
                loadFlags()
                e.load(R.rdx, .at(R.rcx), width: s)
            } else {
                loadFlags()
                e.load(R.rdx, slot(d.rm), width: s)
            }
            e.load(R.rax, slot(d.reg), width: s)
            e.cmovcc(d.sub, R.rax, .reg(R.rdx), width: s)
            e.store(slot(d.reg), R.rax, width: 8)
            return .done

        case .jcc:
            let target = next &+ Int64(bitPattern: d.imm)
            noteTarget(target)
            loadFlags()
            exitIf(d.sub, exit(Int32(truncatingIfNeeded: target), retired: k + 1, .next))
            return .done

        case .jmpRel:
            let target = next &+ Int64(bitPattern: d.imm)
            noteTarget(target)
            inlineExit(exit(Int32(truncatingIfNeeded: target), retired: k + 1, .next))
            return .ended

        case .callRel:
            guard s == 8 else { return .unsupported }
            let target = next &+ Int64(bitPattern: d.imm)
            noteTarget(target)
            pushReturnAddress(next, using: R.rax, k: k, offset: offset)
            inlineExit(exit(Int32(truncatingIfNeeded: target), retired: k + 1, .next))
            return .ended

        case .ret:
            guard s == 8 else { return .unsupported }
            stackAddress(0)
            probe(size: 8, write: false, k: k, offset: offset)
            e.load(R.rax, .at(R.rcx), width: 8)
            branchTarget(k: k, offset: offset)
            adjustStack(8, using: R.rax)
            inlineExit(exit(Int32(offset), retired: k + 1, .indirect))
            return .ended

        case .callRM, .jmpRM:
            guard s == 8 else { return .unsupported }
            if mem {
                guard memoryOperand(d, size: 8, write: false, k: k, offset: offset, next: next) else { return .unsupported }
                e.load(R.rax, .at(R.rcx), width: 8)
            } else {
                spillFlags()
                e.load(R.rax, slot(d.rm), width: 8)
            }
            branchTarget(k: k, offset: offset)
            if d.op == .callRM { pushReturnAddress(next, using: R.rdx, k: k, offset: offset) }
            inlineExit(exit(Int32(offset), retired: k + 1, .indirect))
            return .ended

        case .pushReg:
            guard s == 8 else { return .unsupported }
            stackAddress(-8)
            probe(size: 8, write: true, k: k, offset: offset)
            e.load(R.rax, slot(d.reg), width: 8)
            e.store(.at(R.rcx), R.rax, width: 8)
            adjustStack(-8, using: R.rax)
            return .done

        case .pushImm:
            guard s == 8, BlockTranslator.fitsInt32(d.imm) else { return .unsupported }
            stackAddress(-8)
            probe(size: 8, write: true, k: k, offset: offset)
            e.storeImmediate(.at(R.rcx), d.imm, width: 8)
            adjustStack(-8, using: R.rax)
            return .done

        case .popReg:
            guard s == 8 else { return .unsupported }
            stackAddress(0)
            probe(size: 8, write: false, k: k, offset: offset)
            e.load(R.rax, .at(R.rcx), width: 8)
            adjustStack(8, using: R.rdx)
            e.store(slot(d.reg), R.rax, width: 8)       // after RSP: POP RSP loads the popped value
            return .done

        case .pushf:
            // SDM Vol. 2B "PUSHF/PUSHFD/PUSHFQ": in 64-bit mode RFLAGS with VM and RF clear.
            guard s == 8 else { return .unsupported }
            stackAddress(-8)
            probe(size: 8, write: true, k: k, offset: offset)         // leaves flags off the host
            let kept = flagsAt
            loadFlags()
            e.byte(0x9C)                                              // PUSHFQ
            e.byte(0x58)                                              // POP RAX
            e.alu(4, .reg(R.rax), immediate: RFLAGS.arithmetic, width: 4)
            e.alu(1, R.rax, .at(R.rsi, TranslationFrame.otherFlagsOffset), width: 8)
            e.store(.at(R.rcx), R.rax, width: 8)
            adjustStack(-8, using: R.rax)
            flagsAt = kept                                            // still where they were
            return .done

        case .btRMImm:
            return bitTest(d, k: k, offset: offset, next: next) ? .done : .unsupported

        case .leave:
            guard s == 8 else { return .unsupported }
            e.load(R.rcx, slot(5), width: 8)                         // RSP ← RBP, then POP RBP
            probe(size: 8, write: false, k: k, offset: offset)
            e.load(R.rax, .at(R.rcx), width: 8)
            e.load(R.rdx, slot(5), width: 8)
            e.lea(R.rdx, .at(R.rdx, 8))
            e.store(slot(4), R.rdx, width: 8)
            e.store(slot(5), R.rax, width: 8)
            return .done

        default:
            return .unsupported
        }
    }

    /// SHL/SHR/SAR of a 32- or 64-bit register by imm8 or CL, with the interpreter's flags
    /// (`Processor.shift`): CF, ZF, SF, PF as the SDM defines them, AF clear, and OF computed
    /// as for a count of 1 whatever the count (SHL: MSB(result) XOR CF; SHR: MSB(operand);
    /// SAR: 0) — so the host's undefined AF and OF are replaced. A masked count of 0 changes
    /// no flag; a 32-bit destination is still zero-extended (SDM Vol. 2B "SAL/SAR/SHL/SHR").
    private mutating func shift(_ d: DecodedInstruction) -> Bool {
        let s = Int(d.opSize)
        let kind = d.sub & 7
        guard !d.isMemory, s >= 4, kind == 4 || kind == 5 || kind == 7 else { return false }
        let mask: UInt8 = s == 8 ? 63 : 31
        let slot = slot(d.rm)
        var skip: Int? = nil
        var count: UInt8? = nil
        if d.op == .shiftRMImm {
            count = UInt8(truncatingIfNeeded: d.imm) & mask
            if count == 0 {
                if s == 4 { e.load(R.rax, slot, width: 4); e.store(slot, R.rax, width: 8) }
                return true
            }
        } else {
            // The count is known only now: keep the flags in the frame for a count of 0.
            if flagsAt == .entry {
                needsFlagsIn = true          // the run loop (or a chain) leaves them there
                flagsAt = .frame
            } else {
                spillFlags()
            }
            if s == 4 { e.load(R.rax, slot, width: 4); e.store(slot, R.rax, width: 8) }
            e.load(R.rcx, self.slot(1), width: 4)
            e.alu(4, .reg(R.rcx), immediate: UInt64(mask), width: 4)
            skip = e.jump(HostCodeEmitter.CC.z)
        }
        e.load(R.rax, slot, width: s)
        if kind == 5 { e.store(.reg(R.r8), R.rax, width: 8) }
        e.shift(kind, .reg(R.rax), count: count, width: s)
        e.store(slot, R.rax, width: 8)
        // Compact flags: AH from LAHF without AF; AL = OF by the interpreter's rule.
        let msb = UInt8(s * 8 - 1)
        e.store(.reg(R.rdx), R.rax, width: 8)                               // the result
        e.byte(0x9F)                                                        // LAHF
        e.alu(4, .reg(R.ah), immediate: ~UInt64(RFLAGS.af) & 0xFF, width: 1, byteHigh: true)
        switch kind {
        case 4:                                                             // MSB(result) XOR CF
            e.shiftRight(.reg(R.rdx), msb, width: 8)
            e.store(.reg(R.rax), R.ah, width: 1, byteHigh: true)            // AL = AH
            e.alu(4, .reg(R.rax), immediate: 1, width: 1)
            e.alu(6, .reg(R.rax), R.rdx, width: 1)
        case 5:                                                             // MSB(operand)
            e.shiftRight(.reg(R.r8), msb, width: 8)
            e.store(.reg(R.rax), R.r8, width: 1)
        default:                                                            // SAR: 0
            e.storeImmediate(.reg(R.rax), 0, width: 1)
        }
        e.store(.at(R.rsi, TranslationFrame.flagsOffset), R.rax, width: 2)
        e.storeImmediate(.at(R.rsi, TranslationFrame.flagsValidOffset), 1, width: 8)
        if let skip { e.bind(skip, to: e.position) }
        flagsAt = .frame
        return true
    }

    /// BT/BTS/BTR/BTC r/m32/64, imm8 (SDM Vol. 2B "BT", "BTS", "BTR", "BTC"): CF ← the bit
    /// (the offset taken modulo the operand size, the address unchanged), then BTS sets it,
    /// BTR clears it and BTC complements it. The interpreter leaves the other flags as they
    /// were (`Processor.bitTest`), where the host's are undefined, so the bit goes straight
    /// into the frame's compact flags and the host's own BTS/BTR/BTC only changes the value.
    private mutating func bitTest(_ d: DecodedInstruction, k: Int, offset: Int64, next: Int64) -> Bool {
        let s = Int(d.opSize)
        let kind = d.modrmReg
        guard s >= 4, kind >= 4 else { return false }
        let bit = UInt8(truncatingIfNeeded: d.imm) & UInt8(s * 8 - 1)
        if d.isMemory {
            guard memoryOperand(d, size: s, write: kind != 4, k: k, offset: offset, next: next) else { return false }
        }
        // The flags go to the frame first (saving them clobbers RAX).
        if flagsAt == .entry {
            needsFlagsIn = true
            flagsAt = .frame
        } else {
            spillFlags()
        }
        let operand: HostCodeEmitter.Operand = d.isMemory ? .at(R.rcx) : slot(d.rm)
        e.load(R.rax, operand, width: s)
        if kind != 4 {
            // 0F BA /5, /6, /7 ib on a copy; a 32-bit register result zero-extends.
            e.load(R.rdx, .reg(R.rax), width: s)
            e.bitOperation(kind, .reg(R.rdx), bit: bit, width: s)
            if d.isMemory { e.store(operand, R.rdx, width: s) } else { e.store(operand, R.rdx, width: 8) }
        }
        if bit != 0 { e.shiftRight(.reg(R.rax), bit, width: 8) }
        e.alu(4, .reg(R.rax), immediate: 1, width: 4)
        e.shiftLeft(.reg(R.rax), 8, width: 4)                       // CF is bit 8 of the compact form
        e.alu(4, .at(R.rsi, TranslationFrame.flagsOffset), immediate: 0xFEFF, width: 2)
        e.alu(1, .at(R.rsi, TranslationFrame.flagsOffset), R.rax, width: 2)
        e.storeImmediate(.at(R.rsi, TranslationFrame.flagsValidOffset), 1, width: 8)
        return true
    }

    /// ALU kind `k8` on two registers: `dst ← dst op src` (CMP only compares).
    private mutating func aluRegisters(_ k8: UInt8, _ dst: UInt8, _ src: UInt8, size s: Int) {
        if k8 == 2 || k8 == 3 { loadFlags() }
        let d = loadRegister(dst, s, into: R.rax)
        let r = loadRegister(src, s, into: R.rdx)
        e.alu(k8, .reg(d.code), r.code, width: s, byteHigh: d.high || r.high)
        if k8 != 7 { storeRegister(dst, s, from: R.rax) }
        flagsAt = .host
    }

    /// MOV reg, imm: 32-bit writes zero-extend, bytes and words merge.
    private mutating func moveImmediate(toRegister g: UInt8, _ imm: UInt64, size s: Int) -> Bool {
        switch s {
        case 8:
            e.loadImmediate64(R.rax, imm)
        case 4:
            e.loadImmediate64(R.rax, imm & 0xFFFF_FFFF)
        default:
            let r = loadRegister(g, s, into: R.rax)
            e.storeImmediate(.reg(r.code), imm, width: s, byteHigh: r.high)
        }
        storeRegister(g, s, from: R.rax)
        return true
    }

    /// MOV reg, reg at `s` bytes.
    private mutating func moveRegister(_ from: UInt8, to: UInt8, size s: Int) {
        if s >= 4 {
            e.load(R.rdx, slot(from), width: s)
            e.store(slot(to), R.rdx, width: 8)
            return
        }
        let dst = loadRegister(to, s, into: R.rax)
        let src = loadRegister(from, s, into: R.rdx)
        e.store(.reg(dst.code), src.code, width: s, byteHigh: dst.high || src.high)
        storeRegister(to, s, from: R.rax)
    }

    /// MOVZX, MOVSX (sub = source size) and MOVSXD into a 32- or 64-bit register.
    private mutating func extend(_ d: DecodedInstruction, k: Int, offset: Int64, next: Int64) -> Bool {
        let s = Int(d.opSize)
        guard s >= 4 else { return false }
        let from = d.op == .movsxd ? (s == 8 ? 4 : s) : Int(d.sub)
        if d.op == .movsxd && s == 4 {
            // Without REX.W, MOVSXD is a 32-bit move.
            if d.isMemory {
                guard memoryOperand(d, size: 4, write: false, k: k, offset: offset, next: next) else { return false }
                e.load(R.rax, .at(R.rcx), width: 4)
                e.store(slot(d.reg), R.rax, width: 8)
            } else {
                moveRegister(d.rm, to: d.reg, size: 4)
            }
            return true
        }
        var src: Operand
        var high = false
        if d.isMemory {
            guard memoryOperand(d, size: from, write: false, k: k, offset: offset, next: next) else { return false }
            src = .at(R.rcx)
        } else {
            let r = loadRegister(d.rm, from, into: R.rdx)
            src = .reg(r.code)
            high = r.high
        }
        if d.op == .movzx {
            e.movzx(R.rax, src, from: from, width: 4, byteHigh: high)     // zero-extends to 64
        } else if high && s == 8 {
            e.movsx(R.rax, src, from: 1, width: 4, byteHigh: true)       // DH needs no REX
            e.movsx(R.rax, .reg(R.rax), from: 4, width: 8)
        } else {
            e.movsx(R.rax, src, from: from, width: s, byteHigh: high)
        }
        e.store(slot(d.reg), R.rax, width: 8)
        return true
    }
}
