/// The x87 register stack (SDM Vol. 1 §8.1.2, §8.1.7): ST(i) is physical register
/// R((TOP + i) mod 8); tags track which are empty; pushes onto a non-empty register and
/// reads of an empty one are stack faults (SDM Vol. 1 §8.5.1.1: IE with SF, C1 = 1 for
/// overflow, 0 for underflow; masked response: the QNaN indefinite is the result).
extension Processor {
    @inline(__always) func x87Physical(_ i: Int) -> Int { (Int(extended.control.top) &+ i) & 7 }

    @inline(__always) func x87Tag(physical p: Int) -> UInt16 { (extended.control.tags >> UInt16(2 * p)) & 3 }

    @inline(__always) func x87SetTag(physical p: Int, _ t: UInt16) {
        let sh = UInt16(2 * p)
        extended.control.tags = (extended.control.tags & ~(3 << sh)) | (t << sh)
    }

    @inline(__always) func x87IsEmpty(_ i: Int) -> Bool { x87Tag(physical: x87Physical(i)) == 3 }

    @inline(__always) func st(_ i: Int) -> X87Register { extended.x87[x87Physical(i)] }

    /// Writes ST(i) and its tag.
    @inline(__always) func setST(_ i: Int, _ v: X87Register) {
        let p = x87Physical(i)
        extended.x87[p] = v
        x87SetTag(physical: p, v.tag)
    }

    /// Marks ST(0) empty and increments TOP.
    @inline(__always) func x87Pop() {
        x87SetTag(physical: x87Physical(0), 3)
        extended.control.top = (extended.control.top &+ 1) & 7
    }

    /// Stack underflow: IE + SF, C1 = 0. Returns true if IE is masked (the caller then
    /// delivers the indefinite).
    func x87StackUnderflow() -> Bool {
        x87SetCondition(FSW.c1, false)
        x87Signal(FSW.ie | FSW.sf)
        return !x87Unmasked(FSW.ie)
    }

    /// Stack overflow: IE + SF, C1 = 1.
    func x87StackOverflow() -> Bool {
        x87SetCondition(FSW.c1, true)
        x87Signal(FSW.ie | FSW.sf)
        return !x87Unmasked(FSW.ie)
    }

    /// Checks that a push is possible. On overflow, signals it and, if masked, pushes the
    /// indefinite; returns false (the instruction is then complete).
    func x87CanPush() -> Bool {
        let p = (Int(extended.control.top) &- 1) & 7
        if x87Tag(physical: p) == 3 { return true }
        if x87StackOverflow() { x87Push(.indefinite) }
        return false
    }

    /// Decrements TOP and writes ST(0) (the caller has checked `x87CanPush`).
    @inline(__always) func x87Push(_ v: X87Register) {
        extended.control.top = (extended.control.top &- 1) & 7
        setST(0, v)
    }

    /// Checks that ST(0) (and ST(i) if `other` ≥ 0) are non-empty. On underflow signals it
    /// and returns false; if masked and `indefiniteTo` ≥ 0, ST(indefiniteTo) receives the
    /// indefinite and, with `pop`, the stack is popped.
    func x87Operands(_ other: Int = -1, indefiniteTo: Int = -1, pop: Int = 0) -> Bool {
        if !x87IsEmpty(0) && (other < 0 || !x87IsEmpty(other)) { return true }
        if x87StackUnderflow() && indefiniteTo >= 0 {
            setST(indefiniteTo, .indefinite)
            for _ in 0..<pop { x87Pop() }
        }
        return false
    }
}
