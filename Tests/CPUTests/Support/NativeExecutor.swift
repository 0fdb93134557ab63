#if canImport(Glibc)
import Glibc
#endif
import X86Assembler

/// Runs a snippet of x86-64 code natively on the host processor, with every GPR (except RSP)
/// and the arithmetic flags and DF loaded from a state block and stored back afterwards.
/// Only meaningful on an x86-64 host; `isAvailable` says whether an executable mapping works.
final class NativeExecutor {
    /// State block: 16 GPRs (RSP slot unused) then RFLAGS.
    static let flagsSlot = 16
    private let page: UnsafeMutableRawPointer
    private let size = 1 << 16
    let isAvailable: Bool

    init() {
        #if arch(x86_64) && canImport(Glibc)
        let p = mmap(nil, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if p == MAP_FAILED || p == nil {
            page = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
            isAvailable = false
        } else {
            page = p!
            isAvailable = true
        }
        #else
        page = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        isAvailable = false
        #endif
    }

    /// Prologue + `body` + epilogue for a state pointer in RDI (System V).
    static func wrap(_ body: [UInt8], origin: UInt64) -> [UInt8] {
        let a = Assembler(mode: .bits64, origin: origin)
        for r in [rbx, rbp, r12, r13, r14, r15] { a.push(r) }
        a.push(rdi)
        a.push(qword[rdi + Int64(flagsSlot * 8)])
        a.popf()
        let order = [rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15]
        for (k, r) in order.enumerated() where k != 4 && k != 7 { a.mov(r, qword[rdi + Int64(k * 8)]) }
        a.mov(rdi, qword[rdi + 7 * 8])
        a.db(body)
        a.pushf()
        a.push(rdi)
        a.mov(rdi, qword[rsp + 16])
        for (k, r) in order.enumerated() where k != 4 && k != 7 { a.mov(qword[rdi + Int64(k * 8)], r) }
        a.pop(rax); a.mov(qword[rdi + 7 * 8], rax)
        a.pop(rax); a.mov(qword[rdi + Int64(flagsSlot * 8)], rax)
        a.cld()
        a.add(rsp, 8)
        for r in [r15, r14, r13, r12, rbp, rbx] { a.pop(r) }
        a.ret()
        return a.assemble()
    }

    /// Executes `body` with `state` (17 quadwords) in and out.
    func run(_ body: [UInt8], state: inout [UInt64]) {
        precondition(isAvailable && state.count == 17)
        let code = Self.wrap(body, origin: UInt64(UInt(bitPattern: page)))
        code.withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        typealias Fn = @convention(c) (UnsafeMutableRawPointer) -> Void
        let fn = unsafeBitCast(page, to: Fn.self)
        state.withUnsafeMutableBytes { fn($0.baseAddress!) }
    }
}
