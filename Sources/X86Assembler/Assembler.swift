/// A position in the code, bound once; references to it are patched when it is bound.
public final class Label: @unchecked Sendable {
    public internal(set) var address: UInt64?
    public init() {}
}

/// An x86 assembler for writing test guests in Swift.
///
/// Encodings follow SDM Vol. 2A ch. 2 ("Instruction Format"): legacy prefixes, REX, opcode,
/// ModRM, SIB, displacement, immediate. It assembles for one default code size (16, 32 or 64
/// bit) at a known origin so that labels resolve to absolute addresses; `mode` may be changed
/// mid-stream to assemble mode-switch code (e.g. `use32()` after the far jump out of real mode).
public final class Assembler {
    public enum Mode: Sendable { case bits16, bits32, bits64 }

    public private(set) var mode: Mode
    public let origin: UInt64
    public private(set) var bytes: [UInt8] = []

    private enum FixupKind { case relative(width: Int), absolute(width: Int) }
    private struct Fixup {
        let offset: Int        // where the field starts in `bytes`
        let end: Int           // end of the instruction (for relative fields)
        let label: Label
        let kind: FixupKind
        let addend: Int64
    }
    private var fixups: [Fixup] = []

    public init(mode: Mode, origin: UInt64 = 0) {
        self.mode = mode
        self.origin = origin
    }

    /// The address the next byte will be assembled at.
    public var here: UInt64 { origin &+ UInt64(bytes.count) }

    public func use16() { mode = .bits16 }
    public func use32() { mode = .bits32 }
    public func use64() { mode = .bits64 }

    // MARK: Labels

    public func label() -> Label { Label() }

    /// A label bound at the current position.
    public func boundLabel() -> Label {
        let l = Label(); bind(l); return l
    }

    public func bind(_ label: Label) {
        precondition(label.address == nil, "label bound twice")
        label.address = here
    }

    /// The assembled bytes with every label reference resolved.
    public func assemble() -> [UInt8] {
        var out = bytes
        for f in fixups {
            guard let target = f.label.address else { preconditionFailure("label never bound") }
            let value: Int64
            let width: Int
            switch f.kind {
            case .relative(let w):
                value = Int64(bitPattern: target &- (origin &+ UInt64(f.end))) &+ f.addend
                width = w
                let limit: Int64 = w == 1 ? 0x80 : (w == 2 ? 0x8000 : 0x8000_0000)
                precondition(value >= -limit && value < limit, "branch target out of range")
            case .absolute(let w):
                value = Int64(bitPattern: target) &+ f.addend
                width = w
            }
            for k in 0..<width { out[f.offset + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) }
        }
        return out
    }

    // MARK: Data

    public func db(_ values: UInt8...) { bytes += values }
    public func db(_ values: [UInt8]) { bytes += values }
    public func dw(_ v: UInt16) { emitLE(UInt64(v), 2) }
    public func dd(_ v: UInt32) { emitLE(UInt64(v), 4) }
    public func dq(_ v: UInt64) { emitLE(v, 8) }
    /// A 4- or 8-byte absolute reference to a label.
    public func dd(_ l: Label) { absolute(l, width: 4) }
    public func dq(_ l: Label) { absolute(l, width: 8) }

    /// Pads with `fill` until `here` is a multiple of `alignment`.
    public func align(_ alignment: UInt64, fill: UInt8 = 0x90) {
        while here % alignment != 0 { bytes.append(fill) }
    }

    /// Reserves `count` zero bytes.
    public func zeros(_ count: Int) { bytes += [UInt8](repeating: 0, count: count) }

    /// A segment descriptor (SDM Vol. 3A §3.4.5) from base, limit (20 bits), access byte
    /// (P DPL S type) and flags nibble (G D/B L AVL).
    public func descriptor(base: UInt32, limit: UInt32, access: UInt8, flags: UInt8) {
        dw(UInt16(truncatingIfNeeded: limit))
        dw(UInt16(truncatingIfNeeded: base))
        db(UInt8(truncatingIfNeeded: base >> 16), access,
           UInt8(truncatingIfNeeded: (limit >> 16) & 0xF) | (flags << 4),
           UInt8(truncatingIfNeeded: base >> 24))
    }

    // MARK: Encoding core

    func emitLE(_ v: UInt64, _ width: Int) {
        for k in 0..<width { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) }
    }

    func absolute(_ l: Label, width: Int, addend: Int64 = 0) {
        fixups.append(Fixup(offset: bytes.count, end: 0, label: l, kind: .absolute(width: width), addend: addend))
        emitLE(0, width)
    }

    /// A relative field of `width` bytes that is the last field of the instruction.
    func relative(_ l: Label, width: Int) {
        let off = bytes.count
        emitLE(0, width)
        fixups.append(Fixup(offset: off, end: bytes.count, label: l, kind: .relative(width: width), addend: 0))
    }

    /// The operand-size prefix and REX.W for an operation of `size` bytes
    /// (SDM Vol. 2A §2.2.1.2 / Table 3-4). Size 0 = no size-dependent prefix.
    private func operandSizeBits(_ size: Int, default64: Bool) -> (prefix66: Bool, rexW: Bool) {
        switch (mode, size) {
        case (.bits16, 4): return (true, false)
        case (.bits16, 8): preconditionFailure("64-bit operand outside 64-bit mode")
        case (.bits32, 2), (.bits64, 2), (.bits16, 0), (.bits32, 0), (.bits64, 0): return (size == 2, false)
        case (.bits32, 8): preconditionFailure("64-bit operand outside 64-bit mode")
        case (.bits64, 8): return (false, !default64)
        default: return (false, false)
        }
    }

    /// Emits one instruction: prefixes, REX, opcode, ModRM (+SIB/displacement) and immediate.
    /// - Parameters:
    ///   - size: operand size for the 66 prefix / REX.W (0 = none).
    ///   - mandatory: mandatory prefix (66/F2/F3) placed after the legacy prefixes.
    ///   - reg: the ModRM.reg value (register number or opcode extension, 0…15).
    ///   - regIsByteRegister: the reg field names a byte register (for SPL…DIL REX rules).
    func emit(size: Int, default64: Bool = false, mandatory: UInt8? = nil, opcode: [UInt8],
              reg: UInt8, regByte: Register? = nil, rm: RegisterOrMemory,
              immediate: Int64? = nil, immediateWidth: Int = 0) {
        var rex: UInt8 = 0
        var forceREX = false
        var forbidREX = false
        let (p66, w) = operandSizeBits(size, default64: default64)
        if w { rex |= 0x08 }
        if reg >= 8 { rex |= 0x04 }
        if let rb = regByte {
            if rb.needsREX { forceREX = true }
            if rb.isHighByte { forbidREX = true }
        }
        var modrmTail: [UInt8] = []
        var addr67 = false
        var labelDisplacement: (Label, Int64)?
        var segment: SegmentRegister?
        switch rm {
        case .register(let r):
            if r.number >= 8 { rex |= 0x01 }
            if r.needsREX { forceREX = true }
            if r.isHighByte { forbidREX = true }
            modrmTail = [0xC0 | ((reg & 7) << 3) | (r.number & 7)]
        case .memory(let m):
            segment = m.segment
            var address = m.address
            if address.label != nil {
                precondition(address.base == nil && address.index == nil, "label addresses are absolute")
                labelDisplacement = (address.label!, address.displacement)
                address.displacement = 0x7FFF_FFFF  // forces a disp32 field; patched below
            }
            let enc = encodeAddress(address, reg: reg & 7)
            modrmTail = enc.bytes
            rex |= enc.rexXB
            addr67 = enc.addressSizePrefix
        }
        if let s = segment { bytes.append(s.overridePrefix) }
        if addr67 { bytes.append(0x67) }
        if p66 && mandatory != 0x66 { bytes.append(0x66) }
        if let mp = mandatory { bytes.append(mp) }
        if rex != 0 || forceREX {
            precondition(mode == .bits64, "REX prefix outside 64-bit mode")
            precondition(!forbidREX, "AH/CH/DH/BH cannot be encoded with a REX prefix")
            bytes.append(0x40 | rex)
        }
        bytes += opcode
        bytes += modrmTail
        if let (l, addend) = labelDisplacement {
            // The disp32 is the last 4 bytes of the ModRM/SIB/displacement tail.
            let width = mode == .bits16 ? 2 : 4
            fixups.append(Fixup(offset: bytes.count - width, end: 0, label: l, kind: .absolute(width: width), addend: addend))
        }
        if let imm = immediate { emitLE(UInt64(bitPattern: imm), immediateWidth) }
    }

    /// An instruction without ModRM: size prefixes, REX (W, and B for an opcode-embedded
    /// register ≥ 8), opcode bytes, immediate.
    func plain(size: Int, default64: Bool = false, mandatory: UInt8? = nil, _ opcode: [UInt8],
               opcodeRegister: Register? = nil, immediate: Int64? = nil, immediateWidth: Int = 0) {
        let (p66, w) = operandSizeBits(size, default64: default64)
        var rex: UInt8 = w ? 0x08 : 0
        var force = false
        if let r = opcodeRegister {
            if r.number >= 8 { rex |= 0x01 }
            force = r.needsREX
        }
        if p66 && mandatory != 0x66 { bytes.append(0x66) }
        if let mp = mandatory { bytes.append(mp) }
        if rex != 0 || force {
            precondition(mode == .bits64, "REX prefix outside 64-bit mode")
            bytes.append(0x40 | rex)
        }
        var op = opcode
        if let r = opcodeRegister { op[op.count - 1] |= r.number & 7 }
        bytes += op
        if let imm = immediate { emitLE(UInt64(bitPattern: imm), immediateWidth) }
    }

    /// ModRM (+SIB, displacement) for a memory operand (SDM Vol. 2A Tables 2-1 … 2-3).
    private func encodeAddress(_ a: Address, reg: UInt8) -> (bytes: [UInt8], rexXB: UInt8, addressSizePrefix: Bool) {
        if a.ripRelative {
            precondition(mode == .bits64, "RIP-relative addressing exists only in 64-bit mode")
            return ([0x05 | (reg << 3)] + le32(a.displacement), 0, false)
        }
        let regWidth = a.base?.size ?? a.index?.size ?? (mode == .bits16 ? 2 : (mode == .bits32 ? 4 : 8))
        if regWidth == 2 || (a.base == nil && a.index == nil && mode == .bits16) {
            return encode16(a, reg: reg)
        }
        let default32or64 = mode == .bits64 ? 8 : 4
        let prefix67 = mode == .bits16 ? (regWidth == 4) : (regWidth != default32or64)
        var rex: UInt8 = 0
        let disp = a.displacement
        let dispFits8 = disp >= -128 && disp <= 127
        guard let base = a.base else {
            if let idx = a.index {
                // [index*scale + disp32]: SIB with base = 101, mod = 00.
                precondition(idx.number != 4, "RSP cannot be an index")
                if idx.number >= 8 { rex |= 0x02 }
                let sib = (scaleBits(a.scale) << 6) | ((idx.number & 7) << 3) | 5
                return ([0x04 | (reg << 3), sib] + le32(disp), rex, prefix67)
            }
            if mode == .bits64 {
                // Absolute disp32 needs a SIB (mod=00 rm=101 would be RIP-relative).
                return ([0x04 | (reg << 3), 0x25] + le32(disp), 0, prefix67)
            }
            return ([0x05 | (reg << 3)] + le32(disp), 0, prefix67)
        }
        if base.number >= 8 { rex |= 0x01 }
        let needsSIB = a.index != nil || (base.number & 7) == 4
        let mustHaveDisp = (base.number & 7) == 5
        let mod: UInt8 = (disp == 0 && !mustHaveDisp) ? 0 : (dispFits8 ? 1 : 2)
        var out: [UInt8] = []
        if needsSIB {
            var indexBits: UInt8 = 4  // none
            if let idx = a.index {
                precondition(idx.number != 4, "RSP cannot be an index")
                if idx.number >= 8 { rex |= 0x02 }
                indexBits = idx.number & 7
            }
            out = [(mod << 6) | (reg << 3) | 4, (scaleBits(a.scale) << 6) | (indexBits << 3) | (base.number & 7)]
        } else {
            out = [(mod << 6) | (reg << 3) | (base.number & 7)]
        }
        if mod == 1 { out.append(UInt8(truncatingIfNeeded: disp)) }
        if mod == 2 { out += le32(disp) }
        return (out, rex, prefix67)
    }

    /// 16-bit addressing forms (SDM Vol. 2A Table 2-1).
    private func encode16(_ a: Address, reg: UInt8) -> (bytes: [UInt8], rexXB: UInt8, addressSizePrefix: Bool) {
        let prefix67 = mode != .bits16
        precondition(mode != .bits64, "16-bit addressing is not encodable in 64-bit mode")
        let disp = a.displacement
        let regs = [a.base?.number, a.index?.number].compactMap { $0 }.sorted()
        let rmBits: UInt8
        switch regs {
        case [3, 6]: rmBits = 0   // bx+si
        case [3, 7]: rmBits = 1   // bx+di
        case [5, 6]: rmBits = 2   // bp+si
        case [5, 7]: rmBits = 3   // bp+di
        case [6]: rmBits = 4
        case [7]: rmBits = 5
        case [5]: rmBits = 6
        case [3]: rmBits = 7
        case []:
            return ([0x06 | (reg << 3)] + [UInt8(truncatingIfNeeded: disp), UInt8(truncatingIfNeeded: disp >> 8)], 0, prefix67)
        default: preconditionFailure("not a 16-bit addressing form")
        }
        let mustHaveDisp = rmBits == 6
        let mod: UInt8 = (disp == 0 && !mustHaveDisp) ? 0 : ((disp >= -128 && disp <= 127) ? 1 : 2)
        var out: [UInt8] = [(mod << 6) | (reg << 3) | rmBits]
        if mod == 1 { out.append(UInt8(truncatingIfNeeded: disp)) }
        if mod == 2 { out += [UInt8(truncatingIfNeeded: disp), UInt8(truncatingIfNeeded: disp >> 8)] }
        return (out, 0, prefix67)
    }

    private func scaleBits(_ s: UInt8) -> UInt8 {
        switch s { case 1: return 0; case 2: return 1; case 4: return 2; default: return 3 }
    }

    private func le32(_ v: Int64) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }

    /// Width of an immediate for a "z"-sized operand (imm16 for 16-bit, else imm32).
    func immZ(_ size: Int) -> Int { size == 2 ? 2 : 4 }
}
