/// One decoded instruction, as the decode cache stores it and the interpreter executes it.
///
/// Register operands are numbered 0–15 (REX-extended). For byte-sized register operands
/// without a REX prefix, numbers 4–7 in the encoding mean AH, CH, DH, BH: the decoder
/// stores those as `DecodedInstruction.highByteBase + 0…3`.
struct DecodedInstruction: Sendable {
    var op: Op = .invalid
    /// Instruction length in bytes (1–15).
    var length: UInt8 = 0
    /// Operand size in bytes: 1, 2, 4 or 8.
    var opSize: UInt8 = 4
    /// Address size in bytes: 2, 4 or 8.
    var addrSize: UInt8 = 4
    /// Variant: ALU kind, condition code, group `/reg`, segment register, source size …
    var sub: UInt8 = 0
    /// ModR/M `reg` field (REX.R-extended), or the register of opcodes with `+r`.
    var reg: UInt8 = 0
    /// ModR/M `rm` register when the operand is a register (mod = 3).
    var rm: UInt8 = 0
    /// Segment register for the memory operand (default or override).
    var seg: UInt8 = 3
    /// Base register of the memory operand (`noRegister`, or `ripBase` for RIP-relative).
    var base: UInt8 = DecodedInstruction.noRegister
    /// Index register of the memory operand, or `noRegister`.
    var index: UInt8 = DecodedInstruction.noRegister
    /// log2 of the SIB scale.
    var scale: UInt8 = 0
    /// `Flags` bits.
    var flags: UInt8 = 0
    /// ModR/M byte as encoded (for group decoding and VM-exit instruction information).
    var modrm: UInt8 = 0
    var prefixes: UInt8 = 0
    /// Displacement (sign-extended), or the absolute offset of a moffs operand.
    var disp: Int64 = 0
    /// Immediate, sign- or zero-extended as the instruction defines; branch displacement.
    var imm: UInt64 = 0
    /// Second immediate: ENTER's nesting level, a far pointer's selector.
    var imm2: UInt32 = 0

    init() {}

    static let noRegister: UInt8 = 0xFF
    static let ripBase: UInt8 = 0x10
    static let highByteBase: UInt8 = 0x10

    /// `flags` bits.
    enum Flags {
        /// The ModR/M operand is memory (mod ≠ 3).
        static let memory: UInt8 = 1 << 0
        static let lock: UInt8 = 1 << 1
        /// F3 (REP/REPE).
        static let rep: UInt8 = 1 << 2
        /// F2 (REPNE).
        static let repne: UInt8 = 1 << 3
        static let rex: UInt8 = 1 << 4
        /// Ends its decoded block (branches, mode-changing and serializing instructions).
        static let endsBlock: UInt8 = 1 << 5
        /// A REX.W prefix was present.
        static let rexW: UInt8 = 1 << 6
        /// The operand-size prefix (66) was present.
        static let opsizePrefix: UInt8 = 1 << 7
    }

    /// `prefixes` bits that VM-exit instruction information or string I/O needs.
    enum Prefix {
        static let segmentOverride: UInt8 = 1 << 0
        static let addressSize: UInt8 = 1 << 1
    }

    var isMemory: Bool { flags & Flags.memory != 0 }
    var hasLock: Bool { flags & Flags.lock != 0 }
    var hasRep: Bool { flags & Flags.rep != 0 }
    var hasRepne: Bool { flags & Flags.repne != 0 }
    var modrmReg: UInt8 { (modrm >> 3) & 7 }
    var modrmMod: UInt8 { modrm >> 6 }
}
