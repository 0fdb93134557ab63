#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A bump-allocated arena of host memory that holds translated code: mapped readable,
/// writable and executable once, filled front to back, emptied all at once.
final class ExecutableMemory {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var used = 0
    /// Bytes at the start that `reset` keeps (the entry trampoline).
    private var kept = 0

    /// nil when the host refuses executable anonymous mappings (then nothing is translated).
    init?(capacity: Int) {
        let p = mmap(nil, capacity, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { return nil }
        base = p
        self.capacity = capacity
    }

    deinit { munmap(base, capacity) }

    /// Copies `code` in, 16-byte aligned; nil when the arena is full.
    func append(_ code: [UInt8]) -> UnsafeRawPointer? {
        let start = (used + 15) & ~15
        guard start + code.count <= capacity else { return nil }
        code.withUnsafeBytes { (base + start).copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        used = start + code.count
        return UnsafeRawPointer(base + start)
    }

    /// Empties the arena except the code appended before `keepContents()`.
    func reset() { used = kept }

    /// Makes everything appended so far permanent.
    func keepContents() { kept = used }
}
