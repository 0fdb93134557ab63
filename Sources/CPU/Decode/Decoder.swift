/// The instruction decoder: legacy and REX prefixes, opcode maps, ModR/M, SIB,
/// displacement and immediates (SDM Vol. 2A ch. 2, Vol. 2D Appendix A).
enum DecodeResult: Sendable {
    case instruction(DecodedInstruction)
    /// The bytes end before the instruction does; supply more (up to 15) and retry.
    case needMoreBytes
    /// The instruction exceeds 15 bytes: #GP(0) (SDM Vol. 2A §2.3.11).
    case tooLong
}

enum Decoder {
    /// Decodes one instruction from `p` (`available` valid bytes) for a code segment whose
    /// default size is `codeSize` bytes (2, 4, or 8 for 64-bit mode).
    static func decode(_ p: UnsafePointer<UInt8>, available: Int, codeSize: UInt8) -> DecodeResult {
        var s = State(p: p, available: min(available, 15))
        return s.run(codeSize: codeSize)
    }

    /// Convenience for tests and tools: decodes from an array.
    static func decode(_ bytes: [UInt8], codeSize: UInt8) -> DecodeResult {
        bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return .needMoreBytes }
            return decode(base, available: buf.count, codeSize: codeSize)
        }
    }

    private struct NeedMore: Error {}

    private struct State {
        let p: UnsafePointer<UInt8>
        let available: Int
        var pos = 0
        var i = DecodedInstruction()

        init(p: UnsafePointer<UInt8>, available: Int) {
            self.p = p
            self.available = available
        }

        mutating func byte() throws(NeedMore) -> UInt8 {
            guard pos < available else { throw NeedMore() }
            let b = p[pos]
            pos += 1
            return b
        }

        mutating func le(_ n: Int) throws(NeedMore) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(try byte()) << UInt64(8 * k) }
            return v
        }

        mutating func run(codeSize: UInt8) -> DecodeResult {
            do {
                try decodeAll(codeSize: codeSize)
            } catch {
                return available >= 15 ? .tooLong : .needMoreBytes
            }
            if pos > 15 { return .tooLong }
            i.length = UInt8(pos)
            return .instruction(i)
        }

        // swiftlint:disable:next function_body_length cyclomatic_complexity
        mutating func decodeAll(codeSize: UInt8) throws(NeedMore) {
            let is64 = codeSize == 8
            var opsizePrefix = false
            var addrPrefix = false
            var segOverride: UInt8 = 0xFF
            var rex: UInt8 = 0
            var lock = false
            var rep: UInt8 = 0   // 0, 0xF2 or 0xF3 — the last one given
            var b: UInt8
            // Prefixes (SDM Vol. 2A §2.1.1). A REX prefix counts only directly before the opcode.
            while true {
                b = try byte()
                switch b {
                case 0x66: opsizePrefix = true; rex = 0; continue
                case 0x67: addrPrefix = true; rex = 0; continue
                case 0xF0: lock = true; rex = 0; continue
                case 0xF2, 0xF3: rep = b; rex = 0; continue
                case 0x26: segOverride = 0; rex = 0; continue
                case 0x2E: segOverride = 1; rex = 0; continue
                case 0x36: segOverride = 2; rex = 0; continue
                case 0x3E: segOverride = 3; rex = 0; continue
                case 0x64: segOverride = 4; rex = 0; continue
                case 0x65: segOverride = 5; rex = 0; continue
                case 0x40...0x4F where is64: rex = b; continue
                default: break
                }
                break
            }
            let rexW = rex & 8 != 0
            let rexR: UInt8 = (rex & 4) << 1
            let rexX: UInt8 = (rex & 2) << 2
            let rexB: UInt8 = (rex & 1) << 3

            var entry: OpcodeEntry
            var opcode = b
            var twoByte = false
            var map38 = false
            if b == 0x0F {
                opcode = try byte()
                twoByte = true
                if opcode == 0x38 || opcode == 0x3A {
                    let third = try byte()
                    entry = threeByte(escape: opcode, third, rep: rep, opsize: opsizePrefix)
                    map38 = true
                    opcode = third
                } else {
                    entry = OpcodeMap.twoByte[Int(opcode)]
                }
            } else {
                entry = OpcodeMap.oneByte[Int(opcode)]
            }
            i.op = entry.op
            i.sub = entry.sub
            var attr = entry.attr
            var immKind = entry.immediate

            if is64 && attr & OpAttr.invalid64 != 0 {
                // C4/C5 (VEX) and 62 (EVEX) are not implemented: #UD either way.
                i.op = .invalid
            }
            if !is64 && (opcode == 0xC4 || opcode == 0xC5) && !twoByte {
                // VEX outside 64-bit mode when the next byte has mod = 3.
                if pos < available && p[pos] >> 6 == 3 { i.op = .invalid }
            }

            // Address size (SDM Vol. 2A §2.1.1, Table 2-? "effective address size").
            if is64 { i.addrSize = addrPrefix ? 4 : 8 }
            else { i.addrSize = (codeSize == 2) != addrPrefix ? 2 : 4 }

            // ModR/M
            var modrm: UInt8 = 0
            let hasModRM = attr & OpAttr.modrm != 0
            if hasModRM {
                modrm = try byte()
                i.modrm = modrm
                i.reg = ((modrm >> 3) & 7) | rexR
            }
            let mod = modrm >> 6

            // Group resolution by /reg and mandatory prefixes.
            if twoByte || map38 {
                if !map38 { resolveTwoByte(opcode: opcode, modrm: modrm, rep: rep, opsize: opsizePrefix, attr: &attr, imm: &immKind) }
            } else {
                resolveOneByte(opcode: opcode, modrm: modrm, is64: is64, attr: &attr, imm: &immKind, rep: rep)
            }

            // Operand size (SDM Vol. 2A §2.2.1.2 Table 2-4, §3.1.1.1).
            if attr & OpAttr.byteOp != 0 && attr & OpAttr.byteRM == 0 {
                i.opSize = 1
            } else if attr & OpAttr.word != 0 {
                i.opSize = 2
            } else if attr & OpAttr.controlRegister != 0 || attr & OpAttr.vmxOperand != 0 {
                i.opSize = is64 ? 8 : 4
            } else if is64 {
                if rexW { i.opSize = 8 }
                else if attr & OpAttr.force64 != 0 { i.opSize = 8 }
                else if attr & OpAttr.default64 != 0 { i.opSize = opsizePrefix ? 2 : 8 }
                else { i.opSize = opsizePrefix ? 2 : 4 }
            } else {
                i.opSize = (codeSize == 2) != opsizePrefix ? 2 : 4
            }
            // Byte registers: without REX, encodings 4–7 are AH, CH, DH, BH (SDM Vol. 2A §3.1.1.1).
            let byteReg = attr & OpAttr.byteOp != 0 && attr & OpAttr.byteRM == 0
            let byteRMOperand = attr & (OpAttr.byteOp | OpAttr.byteRM) != 0

            // Register operand encodings
            if hasModRM {
                if byteReg && rex == 0 && i.reg >= 4 && i.reg < 8 {
                    i.reg = DecodedInstruction.highByteBase + (i.reg - 4)
                }
                if mod == 3 || attr & OpAttr.controlRegister != 0 {
                    i.rm = (modrm & 7) | rexB
                    if byteRMOperand && rex == 0 && i.rm >= 4 && i.rm < 8 {
                        i.rm = DecodedInstruction.highByteBase + (i.rm - 4)
                    }
                    if attr & OpAttr.memoryOnly != 0 { i.op = .invalid }
                } else {
                    i.flags |= DecodedInstruction.Flags.memory
                    try decodeMemoryOperand(modrm: modrm, rexX: rexX, rexB: rexB, is64: is64)
                }
            }
            if !hasModRM && (i.op == .pushReg || i.op == .popReg || i.op == .movRegImm || i.op == .xchgAccReg
                                || i.op == .bswap || i.op == .incReg || i.op == .decReg) {
                // Register in the low opcode bits (+r), REX.B-extended.
                i.reg = i.sub | rexB
                if i.op == .movRegImm && attr & OpAttr.byteOp != 0 && rex == 0 && i.reg >= 4 && i.reg < 8 {
                    i.reg = DecodedInstruction.highByteBase + (i.reg - 4)
                }
                if i.op == .xchgAccReg && i.reg == 0 {
                    // 90: NOP, or PAUSE with F3 (XCHG r8, rAX with REX.B).
                    i.op = rep == 0xF3 ? .pause : .nop
                }
            }

            // Segment for the memory operand.
            if segOverride != 0xFF {
                i.prefixes |= DecodedInstruction.Prefix.segmentOverride
                if !is64 || segOverride >= 4 { i.seg = segOverride }
            }
            if addrPrefix { i.prefixes |= DecodedInstruction.Prefix.addressSize }

            // Immediates
            try decodeImmediate(immKind, is64: is64)

            // Prefix flags
            if lock { i.flags |= DecodedInstruction.Flags.lock }
            if rep == 0xF3 { i.flags |= DecodedInstruction.Flags.rep }
            if rep == 0xF2 { i.flags |= DecodedInstruction.Flags.repne }
            if rex != 0 { i.flags |= DecodedInstruction.Flags.rex }
            if rexW { i.flags |= DecodedInstruction.Flags.rexW }
            if opsizePrefix { i.flags |= DecodedInstruction.Flags.opsizePrefix }
            if attr & OpAttr.endsBlock != 0 { i.flags |= DecodedInstruction.Flags.endsBlock }
            // A repeated string instruction runs in chunks, leaving RIP on itself until the count
            // is done (SDM Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ": interruptible between
            // iterations), so nothing after it may run in the same pass over a block.
            if rep != 0 && i.op.isString { i.flags |= DecodedInstruction.Flags.endsBlock }
            // LOCK is #UD unless the instruction allows it with a memory destination (SDM Vol. 2A, LOCK).
            if lock && !(attr & OpAttr.lockable != 0 && i.isMemory) { i.op = .invalid }
            if i.op == .invalid || i.op == .ud { i.flags |= DecodedInstruction.Flags.endsBlock }
        }

        mutating func decodeMemoryOperand(modrm: UInt8, rexX: UInt8, rexB: UInt8, is64: Bool) throws(NeedMore) {
            let mod = modrm >> 6
            let rm = modrm & 7
            if i.addrSize == 2 {
                // 16-bit addressing forms (SDM Vol. 2A Table 2-1).
                switch rm {
                case 0: i.base = 3; i.index = 6
                case 1: i.base = 3; i.index = 7
                case 2: i.base = 5; i.index = 6; i.seg = 2
                case 3: i.base = 5; i.index = 7; i.seg = 2
                case 4: i.base = 6
                case 5: i.base = 7
                case 6:
                    if mod == 0 { i.base = DecodedInstruction.noRegister } else { i.base = 5; i.seg = 2 }
                default: i.base = 3
                }
                if mod == 0 && rm == 6 { i.disp = Int64(Int16(bitPattern: UInt16(try le(2)))) }
                else if mod == 1 { i.disp = Int64(Int8(bitPattern: try byte())) }
                else if mod == 2 { i.disp = Int64(Int16(bitPattern: UInt16(try le(2)))) }
                return
            }
            // 32/64-bit addressing (SDM Vol. 2A Tables 2-2, 2-3; §2.2.1.6 RIP-relative).
            var needDisp32 = mod == 2
            if rm == 4 {
                let sib = try byte()
                i.scale = sib >> 6
                let idx = ((sib >> 3) & 7) | rexX
                i.index = idx == 4 ? DecodedInstruction.noRegister : idx
                let baseLow = sib & 7
                if baseLow == 5 && mod == 0 {
                    i.base = DecodedInstruction.noRegister
                    needDisp32 = true
                } else {
                    i.base = baseLow | rexB
                }
            } else if rm == 5 && mod == 0 {
                i.base = is64 ? DecodedInstruction.ripBase : DecodedInstruction.noRegister
                needDisp32 = true
            } else {
                i.base = rm | rexB
            }
            if i.base == 4 || i.base == 5 { i.seg = 2 }
            if mod == 1 { i.disp = Int64(Int8(bitPattern: try byte())) }
            else if needDisp32 { i.disp = Int64(Int32(bitPattern: UInt32(try le(4)))) }
        }

        mutating func decodeImmediate(_ kind: ImmediateKind, is64: Bool) throws(NeedMore) {
            switch kind {
            case .none: break
            case .ib: i.imm = UInt64(try byte())
            case .ibs: i.imm = UInt64(bitPattern: Int64(Int8(bitPattern: try byte())))
            case .iw: i.imm = try le(2)
            case .iz:
                if i.opSize == 2 { i.imm = try le(2) }
                else { i.imm = UInt64(bitPattern: Int64(Int32(bitPattern: UInt32(try le(4))))) }
            case .iv:
                i.imm = try le(Int(i.opSize))
            case .moffs:
                i.disp = Int64(bitPattern: try le(Int(i.addrSize)))
                i.flags |= 0  // moffs is not a ModR/M memory operand; handlers use `disp`
            case .rel8:
                i.imm = UInt64(bitPattern: Int64(Int8(bitPattern: try byte())))
            case .relz:
                if i.opSize == 2 && !is64 { i.imm = UInt64(bitPattern: Int64(Int16(bitPattern: UInt16(try le(2))))) }
                else { i.imm = UInt64(bitPattern: Int64(Int32(bitPattern: UInt32(try le(4))))) }
            case .farPointer:
                i.imm = try le(i.opSize == 2 ? 2 : 4)
                i.imm2 = UInt32(try le(2))
            case .enter:
                i.imm = try le(2)
                i.imm2 = UInt32(try byte())
            }
        }

        /// Groups of the one-byte map (SDM Vol. 2D Table A-6) and its special cases.
        mutating func resolveOneByte(opcode: UInt8, modrm: UInt8, is64: Bool, attr: inout UInt32,
                                     imm: inout ImmediateKind, rep: UInt8) {
            let r = (modrm >> 3) & 7
            switch opcode {
            case 0x63:
                if !is64 { i.op = .invalid }   // ARPL: not implemented
            case 0x80, 0x81, 0x82, 0x83, 0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3:
                i.sub = r
                if opcode >= 0xD0 && opcode <= 0xD1 { i.imm = 1 }
                if (opcode >= 0x80 && opcode <= 0x83) && r == 7 { attr &= ~OpAttr.lockable }
                if opcode >= 0xC0 { attr &= ~OpAttr.lockable }
            case 0x8F:
                if r != 0 { i.op = .invalid }
            case 0xC6, 0xC7:
                if r != 0 { i.op = .invalid; imm = .none }
            case 0xF6, 0xF7:
                switch r {
                case 0, 1: i.op = .testRMImm; imm = opcode == 0xF6 ? .ib : .iz
                case 2: i.op = .notRM; imm = .none; attr |= OpAttr.lockable
                case 3: i.op = .negRM; imm = .none; attr |= OpAttr.lockable
                case 4: i.op = .mulRM; imm = .none
                case 5: i.op = .imulRM; imm = .none
                case 6: i.op = .divRM; imm = .none
                default: i.op = .idivRM; imm = .none
                }
            case 0xFE:
                switch r {
                case 0: i.op = .incRM; attr |= OpAttr.lockable
                case 1: i.op = .decRM; attr |= OpAttr.lockable
                default: i.op = .invalid
                }
            case 0xFF:
                switch r {
                case 0: i.op = .incRM; attr |= OpAttr.lockable
                case 1: i.op = .decRM; attr |= OpAttr.lockable
                case 2: i.op = .callRM; attr |= OpAttr.force64 | OpAttr.endsBlock
                case 3: i.op = .callFarRM; attr |= OpAttr.memoryOnly | OpAttr.endsBlock
                case 4: i.op = .jmpRM; attr |= OpAttr.force64 | OpAttr.endsBlock
                case 5: i.op = .jmpFarRM; attr |= OpAttr.memoryOnly | OpAttr.endsBlock
                case 6: i.op = .pushRM; attr |= OpAttr.default64
                default: i.op = .invalid
                }
            default:
                break
            }
        }

        /// Groups and mandatory-prefix forms of the two-byte map (SDM Vol. 2D Tables ).
        mutating func resolveTwoByte(opcode: UInt8, modrm: UInt8, rep: UInt8, opsize: Bool,
                                     attr: inout UInt32, imm: inout ImmediateKind) {
            let r = (modrm >> 3) & 7
            let mod = modrm >> 6
            if i.op == .simd {
                resolveSSE(opcode: opcode, modrm: modrm, rep: rep, opsize: opsize, attr: &attr, imm: &imm)
                return
            }
            switch opcode {
            case 0x00:
                let ops: [Op] = [.sldt, .str, .lldt, .ltr, .verr, .verw, .invalid, .invalid]
                i.op = ops[Int(r)]
            case 0x01:
                if mod == 3 {
                    switch modrm {
                    case 0xC1: i.op = .vmcall
                    case 0xC2: i.op = .vmlaunch
                    case 0xC3: i.op = .vmresume
                    case 0xC4: i.op = .vmxoff
                    case 0xC8: i.op = .monitor
                    case 0xC9: i.op = .mwait
                    case 0xCA: i.op = .clac
                    case 0xCB: i.op = .stac
                    case 0xD0: i.op = .xgetbv
                    case 0xD1: i.op = .xsetbv
                    case 0xD4: i.op = .vmfunc
                    case 0xEE: i.op = .rdpkru
                    case 0xEF: i.op = .wrpkru
                    case 0xF8: i.op = .swapgs
                    case 0xF9: i.op = .rdtscp
                    default:
                        if r == 4 { i.op = .smsw }
                        else if r == 6 { i.op = .lmsw }
                        else { i.op = .invalid }
                    }
                } else {
                    let ops: [Op] = [.sgdt, .sidt, .lgdt, .lidt, .smsw, .invalid, .lmsw, .invlpg]
                    i.op = ops[Int(r)]
                }
                // LMSW and SMSW m16 are word-sized; SMSW to a register takes the operand size
                // (SMSW r32 / r64, SDM Vol. 2B SMSW).
                if i.op == .lmsw || (i.op == .smsw && mod != 3) { attr |= OpAttr.word }
            case 0x18:
                i.op = .nop
            case 0xAE:
                if mod == 3 {
                    if rep == 0xF3 && r <= 3 {
                        let ops: [Op] = [.rdfsbase, .rdgsbase, .wrfsbase, .wrgsbase]
                        i.op = ops[Int(r)]
                    } else {
                        switch r {
                        case 5: i.op = .lfence
                        case 6: i.op = .mfence
                        case 7: i.op = .sfence
                        default: i.op = .invalid
                        }
                    }
                } else {
                    switch r {
                    case 0: i.op = .fxsave
                    case 1: i.op = .fxrstor
                    case 4: i.op = .xsave
                    case 5: i.op = .xrstor
                    case 6: i.op = opsize ? .clflush : .invalid        // CLWB (66); XSAVEOPT not offered
                    case 7: i.op = .clflush                            // CLFLUSH, CLFLUSHOPT (66)
                    case 2, 3:                                         // LDMXCSR, STMXCSR
                        i.op = .simd
                        i.sub = (r == 2 ? SIMDOp.ldmxcsr : SIMDOp.stmxcsr).rawValue
                        i.imm2 = SIMDAttr.sse
                    default: i.op = .invalid
                    }
                }
            case 0xB8:
                if rep != 0xF3 { i.op = .invalid }
            case 0xC3:
                if rep != 0 || opsize { i.op = .invalid }         // MOVNTI has no prefixed forms
            case 0xBC:
                if rep == 0xF3 { i.op = .tzcnt }
            case 0xBD:
                if rep == 0xF3 { i.op = .lzcnt }
            case 0xBA:
                if r < 4 { i.op = .invalid } else { i.sub = r - 4 }
                if r == 4 { attr &= ~OpAttr.lockable }
            case 0xA3:
                attr &= ~OpAttr.lockable
            case 0xC7:
                if mod == 3 {
                    switch r {
                    case 6: i.op = .rdrand
                    case 7: i.op = rep == 0xF3 ? .rdpid : .rdseed
                    default: i.op = .invalid
                    }
                    attr &= ~OpAttr.lockable
                } else {
                    switch r {
                    case 1: i.op = .cmpxchg8b
                    case 6:
                        if rep == 0xF3 { i.op = .vmxon } else if opsize { i.op = .vmclear } else { i.op = .vmptrld }
                        attr |= OpAttr.endsBlock
                        attr &= ~OpAttr.lockable
                    case 7:
                        i.op = rep == 0 && !opsize ? .vmptrst : .invalid
                        attr |= OpAttr.endsBlock
                        attr &= ~OpAttr.lockable
                    default: i.op = .invalid
                    }
                }
            default:
                break
            }
        }

        /// An opcode of the prefix-selected SSE space (SSEOpcodeTable; SDM Vol. 2D Table A-3).
        mutating func resolveSSE(opcode: UInt8, modrm: UInt8, rep: UInt8, opsize: Bool,
                                 attr: inout UInt32, imm: inout ImmediateKind) {
            let c = SSEOpcodeTable.lookup(opcode: opcode, modrm: modrm, rep: rep, opsize: opsize)
            if c.op == .invalid { i.op = .invalid; return }
            i.sub = c.op.rawValue
            i.imm2 = c.attr & 0xFFFF
            if c.attr & SIMDAttr.memoryOnly != 0 { attr |= OpAttr.memoryOnly }
            if c.attr & SIMDAttr.registerOnly != 0 && modrm >> 6 != 3 { i.op = .invalid }
            if c.attr & SIMDAttr.imm8 != 0 { imm = .ib }
        }

        /// The 0F 38 / 0F 3A maps: only the instructions implemented (SDM Vol. 2D Tables ).
        func threeByte(escape: UInt8, _ third: UInt8, rep: UInt8, opsize: Bool) -> OpcodeEntry {
            let m = OpAttr.modrm
            if escape == 0x38 {
                switch third {
                case 0x80 where opsize: return OpcodeEntry(.invept, m | OpAttr.memoryOnly | OpAttr.vmxOperand | OpAttr.endsBlock)
                case 0x81 where opsize: return OpcodeEntry(.invvpid, m | OpAttr.memoryOnly | OpAttr.vmxOperand | OpAttr.endsBlock)
                case 0x82 where opsize: return OpcodeEntry(.invpcid, m | OpAttr.memoryOnly | OpAttr.vmxOperand | OpAttr.endsBlock)
                case 0xF0 where rep == 0: return OpcodeEntry(.movbe, m | OpAttr.memoryOnly, sub: 0)
                case 0xF1 where rep == 0: return OpcodeEntry(.movbe, m | OpAttr.memoryOnly, sub: 1)
                default: return OpcodeEntry(.invalid, m)
                }
            }
            return OpcodeEntry(.invalid, m, imm: .ib)
        }
    }
}
