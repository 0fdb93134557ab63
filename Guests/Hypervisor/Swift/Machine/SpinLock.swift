/// A spin lock shared by the processors (Assembly/Instructions.S: XCHG, then PAUSE while held).
struct SpinLock {
    private var word: UInt32 = 0

    mutating func withLock<R>(_ body: () -> R) -> R {
        withUnsafeMutablePointer(to: &word) { spinLock($0) }
        let r = body()
        withUnsafeMutablePointer(to: &word) { spinUnlock($0) }
        return r
    }
}
