/// What translated code reads and writes besides the guest's general-purpose registers: one
/// per processor, passed to the code in RSI (the registers come in RDI). The run loop fills
/// the inputs before each call and reads the outputs after.
struct TranslationFrame {
    /// Input: the guest's six status flags in RFLAGS positions (bit 1 set), when the block
    /// reads flags before writing them.
    var flagsIn: UInt64 = 2
    /// Output: RFLAGS as the host left it (only the six status flags are guest state).
    var flagsOut: UInt64 = 0
    /// Input: the RIP the block starts at (blocks are keyed by physical address, so the
    /// code computes RIP-relative values from this).
    var entryRIP: UInt64 = 0
    /// Input: the current software-TLB set's entries and generation (`SoftwareTLB`).
    var tlbEntries: UInt = 0
    var tlbGeneration: UInt64 = 0
    /// Input: `AccessMasks.read` and `.write` for the current CPL and EFLAGS.AC.
    var readMask: UInt32 = 0
    var writeMask: UInt32 = 0
    /// Input: FS and GS bases (64-bit mode adds only these, SDM Vol. 3A §3.4.4).
    var fsBase: UInt64 = 0
    var gsBase: UInt64 = 0
    /// Output: the target a RET popped (the run loop checks it is canonical).
    var returnTarget: UInt64 = 0

    /// Byte offsets of the fields, as the emitted code addresses them.
    static let flagsInOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.flagsIn)!)
    static let flagsOutOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.flagsOut)!)
    static let entryRIPOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.entryRIP)!)
    static let tlbEntriesOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.tlbEntries)!)
    static let tlbGenerationOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.tlbGeneration)!)
    static let readMaskOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.readMask)!)
    static let writeMaskOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.writeMask)!)
    static let fsBaseOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.fsBase)!)
    static let gsBaseOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.gsBase)!)
    static let returnTargetOffset = Int32(MemoryLayout<TranslationFrame>.offset(of: \.returnTarget)!)
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
        /// A RET completed: RIP = `TranslationFrame.returnTarget`; `ripOffset` is the RET's
        /// own offset, for the #GP of a non-canonical target.
        case returned
    }
    var ripOffset: Int32
    var retired: UInt8
    var kind: Kind
    /// RFLAGS's status flags changed and are in `TranslationFrame.flagsOut`.
    var flagsOut: Bool
}

/// The signature of translated code: guest GPRs in RDI, the frame in RSI, exit index in EAX.
typealias TranslatedCode = @convention(c) (UnsafeMutablePointer<UInt64>, UnsafeMutableRawPointer) -> UInt32
