import Foundation
import XCTest
@testable import CPU
@testable import TestSupport

/// SSE/SSE2/MMX differential test: random and boundary values (NaNs, denormals, infinities,
/// ±0, integer extremes) are loaded into XMM0–15, MM0–7 and MXCSR (all exceptions masked,
/// random RC/FZ/DAZ/flags) from a scratch buffer; one to three random instruction forms run
/// (register and memory operands), then XMM, MM and MXCSR are stored back. The host (x86-64)
/// and the interpreter must agree on the buffer, the GPRs and the status flags.
/// RCPPS/RSQRTPS (approximations that differ between implementations) are not generated;
/// MASKMOVQ/MASKMOVDQU store through RDI = scratch + 336 + random offset. MATRYOSHKA_SSE_DIFF_CASES sets the case count
/// (default 20,000), MATRYOSHKA_SSE_DIFF_SEED the seed.
final class SSEDifferentialTests: XCTestCase {
    static let guestScratch: UInt64 = 0x20_0000
    static let code: UInt64 = 0x10_0000
    static let scratchSize = 1024
    // Scratch layout (offsets from RBX).
    static let xmmIn = 0, mmIn = 256, mxcsrIn = 320, memArea = 336, xmmOut = 512, mmOut = 768
    static let mxcsrOut = 832, hostMXCSR = 840

    typealias Rng = DifferentialTests.Rng

    enum Kind { case x, m, g }

    /// One instruction form: mandatory prefix (0 = none), opcode after 0F, the ModR/M reg and
    /// rm operand kinds, memory operand size (0: register only; 16: aligned m128), whether a
    /// register rm is allowed, an imm8, REX.W allowed, a fixed /reg (groups).
    struct Form {
        var name: String
        var prefix: UInt8
        var op: UInt8
        var reg: Kind
        var rm: Kind
        var mem: Int
        var regOK = true
        var imm = false
        var w = false
        var group: UInt8? = nil
        var alignedMem = false
    }

    static let forms: [Form] = buildForms()

    static func buildForms() -> [Form] {
        var f: [Form] = []
        func add(_ n: String, _ p: UInt8, _ op: UInt8, _ r: Kind, _ rm: Kind, mem: Int, regOK: Bool = true,
                 imm: Bool = false, w: Bool = false, group: UInt8? = nil, aligned: Bool = false) {
            f.append(Form(name: n, prefix: p, op: op, reg: r, rm: rm, mem: mem, regOK: regOK, imm: imm, w: w,
                          group: group, alignedMem: aligned))
        }
        // Moves.
        add("movups", 0, 0x10, .x, .x, mem: 16); add("movupd", 0x66, 0x10, .x, .x, mem: 16)
        add("movss", 0xF3, 0x10, .x, .x, mem: 4); add("movsd", 0xF2, 0x10, .x, .x, mem: 8)
        add("movups st", 0, 0x11, .x, .x, mem: 16); add("movupd st", 0x66, 0x11, .x, .x, mem: 16)
        add("movss st", 0xF3, 0x11, .x, .x, mem: 4); add("movsd st", 0xF2, 0x11, .x, .x, mem: 8)
        add("movlps/movhlps", 0, 0x12, .x, .x, mem: 8); add("movlpd", 0x66, 0x12, .x, .x, mem: 8, regOK: false)
        add("movlps st", 0, 0x13, .x, .x, mem: 8, regOK: false); add("movlpd st", 0x66, 0x13, .x, .x, mem: 8, regOK: false)
        add("unpcklps", 0, 0x14, .x, .x, mem: 16, aligned: true); add("unpcklpd", 0x66, 0x14, .x, .x, mem: 16, aligned: true)
        add("unpckhps", 0, 0x15, .x, .x, mem: 16, aligned: true); add("unpckhpd", 0x66, 0x15, .x, .x, mem: 16, aligned: true)
        add("movhps/movlhps", 0, 0x16, .x, .x, mem: 8); add("movhpd", 0x66, 0x16, .x, .x, mem: 8, regOK: false)
        add("movhps st", 0, 0x17, .x, .x, mem: 8, regOK: false); add("movhpd st", 0x66, 0x17, .x, .x, mem: 8, regOK: false)
        add("movaps", 0, 0x28, .x, .x, mem: 16, aligned: true); add("movapd", 0x66, 0x28, .x, .x, mem: 16, aligned: true)
        add("movaps st", 0, 0x29, .x, .x, mem: 16, aligned: true); add("movapd st", 0x66, 0x29, .x, .x, mem: 16, aligned: true)
        add("movntps", 0, 0x2B, .x, .x, mem: 16, regOK: false, aligned: true)
        add("movntpd", 0x66, 0x2B, .x, .x, mem: 16, regOK: false, aligned: true)
        // Conversions.
        add("cvtpi2ps", 0, 0x2A, .x, .m, mem: 8); add("cvtpi2pd", 0x66, 0x2A, .x, .m, mem: 8)
        add("cvtsi2ss", 0xF3, 0x2A, .x, .g, mem: 4, w: true); add("cvtsi2sd", 0xF2, 0x2A, .x, .g, mem: 4, w: true)
        add("cvttps2pi", 0, 0x2C, .m, .x, mem: 8); add("cvttpd2pi", 0x66, 0x2C, .m, .x, mem: 16, aligned: true)
        add("cvttss2si", 0xF3, 0x2C, .g, .x, mem: 4, w: true); add("cvttsd2si", 0xF2, 0x2C, .g, .x, mem: 8, w: true)
        add("cvtps2pi", 0, 0x2D, .m, .x, mem: 8); add("cvtpd2pi", 0x66, 0x2D, .m, .x, mem: 16, aligned: true)
        add("cvtss2si", 0xF3, 0x2D, .g, .x, mem: 4, w: true); add("cvtsd2si", 0xF2, 0x2D, .g, .x, mem: 8, w: true)
        add("ucomiss", 0, 0x2E, .x, .x, mem: 4); add("ucomisd", 0x66, 0x2E, .x, .x, mem: 8)
        add("comiss", 0, 0x2F, .x, .x, mem: 4); add("comisd", 0x66, 0x2F, .x, .x, mem: 8)
        add("movmskps", 0, 0x50, .g, .x, mem: 0); add("movmskpd", 0x66, 0x50, .g, .x, mem: 0)
        // Arithmetic.
        for (n, op) in [("sqrt", UInt8(0x51)), ("add", 0x58), ("mul", 0x59), ("sub", 0x5C), ("min", 0x5D),
                        ("div", 0x5E), ("max", 0x5F)] {
            add(n + "ps", 0, op, .x, .x, mem: 16, aligned: true); add(n + "pd", 0x66, op, .x, .x, mem: 16, aligned: true)
            add(n + "ss", 0xF3, op, .x, .x, mem: 4); add(n + "sd", 0xF2, op, .x, .x, mem: 8)
        }
        for (n, op) in [("and", UInt8(0x54)), ("andn", 0x55), ("or", 0x56), ("xor", 0x57)] {
            add(n + "ps", 0, op, .x, .x, mem: 16, aligned: true); add(n + "pd", 0x66, op, .x, .x, mem: 16, aligned: true)
        }
        add("cvtps2pd", 0, 0x5A, .x, .x, mem: 8); add("cvtpd2ps", 0x66, 0x5A, .x, .x, mem: 16, aligned: true)
        add("cvtss2sd", 0xF3, 0x5A, .x, .x, mem: 4); add("cvtsd2ss", 0xF2, 0x5A, .x, .x, mem: 8)
        add("cvtdq2ps", 0, 0x5B, .x, .x, mem: 16, aligned: true); add("cvtps2dq", 0x66, 0x5B, .x, .x, mem: 16, aligned: true)
        add("cvttps2dq", 0xF3, 0x5B, .x, .x, mem: 16, aligned: true)
        add("cvttpd2dq", 0x66, 0xE6, .x, .x, mem: 16, aligned: true); add("cvtdq2pd", 0xF3, 0xE6, .x, .x, mem: 8)
        add("cvtpd2dq", 0xF2, 0xE6, .x, .x, mem: 16, aligned: true)
        let cmpForms: [(String, UInt8, Int)] = [("cmpps", 0, 16), ("cmppd", 0x66, 16), ("cmpss", 0xF3, 4), ("cmpsd", 0xF2, 8)]
        for (n, p, size) in cmpForms { add(n, p, 0xC2, .x, .x, mem: size, imm: true, aligned: size == 16) }
        add("shufps", 0, 0xC6, .x, .x, mem: 16, imm: true, aligned: true)
        add("shufpd", 0x66, 0xC6, .x, .x, mem: 16, imm: true, aligned: true)
        // Integer, MMX and XMM.
        let integer: [UInt8] = [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x74, 0x75, 0x76,
                                0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
                                0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF,
                                0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE]
        for op in integer {
            add(String(format: "0f%02x mm", op), 0, op, .m, .m, mem: 8)
            add(String(format: "66 0f%02x xmm", op), 0x66, op, .x, .x, mem: 16, aligned: true)
        }
        add("punpcklqdq", 0x66, 0x6C, .x, .x, mem: 16, aligned: true); add("punpckhqdq", 0x66, 0x6D, .x, .x, mem: 16, aligned: true)
        add("movd mm,r", 0, 0x6E, .m, .g, mem: 4, w: true); add("movd xmm,r", 0x66, 0x6E, .x, .g, mem: 4, w: true)
        add("movq mm,mm", 0, 0x6F, .m, .m, mem: 8); add("movdqa", 0x66, 0x6F, .x, .x, mem: 16, aligned: true)
        add("movdqu", 0xF3, 0x6F, .x, .x, mem: 16)
        add("pshufw", 0, 0x70, .m, .m, mem: 8, imm: true); add("pshufd", 0x66, 0x70, .x, .x, mem: 16, imm: true, aligned: true)
        add("pshufhw", 0xF3, 0x70, .x, .x, mem: 16, imm: true, aligned: true)
        add("pshuflw", 0xF2, 0x70, .x, .x, mem: 16, imm: true, aligned: true)
        for (op, regs) in [(UInt8(0x71), [UInt8(2), 4, 6]), (0x72, [2, 4, 6]), (0x73, [2, 6])] {
            for r in regs {
                add(String(format: "grp%02x/%d mm", op, r), 0, op, .m, .m, mem: 0, imm: true, group: r)
                add(String(format: "grp%02x/%d xmm", op, r), 0x66, op, .x, .x, mem: 0, imm: true, group: r)
            }
        }
        add("psrldq", 0x66, 0x73, .x, .x, mem: 0, imm: true, group: 3)
        add("pslldq", 0x66, 0x73, .x, .x, mem: 0, imm: true, group: 7)
        add("movd r,mm", 0, 0x7E, .m, .g, mem: 4, w: true); add("movd r,xmm", 0x66, 0x7E, .x, .g, mem: 4, w: true)
        add("movq xmm,xmm/m64", 0xF3, 0x7E, .x, .x, mem: 8)
        add("movq mm st", 0, 0x7F, .m, .m, mem: 8); add("movdqa st", 0x66, 0x7F, .x, .x, mem: 16, aligned: true)
        add("movdqu st", 0xF3, 0x7F, .x, .x, mem: 16)
        add("pinsrw mm", 0, 0xC4, .m, .g, mem: 2, imm: true); add("pinsrw xmm", 0x66, 0xC4, .x, .g, mem: 2, imm: true)
        add("pextrw mm", 0, 0xC5, .g, .m, mem: 0, imm: true); add("pextrw xmm", 0x66, 0xC5, .g, .x, mem: 0, imm: true)
        add("movq st", 0x66, 0xD6, .x, .x, mem: 8)
        add("movq2dq", 0xF3, 0xD6, .x, .m, mem: 0); add("movdq2q", 0xF2, 0xD6, .m, .x, mem: 0)
        add("pmovmskb mm", 0, 0xD7, .g, .m, mem: 0); add("pmovmskb xmm", 0x66, 0xD7, .g, .x, mem: 0)
        add("maskmovq", 0, 0xF7, .m, .m, mem: 0); add("maskmovdqu", 0x66, 0xF7, .x, .x, mem: 0)
        add("movntq", 0, 0xE7, .m, .m, mem: 8, regOK: false)
        add("movntdq", 0x66, 0xE7, .x, .x, mem: 16, regOK: false, aligned: true)
        return f
    }

    /// GPR operands (RBX is the scratch base, RDI the MASKMOV pointer).
    static let gprs: [UInt8] = [0, 1, 2, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]

    /// Encodes one instruction of `form` with random operands.
    static func encode(_ f: Form, _ r: inout Rng) -> [UInt8] {
        var bytes: [UInt8] = []
        // A 66h before F3/F2 is overridden by them (SDM Vol. 2A §2.1.2); a segment override is harmless.
        if f.prefix >= 0xF2 && r.below(8) == 0 { bytes.append(0x66) }
        if r.below(16) == 0 { bytes.append(0x3E) }
        if f.prefix != 0 { bytes.append(f.prefix) }
        let useMem = f.mem > 0 && (!f.regOK || r.below(3) == 0)
        func pick(_ k: Kind) -> UInt8 {
            switch k {
            case .x: return UInt8(r.below(16))
            case .m: return UInt8(r.below(8))
            case .g: return r.pick(gprs)
            }
        }
        let regN = f.group ?? pick(f.reg)
        let rmN = useMem ? 3 : pick(f.rm)
        // REX.W selects 64-bit GPR operands where `w`; elsewhere it is ignored.
        let w = f.w ? r.below(2) == 0 : r.below(8) == 0
        var rex: UInt8 = 0
        if w { rex |= 8 }
        if regN >= 8 && f.group == nil { rex |= 4 }
        if !useMem && rmN >= 8 { rex |= 1 }
        // Occasionally a redundant REX on MMX forms (REX.R/B are ignored for MM registers).
        if rex != 0 || r.below(8) == 0 { bytes.append(0x40 | rex) }
        bytes += [0x0F, f.op]
        if useMem {
            var off = r.below(8) * 16
            if !f.alignedMem && r.below(2) == 0 { off += r.below(16) }
            off = min(off, 128 - max(f.mem, 16))
            let disp = UInt32(memArea + off)
            bytes.append(0x80 | ((regN & 7) << 3) | 3)
            bytes += withUnsafeBytes(of: disp.littleEndian) { Array($0) }
        } else {
            bytes.append(0xC0 | ((regN & 7) << 3) | (rmN & 7))
        }
        if f.imm { bytes.append(f.op == 0xC2 ? UInt8(r.below(8)) : UInt8(truncatingIfNeeded: r.pick([0, 1, 2, 7, 8, 15, 16, 31, 32, 63, 64, 0xFF, r.next()]))) }
        return bytes
    }

    /// A random, boundary or special value for a 32- or 64-bit lane.
    static func lane32(_ r: inout Rng) -> UInt32 {
        r.pick([0, 0x8000_0000, 1, 0x8000_0001, 0x007F_FFFF, 0x807F_FFFF, 0x0080_0000, 0x7F80_0000, 0xFF80_0000,
                0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0xFFA0_0000, 0x7FFF_FFFF, 0x3F80_0000, 0xBF80_0000,
                0x7F7F_FFFF, 0xFF7F_FFFF, 0x3F00_0000, 0x3FC0_0000, 0x4020_0000, 0xC020_0000, 0x4F00_0000,
                0xCF00_0000, 0x4EFF_FFFF, 0x5F00_0000, 0xDF00_0000, 0x0000_7FFF, 0xFFFF_8000, 0x0000_00FF,
                UInt32(truncatingIfNeeded: r.next()), UInt32(truncatingIfNeeded: r.next()),
                0x3F80_0000 | UInt32(truncatingIfNeeded: r.next() & 0x7F_FFFF),
                UInt32(truncatingIfNeeded: r.next()) & 0x807F_FFFF])
    }

    static func lane64(_ r: inout Rng) -> UInt64 {
        r.pick([0, 0x8000_0000_0000_0000, 1, 0x000F_FFFF_FFFF_FFFF, 0x0010_0000_0000_0000, 0x7FF0_0000_0000_0000,
                0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0000, 0x7FF0_0000_0000_0001,
                0x7FEF_FFFF_FFFF_FFFF, 0x3FF0_0000_0000_0000, 0xBFF0_0000_0000_0000, 0x3FE0_0000_0000_0000,
                0x4004_0000_0000_0000, 0x41E0_0000_0000_0000, 0xC1E0_0000_0000_0000, 0x41DF_FFFF_FFC0_0000,
                0x43E0_0000_0000_0000, 0xC3E0_0000_0000_0000, 0x47EF_FFFF_E000_0000, 0x3690_0000_0000_0000,
                0x36A0_0000_0000_0001, 0x7FFF_FFFF_FFFF_FFFF,
                r.next(), r.next(), 0x3FF0_0000_0000_0000 | (r.next() & 0xF_FFFF_FFFF_FFFF),
                r.next() & 0x800F_FFFF_FFFF_FFFF])
    }

    static func value128(_ r: inout Rng) -> (UInt64, UInt64) {
        switch r.below(4) {
        case 0: return (r.next(), r.next())
        case 1:
            let l = (0..<4).map { _ in UInt64(lane32(&r)) }
            return (l[0] | l[1] << 32, l[2] | l[3] << 32)
        case 2: return (lane64(&r), lane64(&r))
        default: return (r.boundary() ^ (r.below(2) == 0 ? 0 : r.boundary() << 32), r.boundary())
        }
    }

    /// The fixed load prologue and store epilogue around the body (RBX = scratch).
    static func wrap(_ body: [UInt8]) -> [UInt8] {
        var c: [UInt8] = []
        func mrm(_ prefix: UInt8?, _ op: UInt8, _ reg: Int, _ disp: Int) {
            if let p = prefix { c.append(p) }
            if reg >= 8 { c.append(0x44) }
            c += [0x0F, op, 0x80 | UInt8((reg & 7) << 3) | 3]
            c += withUnsafeBytes(of: UInt32(disp).littleEndian) { Array($0) }
        }
        c += [0x0F, 0xAE, 0x80 | (3 << 3) | 3] + withUnsafeBytes(of: UInt32(hostMXCSR).littleEndian) { Array($0) }  // stmxcsr
        for k in 0..<16 { mrm(0xF3, 0x6F, k, xmmIn + 16 * k) }
        for k in 0..<8 { mrm(nil, 0x6F, k, mmIn + 8 * k) }
        c += [0x0F, 0xAE, 0x80 | (2 << 3) | 3] + withUnsafeBytes(of: UInt32(mxcsrIn).littleEndian) { Array($0) }    // ldmxcsr
        c += body
        for k in 0..<16 { mrm(0xF3, 0x7F, k, xmmOut + 16 * k) }
        for k in 0..<8 { mrm(nil, 0x7F, k, mmOut + 8 * k) }
        c += [0x0F, 0xAE, 0x80 | (3 << 3) | 3] + withUnsafeBytes(of: UInt32(mxcsrOut).littleEndian) { Array($0) }
        c += [0x0F, 0xAE, 0x80 | (2 << 3) | 3] + withUnsafeBytes(of: UInt32(hostMXCSR).littleEndian) { Array($0) }
        c += [0x0F, 0x77]                                                                                    // emms
        return c
    }

    func testSSEInterpreterMatchesTheHostProcessor() throws {
        let native = NativeExecutor()
        try XCTSkipUnless(native.isAvailable, "no executable mapping on this host")
        let env = ProcessInfo.processInfo.environment
        let count = Int(env["MATRYOSHKA_SSE_DIFF_CASES"] ?? "") ?? 20_000
        let seed = UInt64(env["MATRYOSHKA_SSE_DIFF_SEED"] ?? "") ?? 0x55E5_5E55_0000_0001
        var r = Rng(s: seed)
        var model = CPUModel()
        model.features.insert(.sse)
        let m = TestMachine(memorySize: 8 << 20, model: model)
        let hostScratch = UnsafeMutableRawPointer.allocate(byteCount: Self.scratchSize, alignment: 64)
        defer { hostScratch.deallocate() }
        var failures = 0
        var formsSeen = Set<String>()
        for n in 0..<count {
            var body: [UInt8] = []
            var names: [String] = []
            for _ in 0..<(1 + r.below(3)) {
                let f = r.pick(Self.forms)
                body += Self.encode(f, &r)
                names.append(f.name)
                formsSeen.insert(f.name)
            }
            let bytes = Self.wrap(body)
            var regs = (0..<16).map { _ in r.boundary() }
            regs[3] = 0; regs[4] = 0
            regs[7] = UInt64(Self.memArea + r.below(112))      // offset from the scratch base
            let flagsIn = (r.next() & DifferentialTests.arithmetic) | 2
            var scratch = (0..<Self.scratchSize).map { _ in UInt8(truncatingIfNeeded: r.next()) }
            for k in 0..<16 {
                let (lo, hi) = Self.value128(&r)
                withUnsafeBytes(of: lo) { for b in 0..<8 { scratch[Self.xmmIn + 16 * k + b] = $0[b] } }
                withUnsafeBytes(of: hi) { for b in 0..<8 { scratch[Self.xmmIn + 16 * k + 8 + b] = $0[b] } }
            }
            for k in 0..<8 {
                let v = r.below(2) == 0 ? Self.value128(&r).0 : r.next()
                withUnsafeBytes(of: v) { for b in 0..<8 { scratch[Self.mmIn + 8 * k + b] = $0[b] } }
            }
            for k in 0..<8 {
                let (lo, hi) = Self.value128(&r)
                withUnsafeBytes(of: lo) { for b in 0..<8 { scratch[Self.memArea + 16 * k + b] = $0[b] } }
                withUnsafeBytes(of: hi) { for b in 0..<8 { scratch[Self.memArea + 16 * k + 8 + b] = $0[b] } }
            }
            // All exceptions masked; random RC, FZ, DAZ and sticky flags.
            var mx: UInt32 = 0x1F80 | UInt32(r.below(4)) << 13
            if r.below(4) == 0 { mx |= 1 << 15 }
            if r.below(4) == 0 { mx |= 1 << 6 }
            if r.below(4) == 0 { mx |= UInt32(r.below(64)) }
            withUnsafeBytes(of: mx) { for b in 0..<4 { scratch[Self.mxcsrIn + b] = $0[b] } }
            // Host.
            scratch.withUnsafeBytes { hostScratch.copyMemory(from: $0.baseAddress!, byteCount: Self.scratchSize) }
            var host = regs + [flagsIn]
            host[3] = UInt64(UInt(bitPattern: hostScratch))
            host[7] = host[3] + regs[7]
            native.run(bytes, state: &host)
            host[7] -= host[3]
            // Guest.
            try m.memory.write(scratch, at: Self.guestScratch)
            try m.memory.write(bytes + [0xF4], at: Self.code)
            m.enterLong64(entry: Self.code, stack: 0x8_0000)
            m.cpu.setControlRegisters(cr0: m.cpu.cr0, cr3: m.cpu.cr3, cr4: m.cpu.cr4 | CR4.osfxsr | CR4.osxmmexcpt,
                                      efer: m.cpu.efer)
            for k in 0..<16 where k != 4 { m.cpu.gpr[k] = regs[k] }
            m.cpu.gpr[3] = Self.guestScratch
            m.cpu.gpr[7] = Self.guestScratch + regs[7]
            m.cpu.setRFLAGS(flagsIn)
            let stop = m.run(budget: 1000)
            m.cpu.gpr[7] -= Self.guestScratch
            var mismatch: [String] = []
            if stop != .halted { mismatch.append("guest stopped with \(stop) at rip 0x\(String(m.cpu.rip, radix: 16))") }
            for k in 0..<16 where k != 4 && k != 3 && host[k] != m.cpu.gpr[k] {
                mismatch.append("r\(k): host 0x\(String(host[k], radix: 16)) guest 0x\(String(m.cpu.gpr[k], radix: 16))")
            }
            let mask = DifferentialTests.arithmetic
            if host[16] & mask != m.cpu.rflags & mask {
                mismatch.append("flags: host 0x\(String(host[16] & mask, radix: 16)) guest 0x\(String(m.cpu.rflags & mask, radix: 16))")
            }
            let hostMem = Array(UnsafeRawBufferPointer(start: hostScratch, count: Self.hostMXCSR))
            let guestMem = try m.memory.read(at: Self.guestScratch, length: Self.hostMXCSR)
            if hostMem != guestMem {
                var where_: [String] = []
                for k in stride(from: 0, to: Self.hostMXCSR, by: 8) where hostMem[k..<k + 8] != guestMem[k..<k + 8] {
                    let h = hostMem[k..<k + 8].reversed().map { String(format: "%02x", $0) }.joined()
                    let g = guestMem[k..<k + 8].reversed().map { String(format: "%02x", $0) }.joined()
                    where_.append("+\(k): host \(h) guest \(g)")
                    if where_.count >= 4 { break }
                }
                mismatch.append("memory: " + where_.joined(separator: ", "))
            }
            if !mismatch.isEmpty {
                failures += 1
                if failures <= 15 {
                    XCTFail("case \(n) [\(names.joined(separator: "; "))] bytes \(body.map { String(format: "%02x", $0) }.joined(separator: " ")) mxcsr 0x\(String(mx, radix: 16)): \(mismatch.joined(separator: "; "))")
                }
            }
        }
        print("SSE DIFFERENTIAL: \(count) cases, \(formsSeen.count) forms, \(failures) mismatches (seed 0x\(String(seed, radix: 16)))")
        XCTAssertEqual(failures, 0)
    }
}
