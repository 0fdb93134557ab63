/// Permission bits of a cached translation, computed when the entry is filled from the
/// paging-structure walk (and EPT walk) under the paging-control bits then in force
/// (CR0.WP, CR4.SMEP/SMAP, EFER.NXE); changing those bits flushes the TLB.
enum TLBPerm {
    static let readUser: UInt32 = 1 << 0
    static let readSupervisor: UInt32 = 1 << 1
    /// Supervisor read while SMAP is enforced (CPL < 3 with EFLAGS.AC = 0, or implicit).
    static let readSupervisorSMAP: UInt32 = 1 << 2
    static let writeUser: UInt32 = 1 << 3
    static let writeSupervisor: UInt32 = 1 << 4
    static let writeSupervisorSMAP: UInt32 = 1 << 5
    static let execUser: UInt32 = 1 << 6
    static let execSupervisor: UInt32 = 1 << 7
    static let all: UInt32 = 0xFF
    static let allWrite: UInt32 = writeUser | writeSupervisor | writeSupervisorSMAP
}

/// The permission bit each kind of access needs now; depends on CPL, EFLAGS.AC and CR4.SMAP
/// (SDM Vol. 3A §4.6, "Access Rights").
struct AccessMasks {
    var read: UInt32 = TLBPerm.readSupervisor
    var write: UInt32 = TLBPerm.writeSupervisor
    var exec: UInt32 = TLBPerm.execSupervisor
    init() {}
}

/// One cached translation: linear page → host memory (and host-physical page).
struct TLBEntry {
    /// Linear page address | generation (bits 11:0); 0 never matches.
    var tag: UInt64 = 0
    /// Host address of the start of the page.
    var host: UInt = 0
    /// Host-physical page address (offset into `PhysicalMemory`).
    var physical: UInt64 = 0
    var perms: UInt32 = 0
    var global: Bool = false
    var pad: UInt16 = 0
}

/// A direct-mapped software TLB of linear-page translations to host pointers.
///
/// Flushes are O(1): the tag carries a 12-bit generation that a flush advances; the array is
/// cleared only when the generation wraps.
final class SoftwareTLB {
    static let bits = 12
    static let count = 1 << bits
    static let indexMask: UInt64 = UInt64(count - 1)

    let entries: UnsafeMutablePointer<TLBEntry>
    var generation: UInt64 = 1
    /// Advances on every flush: block-to-block links made under an older epoch are stale.
    var epoch: UInt64 = 0

    init() {
        entries = .allocate(capacity: SoftwareTLB.count)
        entries.initialize(repeating: TLBEntry(), count: SoftwareTLB.count)
    }

    deinit { entries.deallocate() }

    @inline(__always)
    func slot(_ linear: UInt64) -> UnsafeMutablePointer<TLBEntry> {
        entries + Int((linear >> 12) & SoftwareTLB.indexMask)
    }

    @inline(__always)
    func tag(_ linear: UInt64) -> UInt64 {
        (linear & ~0xFFF) | generation
    }

    func flushAll() {
        epoch &+= 1
        generation += 1
        if generation > 0xFFF {
            generation = 1
            for i in 0..<SoftwareTLB.count { entries[i].tag = 0 }
        }
    }

    /// Drops every translation except global ones (MOV CR3 with CR4.PGE = 1, SDM Vol. 3A §4.10.4.1).
    func flushNonGlobal() {
        epoch &+= 1
        let g = generation
        for i in 0..<SoftwareTLB.count where entries[i].tag & 0xFFF == g && !entries[i].global {
            entries[i].tag = 0
        }
    }

    /// Drops the translation for one linear page (INVLPG; SDM Vol. 3A §4.10.4.1).
    func flushPage(_ linear: UInt64) {
        epoch &+= 1
        let e = slot(linear)
        if e.pointee.tag == tag(linear) { e.pointee.tag = 0 }
    }

    /// Removes write permission from every entry mapping host-physical page `page`
    /// (the page now holds decoded code, so stores must take the slow path).
    func revokeWrites(toPhysicalPage page: UInt64) {
        let g = generation
        for i in 0..<SoftwareTLB.count where entries[i].tag & 0xFFF == g && entries[i].physical == page {
            entries[i].perms &= ~TLBPerm.allWrite
        }
    }
}
