@testable import CPU
@testable import NestedVMX

/// What must hold of every EPT02 hierarchy (SDM Vol. 3C §29.3 applied to L0's own tables):
/// its paging structures are pool pages forming a tree, its entries well formed (no large
/// pages, no reserved bits, WB leaves, never write without read), and every leaf maps a page of
/// L1's RAM. While EPT12 has not changed since the hierarchy was made or L1 last invalidated it
/// (`checkAgainstEPT12`), every leaf is also what EPT12 ∘ EPT01 gives at that L2-physical
/// address — the same page, no right EPT12 withholds, and write only once EPT12's dirty flag is
/// set when L1 enabled EPT A/D (§29.3.5).
enum EPT02Invariants {
    struct Leaf {
        let guestPhysical: UInt64
        let hostPhysical: UInt64
        let rights: UInt8
    }

    /// Walks the hierarchy at `root`; structural violations go to `problems`.
    static func leaves(root: UInt64, pool: L0Pages, memory: PhysicalMemory, l1: L1Memory,
                       problems: inout [String]) -> [Leaf] {
        var out: [Leaf] = []
        var seen: Set<UInt64> = []
        func walk(_ table: UInt64, level: Int, base: UInt64) {
            guard table >= pool.poolBase, table < pool.poolEnd, table & 0xFFF == 0 else {
                problems.append("EPT02 level-\(level) table 0x\(hex(table)) is not a page of L0's pool")
                return
            }
            guard seen.insert(table).inserted else {
                problems.append("EPT02 table 0x\(hex(table)) is reached twice (a loop or a shared table)")
                return
            }
            guard let p = memory.base.advanced(by: Int(table)) as UnsafeMutableRawPointer? else { return }
            for k in 0..<512 {
                let e = p.load(fromByteOffset: k * 8, as: UInt64.self)
                if e & 7 == 0 {
                    if e != 0 { problems.append("EPT02 entry \(k) of 0x\(hex(table)) is not present but holds 0x\(hex(e))") }
                    continue
                }
                let gpa = base | UInt64(k) << UInt64(12 + 9 * (level - 1))
                if e & 1 == 0 && e & 2 != 0 { problems.append("EPT02 entry 0x\(hex(e)) (L2-physical 0x\(hex(gpa))) is write-only") }
                let frame = e & 0x000F_FFFF_FFFF_F000
                if level > 1 {
                    if e & 0xF8 != 0 || e & ~0x000F_FFFF_FFFF_F007 != 0 {
                        problems.append("EPT02 level-\(level) entry 0x\(hex(e)) has bits beyond RWX and the address")
                    }
                    walk(frame, level: level - 1, base: gpa)
                } else {
                    if e & ~(0x000F_FFFF_FFFF_F000 | 7 | 6 << 3) != 0 || (e >> 3) & 7 != 6 {
                        problems.append("EPT02 leaf 0x\(hex(e)) (L2-physical 0x\(hex(gpa))) is not RWX + WB + address only")
                    }
                    if !l1.isRAM(frame, length: 4096) {
                        problems.append("EPT02 maps L2-physical 0x\(hex(gpa)) to host-physical 0x\(hex(frame)), which is not L1 RAM")
                    }
                    out.append(Leaf(guestPhysical: gpa, hostPhysical: frame, rights: UInt8(e & 7)))
                }
            }
        }
        walk(root, level: 4, base: 0)
        return out
    }

    /// Each leaf against EPT12 (`eptp12` is EPT02's key: address and A/D flag).
    static func checkAgainstEPT12(_ leaves: [Leaf], eptp12: UInt64, walker: IndependentEPTWalker, problems: inout [String]) {
        let ad = eptp12 & (1 << 6) != 0
        for leaf in leaves {
            switch walker.translate(leaf.guestPhysical, eptp: eptp12) {
            case .translated(let physical, let rights, let dirty):
                if physical & ~0xFFF != leaf.hostPhysical {
                    problems.append("EPT02 maps L2-physical 0x\(hex(leaf.guestPhysical)) to 0x\(hex(leaf.hostPhysical)) but EPT12 (EPTP 0x\(hex(eptp12))) maps it to 0x\(hex(physical & ~0xFFF))")
                }
                if leaf.rights & ~rights != 0 {
                    problems.append("EPT02 grants rights \(leaf.rights) at L2-physical 0x\(hex(leaf.guestPhysical)) where EPT12 grants \(rights)")
                }
                if ad && leaf.rights & 2 != 0 && !dirty {
                    problems.append("EPT02 lets L2 write L2-physical 0x\(hex(leaf.guestPhysical)) while EPT12's dirty flag is clear (EPT A/D on)")
                }
            case .notMapped(let why):
                problems.append("EPT02 maps L2-physical 0x\(hex(leaf.guestPhysical)) → 0x\(hex(leaf.hostPhysical)) (rights \(leaf.rights)) but EPT12 (EPTP 0x\(hex(eptp12))) does not: \(why)")
            }
        }
    }
}

/// The test's own EPT12 walk (SDM Vol. 3C §29.3.2, §29.3.3.1), written apart from the
/// processor's `EPTWalker` so the two can disagree: 4 levels, paging structures only in L1's
/// RAM below its top (anything else is a misconfiguration, as L0 must treat it), the
/// misconfiguration conditions for the features nested VMX offers, rights ANDed down the walk.
/// It never writes (no A/D flags).
struct IndependentEPTWalker {
    let memory: PhysicalMemory
    let ramTop: UInt64
    let physicalAddressBits: Int
    let executeOnly: Bool, pages1G: Bool, pages2M: Bool

    enum Result {
        case translated(physical: UInt64, rights: UInt8, dirty: Bool)
        case notMapped(String)
    }

    func translate(_ gpa: UInt64, eptp: UInt64) -> Result {
        let addressMask = (UInt64(1) << UInt64(physicalAddressBits)) - 1
        var table = eptp & addressMask & ~0xFFF
        var rights: UInt8 = 7
        for level in stride(from: 4, through: 1, by: -1) {
            let at = table + ((gpa >> UInt64(12 + 9 * (level - 1))) & 0x1FF) * 8
            guard at + 8 <= ramTop, memory.isRAM(at), let e = try? memory.load(UInt64.self, at: at) else {
                return .notMapped("level-\(level) entry at 0x\(hex(at)) is not L1 RAM")
            }
            let r = UInt8(e & 7)
            if r == 0 { return .notMapped("level-\(level) entry 0x\(hex(e)) not present") }
            if r & 3 == 2 { return .notMapped("write-only entry 0x\(hex(e))") }
            if r == 4 && !executeOnly { return .notMapped("execute-only entry without support") }
            if e & ~addressMask & 0x000F_FFFF_FFFF_F000 != 0 { return .notMapped("address bits above MAXPHYADDR in 0x\(hex(e))") }
            rights &= r
            let large = (level == 2 || level == 3) && e & 0x80 != 0
            if level == 1 || large {
                let type = (e >> 3) & 7
                if type == 2 || type == 3 || type == 7 { return .notMapped("reserved memory type in 0x\(hex(e))") }
                if level == 3 && (!pages1G || e & 0x3FFF_F000 != 0) { return .notMapped("bad 1-GByte page 0x\(hex(e))") }
                if level == 2 && (!pages2M || e & 0x1F_F000 != 0) { return .notMapped("bad 2-MByte page 0x\(hex(e))") }
                let size = UInt64(1) << UInt64(12 + 9 * (level - 1))
                let physical = (e & addressMask & ~(size - 1)) | (gpa & (size - 1))
                return .translated(physical: physical, rights: rights, dirty: e & (1 << 9) != 0)
            }
            if e & 0xF8 != 0 { return .notMapped("reserved bits 7:3 in non-leaf 0x\(hex(e))") }
            table = e & addressMask & ~0xFFF
        }
        return .notMapped("no leaf")
    }
}
