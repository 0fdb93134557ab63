/// Linear-address translation: the four paging modes of SDM Vol. 3A ch. 4.
extension Processor {
    /// Paging-structure entry bits (SDM Vol. 3A §4.3–4.5, Tables 4-4 … 4-20).
    enum PTE {
        static let p: UInt64 = 1 << 0
        static let rw: UInt64 = 1 << 1
        static let us: UInt64 = 1 << 2
        static let a: UInt64 = 1 << 5
        static let d: UInt64 = 1 << 6
        static let ps: UInt64 = 1 << 7
        static let g: UInt64 = 1 << 8
        static let xd: UInt64 = 1 << 63
    }

    /// Page-fault error-code bits (SDM Vol. 3A §4.7, Figure 4-12).
    public enum PFErrorCode {
        public static let present: UInt32 = 1 << 0
        public static let write: UInt32 = 1 << 1
        public static let user: UInt32 = 1 << 2
        public static let reserved: UInt32 = 1 << 3
        public static let fetch: UInt32 = 1 << 4
        public static let protectionKey: UInt32 = 1 << 5
    }

    /// Translates a linear address (SDM Vol. 3A §4.1): no paging, 32-bit, PAE or
    /// 4-/5-level paging according to CR0.PG, CR4.PAE, EFER.LME and CR4.LA57.
    
    func walk(_ la: UInt64, _ access: AccessType) throws(Fault) -> Translation {
        if cr0 & CR0.pg == 0 {
            let gpa = la & 0xFFFF_FFFF
            return try finishTranslation(gpa: gpa, la: la, access: access, perms: TLBPerm.all, global: false)
        }
        if efer & EFER.lma != 0 { return try walkLongMode(la, access) }
        if cr4 & CR4.pae != 0 { return try walkPAE(la, access) }
        return try walk32(la, access)
    }

    // MARK: Paging modes

    /// 4-level and 5-level paging (SDM Vol. 3A §4.5).
    
    func walkLongMode(_ la: UInt64, _ access: AccessType) throws(Fault) -> Translation {
        let maxPhys = model.physicalAddressMask
        let addrMask = maxPhys & ~0xFFF
        let nxe = efer & EFER.nxe != 0
        // Reserved: bits 51:MAXPHYADDR, and XD when EFER.NXE = 0.
        let rsvdHigh: UInt64 = (((UInt64(1) << 52) - 1) & ~maxPhys) | (nxe ? 0 : PTE.xd)
        let levels = cr4 & CR4.la57 != 0 ? 5 : 4
        var table = cr3 & addrMask
        var acc = Accumulated()
        var entries = PageEntryTrail()
        var level = levels
        // The PDE cache (§4.10.3.1): a 2-MByte region whose walk reached a page table before
        // starts at that table. Entries are made only by walks that completed, so the upper
        // entries' accessed flags are already set (§4.10.3.2 lets the walk skip them).
        let (pdeSlot, pdeTag) = tlb.pdeSlot(la)
        var cacheable = true
        var upper = Accumulated()          // the rights above the page table, for the cache
        if pdeSlot.pointee.tag == pdeTag {
            table = pdeSlot.pointee.pageTable
            acc.user = pdeSlot.pointee.user
            acc.writable = pdeSlot.pointee.writable
            acc.noExecute = pdeSlot.pointee.noExecute
            level = 1
            cacheable = false
        }
        while true {
            let shift = UInt64(12 + 9 * (level - 1))
            let index = (la >> shift) & 0x1FF
            let entryGPA = table + index * 8
            let (e, hpa) = try readPagingEntry(entryGPA, la: la, access: access)
            entries.append(hpa, e, gpa: entryGPA)
            if e & PTE.p == 0 { throw pageFault(la, access, present: false, reserved: false) }
            var rsvd = rsvdHigh
            let isLeaf: Bool
            if level == 5 || level == 4 {
                rsvd |= PTE.ps
                isLeaf = false
            } else if level == 3 {
                isLeaf = e & PTE.ps != 0
                if isLeaf {
                    if !model.has(.pages1G) { rsvd |= PTE.ps } else { rsvd |= 0x3FFF_E000 }
                }
            } else if level == 2 {
                isLeaf = e & PTE.ps != 0
                if isLeaf { rsvd |= 0x1F_E000 }
            } else {
                isLeaf = true
            }
            if e & rsvd != 0 { throw pageFault(la, access, present: true, reserved: true) }
            acc.add(e)
            if isLeaf || level == 1 {
                let pageMask: UInt64 = (UInt64(1) << shift) - 1
                let frame = e & addrMask & ~pageMask
                let gpa = frame | (la & pageMask)
                let t = try completeWalk(gpa: gpa, la: la, access: access, acc: acc, leaf: e,
                                         entries: entries, pae: true)
                if cacheable && level == 1 {
                    pdeSlot.pointee = PDECacheEntry(tag: pdeTag, pageTable: table, user: upper.user,
                                                    writable: upper.writable, noExecute: upper.noExecute)
                }
                return t
            }
            table = e & addrMask
            level -= 1
            if level == 1 { upper = acc }
        }
    }

    /// PAE paging (SDM Vol. 3A §4.4): the PDPTE comes from the PDPTE registers.
    
    func walkPAE(_ la: UInt64, _ access: AccessType) throws(Fault) -> Translation {
        let maxPhys = model.physicalAddressMask
        let addrMask = maxPhys & ~0xFFF
        let nxe = efer & EFER.nxe != 0
        // PAE entries: bits 62:MAXPHYADDR reserved, and XD when EFER.NXE = 0.
        let rsvdHigh: UInt64 = (((UInt64(1) << 63) - 1) & ~maxPhys) | (nxe ? 0 : PTE.xd)
        let pdpteValue: UInt64
        switch (la >> 30) & 3 {
        case 0: pdpteValue = pdpte.0
        case 1: pdpteValue = pdpte.1
        case 2: pdpteValue = pdpte.2
        default: pdpteValue = pdpte.3
        }
        if pdpteValue & PTE.p == 0 { throw pageFault(la, access, present: false, reserved: false) }
        var acc = Accumulated()
        var entries = PageEntryTrail()
        // The PDPTE carries no access rights (SDM Vol. 3A §4.4.2, Table 4-8).
        var table = pdpteValue & addrMask
        for level in [2, 1] {
            let shift = UInt64(level == 2 ? 21 : 12)
            let entryGPA = table + ((la >> shift) & 0x1FF) * 8
            let (e, hpa) = try readPagingEntry(entryGPA, la: la, access: access)
            entries.append(hpa, e, gpa: entryGPA)
            if e & PTE.p == 0 { throw pageFault(la, access, present: false, reserved: false) }
            let isLeaf = level == 1 || e & PTE.ps != 0
            var rsvd = rsvdHigh
            if level == 2 && isLeaf { rsvd |= 0x1F_E000 }
            if e & rsvd != 0 { throw pageFault(la, access, present: true, reserved: true) }
            acc.add(e)
            if isLeaf {
                let pageMask: UInt64 = (UInt64(1) << shift) - 1
                let gpa = (e & addrMask & ~pageMask) | (la & pageMask)
                return try completeWalk(gpa: gpa, la: la & 0xFFFF_FFFF, access: access, acc: acc, leaf: e,
                                        entries: entries, pae: true)
            }
            table = e & addrMask
        }
        fatalError("unreachable: PAE walk ends at level 1")
    }

    /// 32-bit paging with optional 4-MByte pages (PSE, PSE-36) (SDM Vol. 3A §4.3).
    
    func walk32(_ la: UInt64, _ access: AccessType) throws(Fault) -> Translation {
        let la32 = la & 0xFFFF_FFFF
        var acc = Accumulated()
        var entries = PageEntryTrail()
        let pdeGPA = (cr3 & 0xFFFF_F000) + ((la32 >> 22) & 0x3FF) * 4
        let (pde, pdeHPA) = try readPagingEntry32(pdeGPA, la: la, access: access)
        entries.append(pdeHPA, pde, gpa: pdeGPA, narrow: true)
        if pde & PTE.p == 0 { throw pageFault(la, access, present: false, reserved: false) }
        if pde & PTE.ps != 0 && cr4 & CR4.pse != 0 {
            // PSE-36: bits 20:13 hold physical-address bits 39:32; bit 21 reserved, as are
            // bits above MAXPHYADDR (SDM Vol. 3A §4.3, Table 4-4).
            let physBits = min(model.physicalAddressBits, 40)
            let highMask: UInt64 = physBits > 32 ? ((UInt64(1) << UInt64(physBits - 32)) - 1) << 13 : 0
            let rsvd: UInt64 = (0x3F_E000 & ~highMask)
            if pde & rsvd != 0 { throw pageFault(la, access, present: true, reserved: true) }
            acc.add(pde)
            let high = ((pde >> 13) & 0xFF) << 32
            let gpa = high | (pde & 0xFFC0_0000) | (la32 & 0x3F_FFFF)
            return try completeWalk(gpa: gpa, la: la32, access: access, acc: acc, leaf: pde,
                                    entries: entries, pae: false)
        }
        acc.add(pde)
        let pteGPA = (pde & 0xFFFF_F000) + ((la32 >> 12) & 0x3FF) * 4
        let (pte, pteHPA) = try readPagingEntry32(pteGPA, la: la, access: access)
        entries.append(pteHPA, pte, gpa: pteGPA, narrow: true)
        if pte & PTE.p == 0 { throw pageFault(la, access, present: false, reserved: false) }
        acc.add(pte)
        let gpa = (pte & 0xFFFF_F000) | (la32 & 0xFFF)
        return try completeWalk(gpa: gpa, la: la32, access: access, acc: acc, leaf: pte,
                                entries: entries, pae: false)
    }

    // MARK: Access rights (SDM Vol. 3A §4.6)

    /// Access rights accumulated over the paging-structure entries of one translation.
    struct Accumulated {
        var user = true
        var writable = true
        var noExecute = false
        init() {}
        mutating func add(_ e: UInt64) {
            user = user && e & PTE.us != 0
            writable = writable && e & PTE.rw != 0
            noExecute = noExecute || e & PTE.xd != 0
        }
    }

    /// The entries a walk read (host- and guest-physical address and value), for setting A/D
    /// flags.
    struct PageEntryTrail {
        var hpa: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        var gpa: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        var value: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        var count = 0
        var narrow = false
        init() {}
        mutating func append(_ h: UInt64, _ v: UInt64, gpa g: UInt64, narrow n: Bool = false) {
            narrow = n
            switch count {
            case 0: hpa.0 = h; value.0 = v; gpa.0 = g
            case 1: hpa.1 = h; value.1 = v; gpa.1 = g
            case 2: hpa.2 = h; value.2 = v; gpa.2 = g
            case 3: hpa.3 = h; value.3 = v; gpa.3 = g
            default: hpa.4 = h; value.4 = v; gpa.4 = g
            }
            count += 1
        }
        func entry(_ i: Int) -> (UInt64, UInt64) {
            switch i {
            case 0: return (hpa.0, value.0)
            case 1: return (hpa.1, value.1)
            case 2: return (hpa.2, value.2)
            case 3: return (hpa.3, value.3)
            default: return (hpa.4, value.4)
            }
        }
        func guestPhysical(_ i: Int) -> UInt64 {
            switch i {
            case 0: return gpa.0
            case 1: return gpa.1
            case 2: return gpa.2
            case 3: return gpa.3
            default: return gpa.4
            }
        }
    }

    /// Whether SMAP blocks supervisor data accesses to user pages now: CR4.SMAP = 1 unless
    /// CPL < 3 and EFLAGS.AC = 1 (implicit accesses at CPL 3 are always checked).
    var smapEnforced: Bool {
        cr4 & CR4.smap != 0 && !(cpl < 3 && flagsOther & RFLAGS.ac != 0)
    }

    /// Checks the access against the accumulated rights, sets accessed/dirty flags, and
    /// computes the TLB permissions of the page (SDM Vol. 3A §4.6, §4.8).
    
    func completeWalk(gpa: UInt64, la: UInt64, access: AccessType, acc: Accumulated, leaf: UInt64,
                      entries: PageEntryTrail, pae: Bool) throws(Fault) -> Translation {
        let wp = cr0 & CR0.wp != 0
        let smap = cr4 & CR4.smap != 0
        let smep = cr4 & CR4.smep != 0
        let nx = acc.noExecute && (efer & EFER.nxe != 0) && pae
        // Permission check for this access.
        let allowed: Bool
        if access.isFetch {
            if access.isUser { allowed = acc.user && !nx }
            else { allowed = !nx && !(smep && acc.user) }
        } else if access.isWrite {
            if access.isUser { allowed = acc.user && acc.writable }
            else {
                let smapBlocks = acc.user && smapEnforced
                allowed = !smapBlocks && (acc.writable || !wp)
            }
        } else {
            if access.isUser { allowed = acc.user }
            else { allowed = !(acc.user && smapEnforced) }
        }
        // Protection keys (§4.6.2): IA-32e paging only, data accesses only. The #PF error
        // code's PK bit says whether the key denies the access, whatever else also does (§4.7).
        let keyRights = pae && efer & EFER.lma != 0 ? protectionKeyRights(leaf: leaf, user: acc.user) : 0
        let keyDenies = keyRights != 0 && !access.isFetch
            && Self.protectionKeyDenies(keyRights, write: access.isWrite, userAccess: access.isUser, wp: wp)
        if !allowed || keyDenies {
            throw pageFault(la, access, present: true, reserved: false, protectionKey: keyDenies)
        }

        // Accessed flags on every entry; dirty on the leaf for writes (SDM Vol. 3A §4.8).
        let dirty = leaf & PTE.d != 0 || access.isWrite
        for i in 0..<entries.count {
            let (h, v) = entries.entry(i)
            var nv = v | PTE.a
            if i == entries.count - 1 && access.isWrite { nv |= PTE.d }
            guard nv != v else { continue }
            // §29.3.3.2: without EPT A/D, the flag update is a separate EPT write access to the
            // entry (after its read); with them, the read was already checked as a write.
            if controls.ept && !controls.eptPointer.accessedDirtyEnabled {
                _ = try eptTranslate(entries.guestPhysical(i), access, linear: la, pagingStructure: true,
                                     updatesFlags: true)
            }
            try setPagingEntryFlags(h, nv, narrow: entries.narrow, la: la)
        }

        var perms: UInt32 = TLBPerm.readSupervisor
        if acc.user { perms |= TLBPerm.readUser }
        if !acc.user || !smap { perms |= TLBPerm.readSupervisorSMAP }
        if dirty {
            if acc.user && acc.writable { perms |= TLBPerm.writeUser }
            if acc.writable || !wp {
                perms |= TLBPerm.writeSupervisor
                if !acc.user || !smap { perms |= TLBPerm.writeSupervisorSMAP }
            }
        }
        if !nx {
            if acc.user { perms |= TLBPerm.execUser }
            if !(smep && acc.user) { perms |= TLBPerm.execSupervisor }
        }
        if keyRights != 0 { perms = Self.protectionKeyPermissions(perms, rights: keyRights, wp: wp) }
        let global = leaf & PTE.g != 0 && cr4 & CR4.pge != 0
        return try finishTranslation(gpa: gpa, la: la, access: access, perms: perms, global: global)
    }

    /// Builds a #PF (SDM Vol. 3A §4.7; PK, bit 5: a protection-key violation, §4.6.2) and
    /// records the faulting linear address for CR2.
    
    func pageFault(_ la: UInt64, _ access: AccessType, present: Bool, reserved: Bool,
                   protectionKey: Bool = false) -> Fault {
        var code: UInt32 = 0
        if present || reserved { code |= PFErrorCode.present }
        if protectionKey { code |= PFErrorCode.protectionKey }
        if access.isWrite { code |= PFErrorCode.write }
        if access.isUser { code |= PFErrorCode.user }
        if reserved { code |= PFErrorCode.reserved }
        if access.isFetch && (cr4 & CR4.smep != 0 || (cr4 & CR4.pae != 0 && efer & EFER.nxe != 0)) {
            code |= PFErrorCode.fetch
        }
        faultingLinearAddress = la
        invalidateMappingsForPageFault(la)
        return .exception(.exception(Vector.pf, errorCode: code))
    }

    // MARK: Paging-structure accesses (through EPT when it is on)

    
    func readPagingEntry(_ gpa: UInt64, la: UInt64, access: AccessType) throws(Fault) -> (UInt64, UInt64) {
        stallTime &+= model.pagingEntryLatency
        let hpa = try pagingStructureAddress(gpa, la: la, access: access)
        guard memory.isRAM(hpa), hpa + 8 <= memory.size else { return (~0, ~0) }
        return ((memory.base + Int(hpa)).loadUnaligned(as: UInt64.self), hpa)
    }

    
    func readPagingEntry32(_ gpa: UInt64, la: UInt64, access: AccessType) throws(Fault) -> (UInt64, UInt64) {
        stallTime &+= model.pagingEntryLatency
        let hpa = try pagingStructureAddress(gpa, la: la, access: access)
        guard memory.isRAM(hpa), hpa + 4 <= memory.size else { return (0xFFFF_FFFF, ~0) }
        return (UInt64((memory.base + Int(hpa)).loadUnaligned(as: UInt32.self)), hpa)
    }

    
    func setPagingEntryFlags(_ hpa: UInt64, _ value: UInt64, narrow: Bool, la: UInt64) throws(Fault) {
        guard hpa != ~0 else { return }
        let p = memory.base + Int(hpa)
        if narrow { p.storeBytes(of: UInt32(truncatingIfNeeded: value), as: UInt32.self) }
        else { p.storeBytes(of: value, as: UInt64.self) }
        let page = Int(hpa >> 12)
        if memory.isCodePage(page) {
            memory.invalidateCode(page: page)
            pending |= PendingBit.codeModified
        }
    }

    /// Loads the four PDPTEs from CR3 for PAE paging, raising #GP(0) if a present entry
    /// sets a reserved bit (SDM Vol. 3A §4.4.1).
    
    func loadPDPTEs(cr3 value: UInt64) throws(Fault) {
        let base = value & 0xFFFF_FFE0
        var e: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let rsvd: UInt64 = (~model.physicalAddressMask) | 0x1E6
        for i in 0..<4 {
            let gpa = base + UInt64(i * 8)
            let hpa = try pagingStructureAddress(gpa, la: nil, access: .read)
            let v: UInt64 = memory.isRAM(hpa) ? (memory.base + Int(hpa)).loadUnaligned(as: UInt64.self) : ~0
            if v & PTE.p != 0 && v & rsvd != 0 { throw Fault.gp(0) }
            switch i {
            case 0: e.0 = v
            case 1: e.1 = v
            case 2: e.2 = v
            default: e.3 = v
            }
        }
        pdpte = e
    }
}
