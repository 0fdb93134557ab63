/// A ring of trivial values (no references: `ExitEvent`, `LevelTimeline.Span`) in one
/// allocation made up front. Appending is a store and two index updates: no uniqueness check,
/// no reallocation, no retain — cheap enough for the trace that stays on in every run. The
/// owner deallocates it (`deallocate`) in its deinit.
struct FlatRing<Element> {
    let capacity: Int
    private let storage: UnsafeMutablePointer<Element>
    /// Elements held (at most `capacity`).
    private(set) var count = 0
    /// Where the next element goes: the oldest one once the ring is full.
    private(set) var next = 0

    init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    func deallocate() { storage.deallocate() }

    /// Adds `e`, replacing the oldest element when full.
    @inline(__always)
    mutating func append(_ e: Element) {
        if count < capacity {
            (storage + next).initialize(to: e)
            count += 1
        } else {
            storage[next] = e
        }
        next += 1
        if next == capacity { next = 0 }
    }

    /// The newest element, in place (the ring must not be empty).
    @inline(__always)
    var newest: UnsafeMutablePointer<Element> { storage + (next == 0 ? capacity - 1 : next - 1) }

    /// The elements, oldest first.
    var elements: [Element] {
        if count < capacity { return Array(UnsafeBufferPointer(start: storage, count: count)) }
        return Array(UnsafeBufferPointer(start: storage + next, count: capacity - next))
            + Array(UnsafeBufferPointer(start: storage, count: next))
    }
}
