/// What translated code reads and writes besides the guest's general-purpose registers: one
/// per processor, passed to the code in RSI (the registers come in RDI). The run loop fills
/// the inputs before each call and reads the outputs after.
struct TranslationFrame {
    /// In/out: the guest's six status flags in compact form (`compact`: RFLAGS bits 7:0 in
    /// bits 15:8 as LAHF/SAHF move them, OF in bit 0 as SETO writes it). The run loop fills
    /// them before every call and takes them back after it, so code that changes the flags
    /// only stores them here, and a chain never asks whether they are.
    var flags: UInt64 = 0x200
    /// In/out: instructions the run budget still allows. The run loop sets it to the budget;
    /// every exit subtracts the instructions its block retired, and a chain enters a block
    /// only if all of it fits (what is left over is the budget minus the instructions retired
    /// by every block run in this call).
    var room: UInt64 = 0
    /// In/out: the RIP the running block started at (blocks are keyed by physical address,
    /// so the code computes RIP-relative values from this); a chain advances it.
    var entryRIP: UInt64 = 0
    /// In: the current software-TLB set's entries and generation (`SoftwareTLB`).
    var tlbEntries: UInt = 0
    var tlbGeneration: UInt64 = 0
    /// In: `AccessMasks.read`, `.write` and `.exec` for the current CPL and EFLAGS.AC.
    var readMask: UInt32 = 0
    var writeMask: UInt32 = 0
    var execMask: UInt32 = 0
    /// In: FS and GS bases (64-bit mode adds only these, SDM Vol. 3A §3.4.4).
    var fsBase: UInt64 = 0
    var gsBase: UInt64 = 0
    /// Out: the target of the RET or indirect CALL/JMP an `.indirect` exit left through
    /// (canonical: the code checks before the branch).
    var branchTarget: UInt64 = 0
    /// In: RFLAGS without the status flags, VM and RF (what PUSHF adds to them in 64-bit
    /// mode); translated code changes none of these bits.
    var otherFlags: UInt64 = 2
    /// In: where exits jump with the exit index in EAX (`BlockTranslations.exitAddress`).
    var exitAddress: UInt = 0
    /// Scratch for a block's code: page deltas kept by shared-page leaders
    /// (`BlockTranslator.SharedPageGroup`) when no host register is free.
    var pageDeltas: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    /// RFLAGS status flags → compact form.
    @inline(__always) static func compact(_ rflags: UInt64) -> UInt64 {
        (rflags & 0xFF) << 8 | (rflags >> 11) & 1
    }

    /// Compact form → RFLAGS status flags.
    @inline(__always) static func expand(_ c: UInt64) -> UInt64 {
        ((c >> 8) & 0xFF | (c & 1) << 11) & RFLAGS.arithmetic
    }

    /// Byte offsets of the fields, as the emitted code addresses them.
    static func offset(_ k: PartialKeyPath<TranslationFrame>) -> Int32 {
        Int32(MemoryLayout<TranslationFrame>.offset(of: k)!)
    }
    static let flagsOffset = offset(\.flags)
    static let roomOffset = offset(\.room)
    static let entryRIPOffset = offset(\.entryRIP)
    static let tlbEntriesOffset = offset(\.tlbEntries)
    static let tlbGenerationOffset = offset(\.tlbGeneration)
    static let readMaskOffset = offset(\.readMask)
    static let writeMaskOffset = offset(\.writeMask)
    static let execMaskOffset = offset(\.execMask)
    static let fsBaseOffset = offset(\.fsBase)
    static let gsBaseOffset = offset(\.gsBase)
    static let branchTargetOffset = offset(\.branchTarget)
    static let exitAddressOffset = offset(\.exitAddress)
    static let otherFlagsOffset = offset(\.otherFlags)
    static func pageDeltaOffset(_ k: Int) -> Int32 { offset(\.pageDeltas) + Int32(8 * k) }
}

/// Where a `.next` or `.indirect` exit may continue without returning to the run loop: the
/// block that followed it last time. It is still the block the run loop would fetch
/// (`fetchBlock`) if the source ran at the same RIP (a RET or indirect branch: to the same
/// target), the current TLB set maps the target RIP's page, with execute permission for this
/// access, to the physical page the block was decoded from (the check `revalidatedLink`
/// makes), and that block is still valid (stores to code remove blocks). A valid block is the
/// one the slot was filled with, with the same translation: a removed block's index is not
/// reused, nor a translation replaced, before a full flush or a drop of every translation,
/// and both zero the slots. Filled by the run loop, read by the code; an all-zero slot never
/// matches.
struct ChainSlot {
    /// For a `.next` exit, the RIP its block started at; for an `.indirect` one, the target.
    var sourceRIP: UInt64 = 0
    var targetPhysicalPage: UInt64 = 0
    var targetBlock: UInt = 0
    var targetCode: UInt = 0
    var targetCount: UInt32 = 0

    static func offset(_ k: PartialKeyPath<ChainSlot>) -> Int32 { Int32(MemoryLayout<ChainSlot>.offset(of: k)!) }
    static let sourceRIPOffset = offset(\.sourceRIP)
    static let targetPhysicalPageOffset = offset(\.targetPhysicalPage)
    static let targetBlockOffset = offset(\.targetBlock)
    static let targetCodeOffset = offset(\.targetCode)
    static let targetCountOffset = offset(\.targetCount)
}

/// How a translated block ended; the code returns the index of one of its exits.
struct TranslationExit {
    enum Kind: UInt8 {
        /// `retired` instructions completed; RIP = entry RIP + `ripOffset` (the fall-through,
        /// or a static branch target).
        case next
        /// Instruction `retired` did not execute (it is not translated, or its memory access
        /// missed the TLB fast path): RIP = entry + `ripOffset`, and the interpreter runs the
        /// rest of the block from that instruction, faults and all.
        case interpret
        /// A RET or an indirect CALL/JMP completed: RIP = `TranslationFrame.branchTarget`.
        case indirect
    }
    /// From the entry RIP of the block the exit belongs to (`TranslationFrame.entryRIP`).
    var ripOffset: Int32
    /// The block's instructions completed before the exit.
    var retired: UInt8
    var kind: Kind
    /// The decode-cache block the exit belongs to.
    var block: Int32
}

/// The signature of the entry trampoline (`BlockTranslations.entry`): guest GPRs in RDI, the
/// frame in RSI, the block's code in RDX; returns the exit index.
typealias TranslatedEntry = @convention(c) (UnsafeMutablePointer<UInt64>, UnsafeMutableRawPointer, UnsafeRawPointer) -> UInt32
