import Foundation
import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Differential test: generated user-mode instruction sequences run natively on the host
/// (x86-64) and in the interpreter; GPRs, the defined RFLAGS bits and a scratch buffer must
/// match. Undefined flags are masked per form (the host is AMD; Intel leaves them differently).
/// MATRYOSHKA_DIFF_CASES sets the case count (default 100,000; CI uses fewer); a failure prints
/// the seed, the instruction bytes and both states.
final class DifferentialTests: XCTestCase {
    static let arithmetic: UInt64 = 0x8D5            // CF PF AF ZF SF OF
    static let allStatus = arithmetic
    static let guestScratch: UInt64 = 0x20_0000
    static let scratchSize = 512
    static let code: UInt64 = 0x10_0000

    /// A generated case: bytes plus the flags its last instruction leaves undefined.
    struct Case {
        var bytes: [UInt8]
        var undefinedFlags: UInt64
        var form: String
        /// A register whose bits 63:32 legitimately differ between vendors: CMPXCHG r32 that
        /// fails writes the destination back, which Intel zero-extends (SDM pseudo-code, a
        /// 32-bit write) and AMD leaves untouched.
        var vendorDependentUpperHalf: UInt8? = nil
    }

    /// xorshift64* — reproducible from the seed.
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s >> 12; s ^= s << 25; s ^= s >> 27; return s &* 0x2545_F491_4F6C_DD1D }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
        mutating func boundary() -> UInt64 {
            pick([0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                  0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ~0, next(), next() & 0xFF, next() & 0xFFFF])
        }
    }

    static let sizes: [Int] = [1, 2, 4, 8]
    /// Registers the generator may write (never RSP, RBX = scratch base, RSI/RDI = string pointers).
    static func reg(_ n: UInt8, _ size: Int) -> Register { Register(number: n, size: size) }
    static let writable: [UInt8] = [0, 1, 2, 5, 8, 9, 10, 11, 12, 13, 14, 15]

    /// Builds one random case of one form family.
    static func generate(_ r: inout Rng) -> Case {
        let a = Assembler(mode: .bits64, origin: code)
        let size = r.pick(sizes)
        let d = reg(r.pick(writable), size), s = reg(r.pick(writable), size)
        let memOff = Int64(r.below(64) * 4)
        let m = Memory(Address(base: rbx, displacement: memOff), size: size)
        var undefined: UInt64 = 0
        var form = ""
        var vendorUpper: UInt8?
        switch r.below(22) {
        case 0, 1:
            let op = Assembler.ALUOperation(rawValue: UInt8(r.below(8)))!
            switch r.below(4) {
            case 0: a.alu(op, d, s); form = "\(op) r,r"
            case 1: a.alu(op, d, Int64(bitPattern: r.boundary()) & (size == 1 ? 0x7F : 0x7FFF_FFFF)); form = "\(op) r,imm"
            case 2: a.alu(op, m, s); form = "\(op) m,r"
            default: a.alu(op, d, m); form = "\(op) r,m"
            }
        case 2:
            // ADC/SBB chains consume CF from the previous instruction.
            a.alu(.add, d, s)
            a.alu(r.below(2) == 0 ? .adc : .sbb, s, d)
            form = "adc/sbb chain"
        case 3:
            switch r.below(4) {
            case 0: a.inc(r.below(2) == 0 ? RegisterOrMemoryBox(d).rm : RegisterOrMemoryBox(m).rm); form = "inc"
            case 1: a.dec(d); form = "dec"
            case 2: a.neg(r.below(2) == 0 ? RegisterOrMemoryBox(d).rm : RegisterOrMemoryBox(m).rm); form = "neg"
            default: a.not(d); form = "not"
            }
        case 4, 5:
            let op = Assembler.ShiftOperation(rawValue: UInt8(r.pick([0, 1, 2, 3, 4, 5, 7])))!
            let count = r.pick([0, 1, 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, UInt8(r.below(256))])
            if r.below(2) == 0 {
                a.shift(op, d, count)
                form = "\(op) r,imm"
            } else {
                a.mov(cl, Int64(count)); a.shiftByCL(op, d.number == 1 ? reg(0, size) : d)
                form = "\(op) r,cl"
            }
            let masked = count & (size == 8 ? 0x3F : 0x1F)
            undefined = RFLAGS.af
            if masked > 1 { undefined |= RFLAGS.of }
            if op.rawValue >= 4 && masked >= UInt8(size * 8) { undefined |= RFLAGS.cf | RFLAGS.of }
            if op.rawValue < 4 { undefined &= ~RFLAGS.af }
        case 6:
            guard size > 1 else { fallthrough }
            let count = UInt8(r.below(size == 2 ? 16 : size * 8))
            if r.below(2) == 0 { a.shld(d, s, count) } else { a.shrd(d, s, count) }
            form = "shld/shrd"
            undefined = RFLAGS.af | (count > 1 ? RFLAGS.of : 0)
        case 7:
            switch r.below(4) {
            case 0: a.mul(s); form = "mul"
            case 1: a.imul(s); form = "imul 1-op"
            case 2: a.imul(reg(d.number, max(size, 2)), reg(s.number, max(size, 2))); form = "imul r,r"
            default: a.imul(reg(d.number, max(size, 2)), reg(s.number, max(size, 2)), Int64(Int32(truncatingIfNeeded: r.next()) >> 8)); form = "imul r,r,imm"
            }
            undefined = RFLAGS.sf | RFLAGS.zf | RFLAGS.af | RFLAGS.pf
        case 8:
            // DIV/IDIV without #DE: a small dividend, a divisor forced non-zero.
            let sz = max(size, 2)
            a.mov(reg(0, 4), Int64(r.below(1 << 15)))
            a.xor(edx, edx)
            a.mov(reg(1, 4), Int64(r.below(1000) + 1))
            if r.below(2) == 0 { a.div(reg(1, sz)); form = "div" } else { a.idiv(reg(1, sz)); form = "idiv" }
            undefined = allStatus
        case 9:
            let op = Assembler.BitTest(rawValue: UInt8(4 + r.below(4)))!
            let sz = max(size, 2)
            if r.below(2) == 0 { a.bitTest(op, reg(d.number, sz), UInt8(r.below(64))) }
            else { a.bitTest(op, reg(d.number, sz), reg(s.number, sz)) }
            form = "bt*"
            undefined = RFLAGS.of | RFLAGS.sf | RFLAGS.af | RFLAGS.pf
        case 10:
            let sz = max(size, 2)
            switch r.below(5) {
            case 0: a.bsf(reg(d.number, sz), reg(s.number, sz)); form = "bsf"
            case 1: a.bsr(reg(d.number, sz), reg(s.number, sz)); form = "bsr"
            case 2: a.db(0xF3); a.bsf(reg(d.number, sz), reg(s.number, sz)); form = "tzcnt"
            case 3: a.db(0xF3); a.bsr(reg(d.number, sz), reg(s.number, sz)); form = "lzcnt"
            default: a.db(0xF3); a.emitPopcnt(reg(d.number, sz), reg(s.number, sz)); form = "popcnt"
            }
            undefined = form.hasPrefix("bs") ? RFLAGS.cf | RFLAGS.of | RFLAGS.sf | RFLAGS.af | RFLAGS.pf
                : (form == "popcnt" ? 0 : RFLAGS.of | RFLAGS.sf | RFLAGS.af | RFLAGS.pf)
        case 11:
            a.alu(.cmp, d, s)
            let cc = Condition(rawValue: UInt8(r.below(16)))!
            if r.below(2) == 0 { a.set(cc, reg(d.number, 1)); form = "setcc" }
            else { a.cmov(cc, reg(d.number, max(size, 2)), reg(s.number, max(size, 2))); form = "cmovcc" }
        case 12:
            a.bswap(reg(d.number, r.below(2) == 0 ? 4 : 8)); form = "bswap"
        case 13:
            switch r.below(3) {
            case 0: a.movzx(reg(d.number, r.pick([2, 4, 8])), reg(s.number, 1)); form = "movzx"
            case 1: a.movsx(reg(d.number, r.pick([4, 8])), reg(s.number, r.pick([1, 2]))); form = "movsx"
            default: a.movsx(reg(d.number, 8), reg(s.number, 4)); form = "movsxd"
            }
        case 14:
            a.lea(reg(d.number, r.pick([2, 4, 8])), mem[Address(base: reg(s.number, 8), index: reg(r.pick(writable), 8),
                                                           scale: UInt8(1 << r.below(4)), displacement: Int64(Int32(truncatingIfNeeded: r.next()) >> 8))])
            form = "lea"
        case 15:
            switch r.below(3) {
            case 0: a.xchg(r.below(2) == 0 ? RegisterOrMemoryBox(d).rm : RegisterOrMemoryBox(m).rm, s); form = "xchg"
            case 1:
                let toRegister = r.below(2) == 0
                a.cmpxchg(toRegister ? RegisterOrMemoryBox(d).rm : RegisterOrMemoryBox(m).rm, s); form = "cmpxchg"
                if toRegister && size == 4 { vendorUpper = d.number }
            default: a.xadd(r.below(2) == 0 ? RegisterOrMemoryBox(d).rm : RegisterOrMemoryBox(m).rm, s); form = "xadd"
            }
        case 16, 17:
            // String instructions over the scratch buffer, with and without REP, either direction.
            a.mov(ecx, Int64(r.below(12)))
            a.lea(rsi, mem[rbx + Int64(128 + r.below(64))])
            a.lea(rdi, mem[rbx + Int64(256 + r.below(64))])
            if r.below(3) == 0 { a.std() }
            let rep = r.below(3)
            if rep == 1 { a.rep() } else if rep == 2 { a.repne() }
            switch r.below(5) {
            case 0: a.movs(size); form = "movs"
            case 1: a.stos(size); form = "stos"
            case 2: a.lods(size); form = "lods"
            case 3: a.cmps(size); form = "cmps"
            default: a.scas(size); form = "scas"
            }
            if rep != 0 { form = "rep " + form }
        case 18:
            a.alu(.test, d, s); form = "test"
            _ = 0
        case 19:
            a.mov(d, m); form = "mov r,m"
        case 20:
            a.alu(.sub, d, s); a.db(0x9F); form = "lahf"          // LAHF after SUB
        default:
            a.test(d, s); form = "test r,r"
        }
        return Case(bytes: a.assemble(), undefinedFlags: undefined, form: "\(form)/\(size * 8)",
                    vendorDependentUpperHalf: vendorUpper)
    }

    func testInterpreterMatchesTheHostProcessor() throws {
        let native = NativeExecutor()
        try XCTSkipUnless(native.isAvailable, "no executable mapping on this host")
        let count = Int(ProcessInfo.processInfo.environment["MATRYOSHKA_DIFF_CASES"] ?? "") ?? 100_000
        let seed = UInt64(ProcessInfo.processInfo.environment["MATRYOSHKA_DIFF_SEED"] ?? "") ?? 0x5EED_1234_ABCD_0001
        var r = Rng(s: seed)
        let m = TestMachine(memorySize: 8 << 20)
        let hostScratch = UnsafeMutableRawPointer.allocate(byteCount: Self.scratchSize + 64, alignment: 64)
        defer { hostScratch.deallocate() }
        var forms = Set<String>()
        var failures = 0
        for n in 0..<count {
            let c = Self.generate(&r)
            forms.insert(c.form)
            var regs = (0..<16).map { _ in r.boundary() }
            regs[3] = 0; regs[4] = 0; regs[6] = 0; regs[7] = 0
            let flagsIn = (r.next() & Self.arithmetic) | 2
            let scratch = (0..<Self.scratchSize).map { _ in UInt8(truncatingIfNeeded: r.next()) }
            // Host.
            scratch.withUnsafeBytes { hostScratch.copyMemory(from: $0.baseAddress!, byteCount: Self.scratchSize) }
            var host = regs + [flagsIn]
            host[3] = UInt64(UInt(bitPattern: hostScratch))
            host[6] = host[3] + 128; host[7] = host[3] + 256
            native.run(c.bytes, state: &host)
            // Guest.
            try m.memory.write(scratch, at: Self.guestScratch)
            try m.memory.write(c.bytes + [0xF4], at: Self.code)
            m.enterLong64(entry: Self.code, stack: 0x8_0000)
            for k in 0..<16 where k != 4 { m.cpu.gpr[k] = regs[k] }
            m.cpu.gpr[3] = Self.guestScratch
            m.cpu.gpr[6] = Self.guestScratch + 128; m.cpu.gpr[7] = Self.guestScratch + 256
            m.cpu.setRFLAGS(flagsIn)
            let stop = m.run(budget: 1000)
            // Compare: pointers as offsets from the scratch base, flags minus undefined ones.
            let hb = host[3], gb = Self.guestScratch
            var mismatch: [String] = []
            if stop != .halted { mismatch.append("guest stopped with \(stop) at rip 0x\(String(m.cpu.rip, radix: 16))") }
            for k in 0..<16 where k != 4 {
                var hv = host[k], gv = m.cpu.gpr[k]
                if k == 3 || k == 6 || k == 7 { hv = hv &- hb; gv = gv &- gb }
                if let v = c.vendorDependentUpperHalf, Int(v) == k { hv &= 0xFFFF_FFFF; gv &= 0xFFFF_FFFF }
                if hv != gv { mismatch.append("r\(k): host 0x\(String(hv, radix: 16)) guest 0x\(String(gv, radix: 16))") }
            }
            let mask = (Self.arithmetic | RFLAGS.df) & ~c.undefinedFlags
            let hf = host[16] & mask, gf = m.cpu.rflags & mask
            if hf != gf { mismatch.append("flags: host 0x\(String(hf, radix: 16)) guest 0x\(String(gf, radix: 16)) (mask 0x\(String(mask, radix: 16)))") }
            let hostMem = Array(UnsafeRawBufferPointer(start: hostScratch, count: Self.scratchSize))
            let guestMem = try m.memory.read(at: Self.guestScratch, length: Self.scratchSize)
            if hostMem != guestMem {
                let first = zip(hostMem, guestMem).enumerated().first { $0.element.0 != $0.element.1 }!.offset
                mismatch.append("memory differs first at +\(first)")
            }
            if !mismatch.isEmpty {
                failures += 1
                if failures <= 10 {
                    XCTFail("case \(n) [\(c.form)] bytes \(c.bytes.map { String(format: "%02x", $0) }.joined(separator: " ")) flags in 0x\(String(flagsIn, radix: 16)) regs \(regs.map { String($0, radix: 16) }): \(mismatch.joined(separator: "; "))")
                }
            }
        }
        print("DIFFERENTIAL: \(count) cases, \(forms.count) instruction forms, \(failures) mismatches (seed 0x\(String(seed, radix: 16)))")
        XCTAssertEqual(failures, 0)
    }
}

/// Wraps a register or memory operand for APIs taking `some RMOperand`.
struct RegisterOrMemoryBox: RMOperand {
    let rm: RegisterOrMemory
    init(_ r: Register) { rm = .register(r) }
    init(_ m: Memory) { rm = .memory(m) }
}
extension RegisterOrMemory: RMOperand {
    public var rm: RegisterOrMemory { self }
}
extension Assembler.ALUOperation {
    static let test = Assembler.ALUOperation.and
}
extension Assembler {
    /// POPCNT r, r/m (F3 0F B8) — the F3 prefix is emitted by the caller.
    func emitPopcnt(_ d: Register, _ s: Register) {
        var bytes: [UInt8] = []
        if d.size == 2 { bytes.append(0x66) }
        var rex: UInt8 = d.size == 8 ? 0x48 : 0
        if d.number >= 8 { rex |= 0x44 }
        if s.number >= 8 { rex |= 0x41 }
        if rex != 0 { bytes.append(rex | 0x40) }
        bytes += [0x0F, 0xB8, 0xC0 | ((d.number & 7) << 3) | (s.number & 7)]
        db(bytes)
    }
}
