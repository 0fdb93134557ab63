/// Instructions that cross a page boundary are never in the decode cache (a block lies within
/// one page, and a store to either page must be seen), so each execution fetches their bytes
/// again. This remembers the last few such decodes by the bytes they came from: a fetch whose
/// 15 bytes (from the same two host-physical pages, in the same code size) equal a
/// remembered instruction's reuses its decoded form — a decode depends on nothing else, so a
/// modified byte simply misses. A hot loop with a crossing instruction (Linux's XZ
/// decompressor has one) then pays a 16-byte compare instead of a decode per iteration.
final class CrossPageDecodes {
    struct Entry {
        /// Host-physical address of the first byte and of the second page; ~0: empty.
        var first: UInt64 = ~0
        var second: UInt64 = ~0
        var codeSize: UInt8 = 0
        /// The 15 instruction bytes (the 16th is zero).
        var bytes: (UInt64, UInt64) = (0, 0)
        var instruction = DecodedInstruction()
    }

    static let count = 8
    let entries: UnsafeMutablePointer<Entry>

    init() {
        entries = .allocate(capacity: Self.count)
        entries.initialize(repeating: Entry(), count: Self.count)
    }

    deinit { entries.deallocate() }

    @inline(__always) func slot(_ first: UInt64) -> UnsafeMutablePointer<Entry> {
        entries + Int(truncatingIfNeeded: (first ^ (first >> 12)) & UInt64(Self.count - 1))
    }
}
