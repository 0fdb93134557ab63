import Foundation
import XCTest
@testable import CPU
@testable import TestSupport

/// x87 differential test: random sequences of x87 instructions on boundary and random
/// operands (zeros of both signs, denormals, pseudo-denormals, unnormals, infinities,
/// QNaNs, SNaNs, the indefinite, integers, halves, extremes), under random RC and PC, run
/// natively on the host's x87 and in the interpreter. Compared: the whole FNSAVE image
/// except the instruction/data pointers and opcode (bytes 12–27: host addresses differ,
/// and AMD and Intel update them differently) — empty registers included, since each case
/// first zeroes all eight —, every byte the sequence stored, RAX
/// (FNSTSW AX) and the six status flags (FCOMI). A third of the cases end with FNCLEX, an
/// FLDCW that unmasks some exceptions and one more instruction, so the unmasked responses
/// are compared too (only the no-wait FNSAVE follows: no #MF is raised natively). FCOMI/FUCOMI are followed by
/// FXAM, since their C1 differs by vendor (SDM: 0; the AMD host: unchanged). Transcendental instructions are
/// not generated (their last bits are implementation-specific; see X87Transcendental.swift).
/// MATRYOSHKA_X87_DIFF_CASES sets the case count (default 20,000), MATRYOSHKA_X87_DIFF_SEED the seed.
final class X87DifferentialTests: XCTestCase {
    typealias Rng = DifferentialTests.Rng
    static let code: UInt64 = 0x10_0000
    static let guestScratch: UInt64 = 0x20_0000
    static let scratchSize = 1024
    static let outputBase = 256, controlWordBase = 384, environmentImage = 416, saveArea = 512

    static var x87Model: CPUModel {
        var m = CPUModel.default
        m.features.insert(.x87)
        return m
    }

    // MARK: Operand generation

    static func extended(_ r: inout Rng) -> (UInt64, UInt16) {
        let sign: UInt16 = r.below(2) == 0 ? 0 : 0x8000
        let rnd = r.next()
        let top: UInt64 = 1 << 63
        switch r.below(16) {
        case 0: return (0, sign)
        case 1: return ((rnd & ~top) >> UInt64(r.below(60)), sign)                 // denormal
        case 2: return (rnd | top, sign)                                             // pseudo-denormal
        case 3, 4: return (rnd | top, sign | UInt16(0x3FFF - 70 + r.below(140)))
        case 5: return (rnd | top, sign | UInt16(1 + r.below(0x7FFD)))
        case 6: return (rnd | top, sign | UInt16(0x7FFE - r.below(70)))
        case 7: return (rnd | top, sign | UInt16(1 + r.below(70)))
        case 8: return (top, sign | 0x7FFF)                                          // infinity
        case 9: return (rnd | top | (1 << 62), sign | 0x7FFF)                        // QNaN
        case 10: return (((rnd & ~(3 << 62)) | 1) | top, sign | 0x7FFF)              // SNaN
        case 11: return (0xC000_0000_0000_0000, 0xFFFF)                              // indefinite
        case 12: return (rnd & ~top, sign | UInt16(1 + r.below(0x7FFE)))             // unnormal / pseudo-NaN
        case 13:
            let v = X87Register(integer: Int64(bitPattern: r.boundary()) >> UInt64(r.below(64)))
            return (v.significand, v.signExponent ^ sign)
        case 14:                                                                     // n + 0.5, n + 0.25 ...
            let n = UInt64(r.below(1 << 20)) * 4 + UInt64(r.below(4))
            let v = X87Register(integer: Int64(n))
            return n == 0 ? (0, sign) : (v.significand, sign | (v.signExponent &- 2))
        default: return (top | (rnd & 0xFFFF_0000_0000_0000), sign | 0x3FFF + UInt16(r.below(4)))
        }
    }

    static func binary(_ r: inout Rng, double: Bool) -> UInt64 {
        let fb = double ? 52 : 23, eb = double ? 11 : 8
        let emax = UInt64((1 << eb) - 1)
        let sign = UInt64(r.below(2)) << UInt64(fb + eb)
        let frac = r.next() & ((1 << UInt64(fb)) - 1)
        let e: UInt64
        switch r.below(8) {
        case 0: return sign
        case 1: e = 0
        case 2: e = emax
        case 3: return sign | (emax << UInt64(fb))
        case 4: e = UInt64(r.below(3) + 1)
        case 5: e = emax - 1 - UInt64(r.below(3))
        default: e = (emax >> 1) - 40 + UInt64(r.below(80))
        }
        return sign | (e << UInt64(fb)) | frac
    }

    /// Fills the input slots: 0–3 80-bit, 4–7 binary64, 8–11 binary32, 12–13 integers,
    /// 14 packed BCD, 15 random; control words at `controlWordBase`.
    static func scratch(_ r: inout Rng) -> [UInt8] {
        var s = [UInt8](repeating: 0, count: scratchSize)
        func put(_ off: Int, _ v: UInt64, _ n: Int) { for k in 0..<n { s[off + k] = UInt8(truncatingIfNeeded: v >> UInt64(8 * k)) } }
        for k in 0..<16 {
            let o = 16 * k
            switch k {
            case 0..<4: let (m, e) = extended(&r); put(o, m, 8); put(o + 8, UInt64(e), 2)
            case 4..<8: put(o, binary(&r, double: true), 8)
            case 8..<12: put(o, binary(&r, double: false), 4); put(o + 4, binary(&r, double: false), 4)
            case 12, 13: put(o, r.boundary(), 8); put(o + 8, r.boundary(), 8)
            case 14:
                var d: UInt64 = 0
                for q in 0..<16 { d |= UInt64(r.below(10)) << UInt64(4 * q) }
                put(o, d, 8); put(o + 8, UInt64(r.below(10) | r.below(10) << 4) | UInt64(r.below(2) << 15), 2)
            default: put(o, r.next(), 8); put(o + 8, r.next(), 8)
            }
        }
        for k in 0..<16 {
            let pc = r.pick([0, 2, 3, 3])
            // Slots 8–15 unmask a random subset of the exceptions.
            let masks = k < 8 ? 0x3F : r.below(64) & r.below(64)
            let cw = 0x0040 | masks | (r.below(4) << 10) | (pc << 8) | (r.below(4) == 0 ? 0x1000 : 0)
            put(controlWordBase + 2 * k, UInt64(cw), 2)
        }
        // A 28-byte environment for FLDENV: random RC/PC, condition codes, TOP, exception
        // flags (all masked: nothing becomes pending) and tags; random pointers.
        let fcw = 0x007F | (r.below(4) << 10) | (r.pick([0, 2, 3]) << 8)
        let fsw = (r.below(0x10000) & 0x477F) | (r.below(8) << 11)
        let words = [fcw, fsw, r.below(0x10000), Int(r.next() & 0xFFFF_FFFF), Int(r.next() & 0x07FF_FFFF), Int(r.next() & 0xFFFF_FFFF), Int(r.next() & 0xFFFF)]
        for (k, w) in words.enumerated() { put(environmentImage + 4 * k, UInt64(w), 4) }
        return s
    }

    // MARK: Instruction generation

    /// ESC opcode with a [rbx + disp32] operand.
    static func mem(_ esc: UInt8, _ reg: Int, _ disp: Int) -> [UInt8] {
        [esc, 0x83 | UInt8(reg << 3)] + (0..<4).map { UInt8(truncatingIfNeeded: disp >> (8 * $0)) }
    }

    static func input(_ r: inout Rng, _ kind: Int) -> Int {
        switch kind {
        case 80: return 16 * r.below(4)
        case 64: return 16 * (4 + r.below(4))
        case 32: return 16 * (8 + r.below(4)) + 4 * r.below(2)
        case 1: return 16 * (12 + r.below(2)) + 2 * r.below(4)          // integers
        default: return 16 * 14
        }
    }

    static func output(_ r: inout Rng) -> Int { outputBase + 16 * r.below(8) }

    static func load(_ r: inout Rng) -> ([UInt8], String) {
        switch r.below(9) {
        case 0: return (mem(0xDB, 5, input(&r, 80)), "fld m80")
        case 1: return (mem(0xDD, 0, input(&r, 64)), "fld m64")
        case 2: return (mem(0xD9, 0, input(&r, 32)), "fld m32")
        case 3: return (mem(0xDF, 0, input(&r, 1)), "fild m16")
        case 4: return (mem(0xDB, 0, input(&r, 1)), "fild m32")
        case 5: return (mem(0xDF, 5, input(&r, 1)), "fild m64")
        case 6: return (mem(0xDF, 4, input(&r, 0)), "fbld")
        case 7: return ([0xD9, 0xE8 + UInt8(r.below(7))], "fldconst")
        default: return (mem(0xDB, 5, input(&r, 80)), "fld m80")
        }
    }

    static func operation(_ r: inout Rng) -> ([UInt8], String) {
        let i = UInt8(r.below(8))
        let ops: [UInt8] = [0xC0, 0xC8, 0xE0, 0xE8, 0xF0, 0xF8]
        switch r.below(30) {
        case 0, 1: return ([0xD8, 0xC0 | UInt8(r.below(8) << 3) | i], "d8 reg")
        case 2: return ([0xDC, r.pick(ops) | i], "dc reg")
        case 3: return ([0xDE, r.pick(ops) | i], "de reg")
        case 4: return (mem(0xD8, r.below(8), input(&r, 32)), "d8 m32")
        case 5: return (mem(0xDC, r.below(8), input(&r, 64)), "dc m64")
        case 6: return (mem(0xDA, r.below(8), input(&r, 1)), "da m32int")
        case 7: return (mem(0xDE, r.below(8), input(&r, 1)), "de m16int")
        case 8: return ([0xD9, r.pick([0xE0, 0xE1, 0xE4, 0xE5, 0xD0, 0xF6, 0xF7])], "d9 misc")
        case 9: return ([0xD9, r.pick([0xFA, 0xFC])], "fsqrt/frndint")
        case 10: return ([0xD9, r.pick([0xF8, 0xF5])], "fprem")
        case 11: return ([0xD9, 0xFD], "fscale")
        case 12: return ([0xD9, 0xF4], "fxtract")
        case 13: return ([0xD9, 0xC0 | i], "fld st")
        case 14: return ([0xD9, 0xC8 | i], "fxch")
        case 15: return ([0xDD, r.pick([0xC0, 0xD0, 0xD8, 0xE0, 0xE8]) | i], "dd reg")
        case 16:
            // FXAM after FCOMI defines C1 (FCOMI: SDM sets C1 = 0, the AMD host leaves it).
            return ([r.pick([0xDB, 0xDF]), r.pick([0xE8, 0xF0]) | i, 0xD9, 0xE5], "fcomi")
        case 17: return ([r.pick([0xDA, 0xDB]), UInt8(r.below(32)) | 0xC0], "fcmov")
        case 18: return (r.pick([[0xDE, 0xD9], [0xDA, 0xE9]]), "fcompp")
        case 19:
            switch r.below(3) {
            case 0: return (mem(0xD9, 2 + r.below(2), output(&r)), "fst m32")
            case 1: return (mem(0xDD, 2 + r.below(2), output(&r)), "fst m64")
            default: return (mem(0xDB, 7, output(&r)), "fstp m80")
            }
        case 20:
            switch r.below(4) {
            case 0: return (mem(0xDF, 2 + r.below(2), output(&r)), "fist m16")
            case 1: return (mem(0xDB, 2 + r.below(2), output(&r)), "fist m32")
            case 2: return (mem(0xDF, 7, output(&r)), "fistp m64")
            default: return (mem(r.pick([0xDF, 0xDB, 0xDD]), 1, output(&r)), "fisttp")
            }
        case 21: return (mem(0xDF, 6, output(&r)), "fbstp")
        case 22: return (mem(0xD9, 5, controlWordBase + 2 * r.below(8)), "fldcw")
        case 23: return (r.pick([[0xDF, 0xE0], mem(0xDD, 7, output(&r)), mem(0xD9, 7, output(&r))]), "fnstsw/fnstcw")
        case 24: return ([0xDB, 0xE2], "fnclex")
        case 25: return ([0xDD, 0xC0 | i], "ffree")
        case 26: return (mem(0xD9, 6, output(&r) & ~0x1F), "fnstenv")
        case 27 where r.below(3) == 0: return (mem(0xD9, 4, environmentImage), "fldenv")
        case 28 where r.below(3) == 0: return (mem(0xDD, 6, outputBase) + mem(0xDD, 4, outputBase), "fnstenv")   // FNSAVE; FRSTOR
        default: return load(&r)
        }
    }

    struct Case {
        var parts: [[UInt8]]
        var forms: [String]
        var bytes: [UInt8] { Array(parts.joined()) + X87DifferentialTests.mem(0xDD, 6, X87DifferentialTests.saveArea) }
        /// The first `n` generated instructions (after FNINIT, FLDCW), then FNSAVE.
        func prefix(_ n: Int) -> Case { Case(parts: Array(parts[0...n]), forms: Array(forms[0..<n])) }
    }

    static func generate(_ r: inout Rng) -> Case {
        // FNINIT, 8 × FLDZ, FNINIT: empty registers then hold +0 on both sides (FXAM of an
        // empty register reports the stale sign; FNSAVE stores stale contents). Then FLDCW.
        let clear: [UInt8] = [0xDB, 0xE3] + Array([[UInt8]](repeating: [0xD9, 0xEE], count: 8).joined()) + [0xDB, 0xE3]
        var parts: [[UInt8]] = [clear + mem(0xD9, 5, controlWordBase + 2 * r.below(8))]
        var forms: [String] = []
        for _ in 0..<(1 + r.below(4)) { let (b, f) = load(&r); parts.append(b); forms.append(f) }
        for _ in 0..<(2 + r.below(7)) { let (b, f) = operation(&r); parts.append(b); forms.append(f) }
        if r.below(3) == 0 {
            // Unmasked exceptions: FNCLEX, FLDCW with some masks clear, one more instruction.
            // Only the no-wait FNSAVE follows, so a pending exception raises no #MF natively.
            parts.append([0xDB, 0xE2] + mem(0xD9, 5, controlWordBase + 16 + 2 * r.below(8)))
            forms.append("unmask")
            var (b, f) = operation(&r)
            // (not FCOMI: the FXAM after it would be a waiting instruction)
            while f == "fldcw" || f == "fnclex" || f == "fnstenv" || f == "fcomi" || f == "fldenv" { (b, f) = operation(&r) }
            parts.append(b); forms.append(f + " (unmasked)")
        }
        return Case(parts: parts, forms: forms)                          // then FNSAVE
    }

    // MARK: The test

    func testInterpreterMatchesTheHostX87() throws {
        let native = NativeExecutor()
        try XCTSkipUnless(native.isAvailable, "no executable mapping on this host")
        #if !arch(x86_64)
        throw XCTSkip("x87 needs an x86-64 host")
        #endif
        let env = ProcessInfo.processInfo.environment
        let count = Int(env["MATRYOSHKA_X87_DIFF_CASES"] ?? "") ?? 20_000
        let seed = UInt64(env["MATRYOSHKA_X87_DIFF_SEED"] ?? "") ?? 0x87_5EED_0000_0001
        var r = Rng(s: seed)
        let m = TestMachine(memorySize: 8 << 20, model: Self.x87Model)
        let hostScratch = UnsafeMutableRawPointer.allocate(byteCount: Self.scratchSize + 64, alignment: 64)
        defer { hostScratch.deallocate() }
        var failures = 0
        var formCounts: [String: Int] = [:]
        for n in 0..<count {
            let c = Self.generate(&r)
            for f in c.forms { formCounts[f, default: 0] += 1 }
            let scratch = Self.scratch(&r)
            var regs = [UInt64](repeating: 0, count: 16)
            _ = regs.count
            regs[0] = r.next()
            let flagsIn = (r.next() & DifferentialTests.arithmetic) | 2
            let mismatch = try Self.runBoth(c, scratch, regs, flagsIn, native, m, hostScratch)
            if !mismatch.isEmpty {
                failures += 1
                if failures <= 12 {
                    // Locate the first instruction after which the states differ.
                    var culprit = ""
                    for k in 1...c.forms.count {
                        let p = c.prefix(k)
                        let d = try Self.runBoth(p, scratch, regs, flagsIn, native, m, hostScratch)
                        if !d.isEmpty {
                            culprit = "first divergence after #\(k) \(c.forms[k - 1]) \(c.parts[k].map { String(format: "%02x", $0) }.joined(separator: " ")): \(d[0])\n  " + d.dropFirst().joined(separator: "\n  ")
                            if k > 1 { culprit += "\n  before: " + (try Self.runBoth(c.prefix(k - 1), scratch, regs, flagsIn, native, m, hostScratch, forceDump: true).last ?? "") }
                            break
                        }
                    }
                    XCTFail("case \(n) \(c.forms): \(mismatch[0])\n\(culprit)")
                }
            }
        }
        print("X87 DIFFERENTIAL: \(count) cases, \(formCounts.count) form families, \(failures) mismatches (seed 0x\(String(seed, radix: 16)))")
        XCTAssertEqual(failures, 0)
    }

    /// Runs `c` natively and in the interpreter; returns the differences (the first entry
    /// describes the first difference, the last two are both FNSAVE images).
    static func runBoth(_ c: Case, _ scratch: [UInt8], _ regs: [UInt64], _ flagsIn: UInt64, _ native: NativeExecutor,
                        _ m: TestMachine, _ hostScratch: UnsafeMutableRawPointer, forceDump: Bool = false) throws -> [String] {
        scratch.withUnsafeBytes { hostScratch.copyMemory(from: $0.baseAddress!, byteCount: scratchSize) }
        var host = regs + [flagsIn]
        host[3] = UInt64(UInt(bitPattern: hostScratch))
        native.run(c.bytes, state: &host)

        try m.memory.write(scratch, at: guestScratch)
        try m.memory.write(c.bytes + [0xF4], at: code)
        m.enterLong64(entry: code, stack: 0x8_0000)
        for k in 0..<16 where k != 4 { m.cpu.gpr[k] = regs[k] }
        m.cpu.gpr[3] = guestScratch
        m.cpu.setRFLAGS(flagsIn)
        let stop = m.run(budget: 1000)

        var mismatch: [String] = []
        if stop != .halted { mismatch.append("guest stopped with \(stop) at rip 0x\(String(m.cpu.rip, radix: 16))") }
        if host[0] != m.cpu.gpr[0] { mismatch.append("rax: host \(String(host[0], radix: 16)) guest \(String(m.cpu.gpr[0], radix: 16))") }
        let fm = DifferentialTests.arithmetic
        if host[16] & fm != m.cpu.rflags & fm {
            mismatch.append("flags: host \(String(host[16] & fm, radix: 16)) guest \(String(m.cpu.rflags & fm, radix: 16))")
        }
        let h = Array(UnsafeRawBufferPointer(start: hostScratch, count: scratchSize))
        let g = try m.memory.read(at: guestScratch, length: scratchSize)
        let fnstenv = c.forms.contains("fnstenv")
        for k in 0..<scratchSize where h[k] != g[k] {
            let s = k - saveArea
            if s >= 12 && s < 28 { continue }                                // pointers, FOP
            if fnstenv && k >= outputBase && k < controlWordBase && (k - outputBase) % 32 >= 12
                && (k - outputBase) % 32 < 28 { continue }                  // FNSTENV pointers
            mismatch.append(describe(k, h, g))
            break
        }
        if !mismatch.isEmpty || forceDump { mismatch += [" host \(dumpSave(h))", "guest \(dumpSave(g))"] }
        return mismatch
    }

    static func describe(_ k: Int, _ h: [UInt8], _ g: [UInt8]) -> String {
        let s = k - saveArea
        if s >= 0 && s < 28 { return "FNSAVE env byte \(s) (host \(String(h[k], radix: 16)) guest \(String(g[k], radix: 16)))" }
        if s >= 28 && s < 108 { return "FNSAVE ST(\((s - 28) / 10)) byte \((s - 28) % 10)" }
        return "memory +\(k): host \(String(h[k], radix: 16)) guest \(String(g[k], radix: 16))"
    }

    static func dumpSave(_ b: [UInt8]) -> String {
        func w(_ o: Int) -> String { String(format: "%04x", UInt16(b[saveArea + o]) | UInt16(b[saveArea + o + 1]) << 8) }
        var s = "fcw \(w(0)) fsw \(w(4)) ftw \(w(8)) st:"
        for k in 0..<8 {
            let o = saveArea + 28 + 10 * k
            var m: UInt64 = 0
            for q in 0..<8 { m |= UInt64(b[o + q]) << UInt64(8 * q) }
            s += " \(String(format: "%04x", UInt16(b[o + 8]) | UInt16(b[o + 9]) << 8)):\(String(format: "%016llx", m))"
        }
        var out = " out:"
        for k in 0..<8 {
            let o = outputBase + 16 * k
            out += " " + b[o..<o + 10].map { String(format: "%02x", $0) }.joined()
        }
        return s + out
    }
}

extension X87DifferentialTests {
    /// Prints the host's FPREM/FPREM1 partial results (MATRYOSHKA_X87_PROBE=1); no assertion.
    func testProbeHostPartialRemainder() throws {
        guard ProcessInfo.processInfo.environment["MATRYOSHKA_X87_PROBE"] != nil else { throw XCTSkip("probe only") }
        let native = NativeExecutor()
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 1024, alignment: 64)
        defer { buf.deallocate() }
        let m = TestMachine(memorySize: 8 << 20, model: Self.x87Model)
        for op: UInt8 in [0xF8, 0xF5] {
            for d in [62, 63, 64, 65, 70, 90, 100, 127, 128, 200, 1000] {
                for (ma, mb) in [(UInt64(0xC90F_DAA2_2168_C234), UInt64(0xB172_17F7_D1CF_79AB)), (0x8000_0000_0000_0001, 0xFFFF_FFFF_FFFF_FFFF)] {
                    buf.storeBytes(of: ma, toByteOffset: 0, as: UInt64.self)
                    buf.storeBytes(of: UInt16(0x3FFF + d), toByteOffset: 8, as: UInt16.self)
                    buf.storeBytes(of: mb, toByteOffset: 16, as: UInt64.self)
                    buf.storeBytes(of: UInt16(0x3FFF), toByteOffset: 24, as: UInt16.self)
                    let body: [UInt8] = [0xDB, 0xE3] + Self.mem(0xDB, 5, 16) + Self.mem(0xDB, 5, 0) + [0xD9, op] + Self.mem(0xDD, 6, 512)
                    var st = [UInt64](repeating: 0, count: 17)
                    st[3] = UInt64(UInt(bitPattern: buf)); st[16] = 2
                    try m.memory.write(Array(UnsafeRawBufferPointer(start: buf, count: 1024)), at: Self.guestScratch)
                    native.run(body, state: &st)
                    let fsw = buf.load(fromByteOffset: 516, as: UInt16.self)
                    let sig = buf.load(fromByteOffset: 540, as: UInt64.self), ex = buf.load(fromByteOffset: 548, as: UInt16.self)
                    try m.memory.write(body + [0xF4], at: Self.code)
                    m.enterLong64(entry: Self.code, stack: 0x8_0000)
                    m.cpu.gpr[3] = Self.guestScratch
                    m.run(budget: 100)
                    let g = try m.memory.read(at: Self.guestScratch + 512, length: 40)
                    let gsig = g[28..<36].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
                    let gex = UInt16(g[36]) | UInt16(g[37]) << 8, gfsw = UInt16(g[4]) | UInt16(g[5]) << 8
                    print(String(format: "op %02x D %4d host fsw %04x %04x:%016llx (exp diff %d)  guest fsw %04x %04x:%016llx", op, d, fsw, ex, sig, Int(ex) - 0x3FFF, gfsw, gex, gsig))
                }
            }
        }
    }
}

/// Transcendental instructions against the host x87 with a tolerance: FSIN, FCOS, FSINCOS,
/// FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1 on in-domain random operands and on zeros,
/// infinities and NaNs. TOP, the tags, C2 and the IE/ZE/DE flags must match exactly; each
/// finite result within 2^-56 × max(|result|, 1) (FPTAN: 2^-48), specials bit-equal; PE, UE
/// and C1 are not compared (see X87Transcendental.swift). MATRYOSHKA_X87_DIFF_CASES / 4 cases.
final class X87TranscendentalTests: XCTestCase {
    typealias D = X87DifferentialTests

    func testTranscendentalsAreCloseToTheHost() throws {
        let native = NativeExecutor()
        try XCTSkipUnless(native.isAvailable, "no executable mapping on this host")
        let count = (Int(ProcessInfo.processInfo.environment["MATRYOSHKA_X87_DIFF_CASES"] ?? "") ?? 20_000) / 4
        var r = DifferentialTests.Rng(s: 0x7A4C_0000_0000_0001)
        let m = TestMachine(memorySize: 8 << 20, model: D.x87Model)
        let hostScratch = UnsafeMutableRawPointer.allocate(byteCount: D.scratchSize + 64, alignment: 64)
        defer { hostScratch.deallocate() }
        let ops: [(UInt8, String, Int)] = [(0xFE, "fsin", 1), (0xFF, "fcos", 1), (0xFB, "fsincos", 1), (0xF2, "fptan", 1),
                                           (0xF3, "fpatan", 2), (0xF0, "f2xm1", 1), (0xF1, "fyl2x", 2), (0xF9, "fyl2xp1", 2)]
        var failures = 0
        for n in 0..<count {
            let (op, name, _) = r.pick(ops)
            func value(_ limit: Double, positive: Bool = false) -> (UInt64, UInt16) {
                switch r.below(12) {
                case 0: return (0, r.below(2) == 0 ? 0 : 0x8000)
                case 1: return (1 << 63, (r.below(2) == 0 ? 0 : 0x8000) | 0x7FFF)
                case 2: return ((1 << 63) | (1 << 62) | (r.next() >> 2), 0x7FFF)
                default:
                    var x = (Double(r.next() % 1_000_000_007) / 1_000_000_007.0) * limit
                    if !positive && r.below(2) == 0 { x = -x }
                    let v = X87Register(Float80(x))
                    return (v.significand, v.signExponent)
                }
            }
            let x: (UInt64, UInt16), y: (UInt64, UInt16)
            switch name {
            case "f2xm1": x = value(1)
            case "fyl2x": x = value(1000, positive: true)
            case "fyl2xp1": x = value(0.29)
            default: x = value(r.below(4) == 0 ? 1e6 : 10)
            }
            y = value(100)
            var scratch = [UInt8](repeating: 0, count: D.scratchSize)
            for k in 0..<8 { scratch[k] = UInt8(truncatingIfNeeded: x.0 >> UInt64(8 * k)); scratch[16 + k] = UInt8(truncatingIfNeeded: y.0 >> UInt64(8 * k)) }
            scratch[8] = UInt8(x.1 & 0xFF); scratch[9] = UInt8(x.1 >> 8); scratch[24] = UInt8(y.1 & 0xFF); scratch[25] = UInt8(y.1 >> 8)
            scratch[D.controlWordBase] = 0x7F; scratch[D.controlWordBase + 1] = 0x03
            let clear: [UInt8] = [0xDB, 0xE3] + Array([[UInt8]](repeating: [0xD9, 0xEE], count: 8).joined()) + [0xDB, 0xE3]
            let c = D.Case(parts: [clear + D.mem(0xD9, 5, D.controlWordBase), D.mem(0xDB, 5, 16), D.mem(0xDB, 5, 0), [0xD9, op]],
                           forms: ["fld y", "fld x", name])
            _ = try D.runBoth(c, scratch, [UInt64](repeating: 0, count: 16), 2, native, m, hostScratch)
            let h = Array(UnsafeRawBufferPointer(start: hostScratch, count: D.scratchSize))
            let g = try m.memory.read(at: D.guestScratch, length: D.scratchSize)
            let s = D.saveArea
            var problems: [String] = []
            // FSW: TOP, C2, C0/C3 and IE/ZE/DE exact; tags exact.
            let fswMask: UInt16 = 0x7D07
            let hf = UInt16(h[s + 4]) | UInt16(h[s + 5]) << 8, gf = UInt16(g[s + 4]) | UInt16(g[s + 5]) << 8
            if hf & fswMask != gf & fswMask { problems.append("fsw host \(String(hf, radix: 16)) guest \(String(gf, radix: 16))") }
            if h[s + 8] != g[s + 8] || h[s + 9] != g[s + 9] { problems.append("tags") }
            for k in 0..<2 {
                let o = s + 28 + 10 * k
                let hr = X87Register(significand: h[o..<o + 8].enumerated().reduce(0) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) },
                                     signExponent: UInt16(h[o + 8]) | UInt16(h[o + 9]) << 8)
                let gr = X87Register(significand: g[o..<o + 8].enumerated().reduce(0) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) },
                                     signExponent: UInt16(g[o + 8]) | UInt16(g[o + 9]) << 8)
                if hr == gr { continue }
                let hv = hr.float80, gv = gr.float80
                // 2^-56 relative, absolute below 1 (near a zero of sin/cos the relative error
                // of any reduction grows); FPTAN near a pole 2^-48 relative.
                let tolerance = max(abs(hv), 1) * (name == "fptan" ? 0x1p-48 : 0x1p-56)
                if hv.isFinite && gv.isFinite && abs(hv - gv) <= tolerance { continue }
                problems.append("ST(\(k)) host \(String(hr.signExponent, radix: 16)):\(String(hr.significand, radix: 16)) guest \(String(gr.signExponent, radix: 16)):\(String(gr.significand, radix: 16))")
            }
            if !problems.isEmpty {
                failures += 1
                if failures <= 10 {
                    XCTFail("case \(n) \(name) x \(String(x.1, radix: 16)):\(String(x.0, radix: 16)) y \(String(y.1, radix: 16)):\(String(y.0, radix: 16)): \(problems.joined(separator: "; "))")
                }
            }
        }
        print("X87 TRANSCENDENTAL: \(count) cases, \(failures) outside tolerance")
        XCTAssertEqual(failures, 0)
    }
}
