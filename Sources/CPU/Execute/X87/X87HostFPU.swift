#if arch(x86_64) && canImport(Glibc)
import Glibc

/// The arithmetic engine: the host's own x87 FPU, reached through Swift's `Float80`
/// (whose operations compile to x87 instructions) with the host control word set, via
/// glibc's fesetenv, to the guest's rounding control (FCW.RC) and precision control
/// (FCW.PC), all exceptions masked. The result is therefore rounded exactly as the guest
/// asked (SDM Vol. 1 §4.8.4, §8.1.5.2–3) and the host's sticky flags (IE DE ZE OE UE PE)
/// are the guest's exception conditions. The guest's masks are applied afterwards
/// (X87Exceptions.swift). C1 ("rounded up", SDM Vol. 1 §8.1.3.1) is not observable after
/// the result is stored to memory, so it is derived by redoing an inexact operation with
/// RC = chop and comparing magnitudes.
enum X87HostOp: UInt8 {
    case add, sub, mul, div, sqrt, toBinary32, toBinary64
}

enum X87HostFPU {
    /// Runs `op` on slots 0 and 1 of `s` into slot 2 under control word `cw` (RC and PC
    /// taken, exceptions masked); returns the host's exception flags (FSW bits 5:0).
    /// Operands are read and the result written through `s` between the environment
    /// calls, so the compiler cannot move the operation outside them.
    @inline(never)
    static func run(_ op: X87HostOp, _ s: UnsafeMutablePointer<Float80>, cw: UInt16) -> UInt16 {
        var saved = fenv_t()
        fegetenv(&saved)
        var env = saved
        env.__control_word = (cw & 0x0F00) | 0x007F
        env.__status_word = 0
        fesetenv(&env)
        switch op {
        case .add: s[2] = s[0] + s[1]
        case .sub: s[2] = s[0] - s[1]
        case .mul: s[2] = s[0] * s[1]
        case .div: s[2] = s[0] / s[1]
        case .sqrt: s[2] = s[0].squareRoot()
        case .toBinary32:
            let f = Float(s[0])
            UnsafeMutableRawPointer(s + 2).storeBytes(of: f.bitPattern, as: UInt32.self)
        case .toBinary64:
            let d = Double(s[0])
            UnsafeMutableRawPointer(s + 2).storeBytes(of: d.bitPattern, as: UInt64.self)
        }
        var after = fenv_t()
        fegetenv(&after)
        fesetenv(&saved)
        return after.__status_word & 0x3F
    }
}

extension ExtendedState {
    /// Host scratch slots for `X87HostFPU.run` (allocated once with the state).
    var hostSlots: UnsafeMutablePointer<Float80> { hostScratch.assumingMemoryBound(to: Float80.self) }
}
#endif
