/// Memory operands of a block that share one page: [base + disp] operands with the same base
/// register (and segment), the base unchanged between them and their bytes within
/// `SharedPageGroup.spanLimit`. Structure fields, a stack frame's slots. The first of them
/// (the leader) checks the whole range of bytes against the TLB, with write permission if
/// any of them writes, and keeps the page's delta (host minus linear address); the others
/// then need no check of their own: one LEA with that delta (`sharedPageMember`).
///
/// This is what the per-operand checks would find. The range lies in one page, so every
/// member's bytes are on the page the leader checked (SDM Vol. 3A §4.10.2: a TLB entry
/// covers its page); the permission the leader checked covers each member's access, write
/// permission covering reads (`TLBPerm.writesImplyReads`); and between the leader and a
/// member nothing changes the TLB, since translated code leaves to the interpreter for
/// every walk, flush or change of CPL, AC or paging. When the leader's check fails (the range
/// crosses a page, or one of the accesses needs what the entry does not grant), the code
/// exits to the interpreter at the leader, which runs it with its own access only.
extension BlockTranslator {
    /// One access to a memory operand as the form's emitter asked for it.
    struct OperandAccess {
        var index: Int
        var size: Int
        var write: Bool
    }

    /// Operands sharing a page: their bytes are [base + `first`, base + `last`] (+ the
    /// segment base), and the leader keeps the delta in `delta`.
    struct SharedPageGroup {
        /// Bytes the operands of one group may span: small, so that a structure seldom
        /// straddles a page (then the leader's check always fails); below 4 KiB, so that
        /// the first and last byte's pages are adjacent and the one tag compare holds.
        static let spanLimit: Int64 = 256
        /// Delta slots in the frame, beyond the host registers the block leaves free.
        static let frameSlots = 8

        enum Home { case register(UInt8), frame(Int32) }
        var first: Int32
        var last: Int32
        var write: Bool
        var delta: Home
    }

    enum SharedPageRole { case leader(SharedPageGroup), member(SharedPageGroup) }

    /// The groups of `accesses` (one translation's, in order) among `inst[0..<count]`, by
    /// instruction index; deltas go to the host registers in `free`, then to the frame.
    static func sharedPagePlan(_ inst: UnsafePointer<DecodedInstruction>, count: Int,
                               accesses: [OperandAccess], free: [UInt8]) -> [Int: SharedPageRole] {
        // An instruction with two accesses (none today) stays on its own.
        var seen = Set<Int>(), twice = Set<Int>()
        for a in accesses where !seen.insert(a.index).inserted { twice.insert(a.index) }
        struct Open { var base: UInt8; var seg: UInt8; var members: [(index: Int, write: Bool)]; var first: Int64; var end: Int64 }
        var open: [Open] = [], groups: [Open] = []
        func close(_ k: Int) {
            if open[k].members.count >= 2 { groups.append(open[k]) }
            open.remove(at: k)
        }
        var next = 0
        for k in 0..<count {
            let d = inst[k]
            while next < accesses.count && accesses[next].index < k { next += 1 }
            if next < accesses.count, accesses[next].index == k, !twice.contains(k),
               d.isMemory, d.addrSize == 8, d.base < 16, d.index == DecodedInstruction.noRegister,
               d.disp >= Int64(Int32.min), d.disp &+ Int64(accesses[next].size) <= Int64(Int32.max) {
                let a = accesses[next]
                let seg: UInt8 = d.seg >= 4 ? d.seg : 0
                let first = d.disp, end = d.disp &+ Int64(a.size)
                if let g = open.firstIndex(where: { $0.base == d.base && $0.seg == seg }) {
                    if max(open[g].end, end) - min(open[g].first, first) <= SharedPageGroup.spanLimit {
                        open[g].members.append((k, a.write))
                        open[g].first = min(open[g].first, first)
                        open[g].end = max(open[g].end, end)
                    } else {
                        close(g)
                        open.append(Open(base: d.base, seg: seg, members: [(k, a.write)], first: first, end: end))
                    }
                } else {
                    open.append(Open(base: d.base, seg: seg, members: [(k, a.write)], first: first, end: end))
                }
            }
            // The instruction's own operand used the base before any write of it; every
            // instruction's writes end the groups on what it writes, grouped or not.
            let written = writtenMask(d)
            while let j = open.firstIndex(where: { written & (1 << UInt16($0.base)) != 0 }) { close(j) }
        }
        while !open.isEmpty { close(open.count - 1) }

        var plan: [Int: SharedPageRole] = [:]
        var freeRegisters = free[...]
        var frameSlot = 0
        for g in groups {
            let home: SharedPageGroup.Home
            if let h = freeRegisters.popFirst() {
                home = .register(h)
            } else if frameSlot < SharedPageGroup.frameSlots {
                home = .frame(TranslationFrame.pageDeltaOffset(frameSlot))
                frameSlot += 1
            } else {
                break
            }
            let group = SharedPageGroup(first: Int32(g.first), last: Int32(g.end - 1),
                                        write: g.members.contains { $0.write }, delta: home)
            plan[g.members[0].index] = .leader(group)
            for m in g.members.dropFirst() { plan[m.index] = .member(group) }
        }
        return plan
    }
}
