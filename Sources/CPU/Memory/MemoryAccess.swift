/// Guest memory access: segmentation (SDM Vol. 3A ch. 5), then the software TLB, falling
/// back to the paging walk (ch. 4), EPT (Vol. 3C ch. 29) and device accesses.
extension Processor {
    // MARK: Segmentation

    /// Translates a logical address to a linear address for a data access of `size` bytes,
    /// raising #GP(0) / #SS(0) for canonical, limit and type violations.
    /// SDM Vol. 3A §3.3.7.1 (canonical addressing), §5.3 (limit checking), §5.4 (type checking).
    @inline(__always)
    func linearAddress(_ seg: Int, _ offset: UInt64, _ size: Int, write: Bool) throws(Fault) -> UInt64 {
        if is64 {
            var la = offset
            if seg >= 4 { la &+= segments[seg].base }
            if !isCanonical(la) { throw seg == 2 ? Fault.ss(0) : Fault.gp(0) }
            return la
        }
        let c = segmentChecks[seg]
        let last = offset &+ UInt64(size &- 1)
        if last < (write ? c.writeEnd : c.readEnd) && last >= offset {
            return (segments[seg].base &+ offset) & 0xFFFF_FFFF
        }
        return try linearAddressLegacySlow(seg, offset, size, write: write)
    }

    /// The exact segment checks outside 64-bit mode, for the cases the cached limits reject.
    
    func linearAddressLegacySlow(_ seg: Int, _ offset: UInt64, _ size: Int, write: Bool) throws(Fault) -> UInt64 {
        let s = segments[seg]
        let fault: Fault = seg == SegmentRegisterIndex.ss.rawValue ? .ss(0) : .gp(0)
        if mode == .protected || mode == .compatibility {
            if s.unusable { throw fault }
            if write && (s.isCode || s.type & 2 == 0) { throw fault }
            if !write && s.isCode && s.type & 2 == 0 { throw fault }
        }
        let last = offset &+ UInt64(size - 1)
        if s.isExpandDown && mode != .real && mode != .virtual8086 {
            let upper: UInt64 = s.defaultBig ? 0xFFFF_FFFF : 0xFFFF
            if offset <= UInt64(s.limit) || last > upper || last < offset { throw fault }
        } else {
            if last > UInt64(s.limit) || last < offset { throw fault }
        }
        return (s.base &+ offset) & 0xFFFF_FFFF
    }

    /// Canonical: bits 63:N-1 all equal bit N-1, N = 48 or 57 (SDM Vol. 3A §4.5).
    @inline(__always) public func isCanonical(_ la: UInt64) -> Bool {
        CanonicalAddress.isCanonical(la, width: CanonicalAddress.width(la57: cr4 & CR4.la57 != 0))
    }

    // MARK: Linear-address access (TLB fast path)

    @inline(__always)
    func readLinear<T: FixedWidthInteger>(_ la: UInt64, _: T.Type) throws(Fault) -> T {
        if let p = cachedHost(la, MemoryLayout<T>.size, permission: accessMasks.read) { return p.loadUnaligned(as: T.self) }
        return T(truncatingIfNeeded: try readLinearSlow(la, MemoryLayout<T>.size, currentAccess(.read)))
    }

    @inline(__always)
    func writeLinear<T: FixedWidthInteger>(_ la: UInt64, _ value: T) throws(Fault) {
        if let p = cachedHost(la, MemoryLayout<T>.size, permission: accessMasks.write) {
            p.storeBytes(of: value, as: T.self)
            return
        }
        try writeLinearSlow(la, MemoryLayout<T>.size, UInt64(truncatingIfNeeded: value), currentAccess(.write))
    }

    /// Reads for a read-modify-write instruction: the access is checked (and faults) as a
    /// write, since the instruction will store to the same location (SDM Vol. 3A §4.7:
    /// the W/R bit reports the access as a write).
    @inline(__always)
    func readLinearRMW<T: FixedWidthInteger>(_ la: UInt64, _: T.Type) throws(Fault) -> T {
        if let p = cachedHost(la, MemoryLayout<T>.size, permission: accessMasks.write) { return p.loadUnaligned(as: T.self) }
        return T(truncatingIfNeeded: try readLinearSlow(la, MemoryLayout<T>.size, currentAccess(.write)))
    }

    /// Read-modify-write operand access: `readRMW` returns the value and the linear address
    /// to pass to `writeLinearSized` afterwards.
    @inline(__always)
    func readLinearSizedRMW(_ la: UInt64, _ size: UInt8) throws(Fault) -> UInt64 {
        switch size {
        case 1: return UInt64(try readLinearRMW(la, UInt8.self))
        case 2: return UInt64(try readLinearRMW(la, UInt16.self))
        case 4: return UInt64(try readLinearRMW(la, UInt32.self))
        default: return try readLinearRMW(la, UInt64.self)
        }
    }

    @inline(__always)
    func readLinearSized(_ la: UInt64, _ size: UInt8) throws(Fault) -> UInt64 {
        switch size {
        case 1: return UInt64(try readLinear(la, UInt8.self))
        case 2: return UInt64(try readLinear(la, UInt16.self))
        case 4: return UInt64(try readLinear(la, UInt32.self))
        default: return try readLinear(la, UInt64.self)
        }
    }

    @inline(__always)
    func writeLinearSized(_ la: UInt64, _ size: UInt8, _ v: UInt64) throws(Fault) {
        switch size {
        case 1: try writeLinear(la, UInt8(truncatingIfNeeded: v))
        case 2: try writeLinear(la, UInt16(truncatingIfNeeded: v))
        case 4: try writeLinear(la, UInt32(truncatingIfNeeded: v))
        default: try writeLinear(la, v)
        }
    }

    /// The access type of an explicit data access at the current privilege level.
    @inline(__always) func currentAccess(_ a: AccessType) -> AccessType {
        a.user(cpl == 3)
    }

    // MARK: Logical-address access used by instruction handlers

    @inline(__always)
    func read<T: FixedWidthInteger>(_ seg: Int, _ offset: UInt64, _ t: T.Type) throws(Fault) -> T {
        let la = try linearAddress(seg, offset, MemoryLayout<T>.size, write: false)
        return try readLinear(la, t)
    }

    @inline(__always)
    func write<T: FixedWidthInteger>(_ seg: Int, _ offset: UInt64, _ value: T) throws(Fault) {
        let la = try linearAddress(seg, offset, MemoryLayout<T>.size, write: true)
        try writeLinear(la, value)
    }

    /// Reads `size` (1, 2, 4 or 8) bytes, zero-extended.
    @inline(__always)
    func readSized(_ seg: Int, _ offset: UInt64, _ size: UInt8) throws(Fault) -> UInt64 {
        switch size {
        case 1: return UInt64(try read(seg, offset, UInt8.self))
        case 2: return UInt64(try read(seg, offset, UInt16.self))
        case 4: return UInt64(try read(seg, offset, UInt32.self))
        default: return try read(seg, offset, UInt64.self)
        }
    }

    @inline(__always)
    func writeSized(_ seg: Int, _ offset: UInt64, _ size: UInt8, _ value: UInt64) throws(Fault) {
        switch size {
        case 1: try write(seg, offset, UInt8(truncatingIfNeeded: value))
        case 2: try write(seg, offset, UInt16(truncatingIfNeeded: value))
        case 4: try write(seg, offset, UInt32(truncatingIfNeeded: value))
        default: try write(seg, offset, value)
        }
    }

    /// Checks that a write of `size` bytes at seg:offset would succeed (segmentation and
    /// paging), without writing: lets multi-part instructions fault before changing state.
    
    func probeWrite(_ seg: Int, _ offset: UInt64, _ size: Int) throws(Fault) {
        let la = try linearAddress(seg, offset, size, write: true)
        try probeLinear(la, size, currentAccess(.write))
    }

    
    func probeLinear(_ la: UInt64, _ size: Int, _ access: AccessType) throws(Fault) {
        let t = try translate(la, access)
        let end = la &+ UInt64(size - 1)
        let crosses = (end ^ la) & ~0xFFF != 0
        let firstSize = crosses ? Int(0x1000 - (la & 0xFFF)) : size
        if t.apicAccess != nil { try probeAPICAccessPage(t, firstSize, access) }
        if crosses {
            let t2 = try translate(end & ~0xFFF, access)
            if t2.apicAccess != nil { try probeAPICAccessPage(t2, size - firstSize, access) }
        }
    }

    // MARK: Slow paths

    /// A read that missed the TLB, crosses a page, or reaches a device.
    
    func readLinearSlow(_ la: UInt64, _ size: Int, _ access: AccessType) throws(Fault) -> UInt64 {
        if watchpointsArmed && !access.isFetch { noteDataAccess(la, size, write: false) }
        let end = la &+ UInt64(size - 1)
        if (end ^ la) & ~0xFFF == 0 || size == 1 {
            if is64 && !isCanonical(end) { throw Fault.gp(0) }
            let t = try translate(la, access)
            try checkAlignment(la, size, access)
            return try physicalRead(t, la, size)
        }
        // Page-crossing: translate both pages (faults in address order), then read bytes.
        if is64 && !isCanonical(end) { throw Fault.gp(0) }
        let first = try translate(la, access)
        let secondLA = (la | 0xFFF) &+ 1
        let second = try translate(secondLA, access)
        try checkAlignment(la, size, access)
        let n1 = Int(secondLA &- la)
        let lo = try physicalRead(first, la, n1)
        let hi = try physicalRead(second, secondLA, size - n1)
        return lo | (hi << UInt64(8 * n1))
    }

    
    func writeLinearSlow(_ la: UInt64, _ size: Int, _ value: UInt64, _ access: AccessType) throws(Fault) {
        if watchpointsArmed { noteDataAccess(la, size, write: true) }
        let end = la &+ UInt64(size - 1)
        if is64 && !isCanonical(end) { throw Fault.gp(0) }
        if (end ^ la) & ~0xFFF == 0 || size == 1 {
            let t = try translate(la, access)
            try checkAlignment(la, size, access)
            try physicalWrite(t, la, size, value)
            return
        }
        let first = try translate(la, access)
        let secondLA = (la | 0xFFF) &+ 1
        let second = try translate(secondLA, access)
        try checkAlignment(la, size, access)
        let n1 = Int(secondLA &- la)
        try physicalWrite(first, la, n1, value)
        try physicalWrite(second, secondLA, size - n1, value >> UInt64(8 * n1))
    }

    /// Reads `size` bytes (not crossing a page) at the translation of `la`.
    
    func physicalRead(_ t: Translation, _ la: UInt64, _ size: Int) throws(Fault) -> UInt64 {
        let pa = t.physical
        if t.ram {
            let p = memory.base + Int(pa)
            switch size {
            case 1: return UInt64(p.load(as: UInt8.self))
            case 2: return UInt64(p.loadUnaligned(as: UInt16.self))
            case 4: return UInt64(p.loadUnaligned(as: UInt32.self))
            case 8: return p.loadUnaligned(as: UInt64.self)
            default:
                var v: UInt64 = 0
                for i in 0..<size { v |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << UInt64(8 * i) }
                return v
            }
        }
        if let a = t.apicAccess { return try apicAccessPageRead(t, size, a) }
        return try deviceRead(t, size)
    }

    
    func physicalWrite(_ t: Translation, _ la: UInt64, _ size: Int, _ value: UInt64) throws(Fault) {
        let pa = t.physical
        if t.ram {
            let page = Int(pa >> 12)
            let p = memory.base + Int(pa)
            if memory.isCodePage(page) && !Self.storeLeavesBytesUnchanged(p, size, value) {
                memory.invalidateCode(page: page)
                pending |= PendingBit.codeModified
            }
            switch size {
            case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value), as: UInt16.self)
            case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: value), as: UInt32.self)
            case 8: p.storeBytes(of: value, as: UInt64.self)
            default:
                for i in 0..<size { p.storeBytes(of: UInt8(truncatingIfNeeded: value >> UInt64(8 * i)), toByteOffset: i, as: UInt8.self) }
            }
            return
        }
        if t.apicAccess != nil { return try apicAccessPageWrite(t, size, value) }
        try deviceWrite(t, size, value)
    }

    /// Whether storing the low `size` bytes of `value` at `p` would leave memory as it is.
    /// Such a store to a page holding decoded code keeps its blocks: self-modifying-code
    /// handling (SDM Vol. 3A §11.6) is about instruction bytes that change, and a guest that
    /// rewrites the same bytes (kvm-unit-tests' access test stores RET into its target page
    /// before every case) would otherwise re-decode the page each time.
    static func storeLeavesBytesUnchanged(_ p: UnsafeMutableRawPointer, _ size: Int, _ value: UInt64) -> Bool {
        for i in 0..<size where p.load(fromByteOffset: i, as: UInt8.self) != UInt8(truncatingIfNeeded: value >> UInt64(8 * (i & 7))) {
            return false
        }
        return true
    }

    /// A device (MMIO) read of a physical address that is not RAM. Sizes that are not a
    /// power of two (the pieces of a page-crossing access) are split into bytes.
    
    func deviceRead(_ t: Translation, _ size: Int) throws(Fault) -> UInt64 {
        let b = l0Emulation?.bus ?? bus
        if size == 1 || size == 2 || size == 4 || size == 8 {
            return b.mmioRead(address: t.physical, size: size) ?? (size == 8 ? ~0 : (UInt64(1) << UInt64(8 * size)) - 1)
        }
        var v: UInt64 = 0
        for i in 0..<size {
            let byte = b.mmioRead(address: t.physical + UInt64(i), size: 1) ?? 0xFF
            v |= (byte & 0xFF) << UInt64(8 * i)
        }
        return v
    }

    
    func deviceWrite(_ t: Translation, _ size: Int, _ value: UInt64) throws(Fault) {
        let b = l0Emulation?.bus ?? bus
        if size == 1 || size == 2 || size == 4 || size == 8 {
            b.mmioWrite(address: t.physical, size: size, value: value)
            return
        }
        for i in 0..<size {
            b.mmioWrite(address: t.physical + UInt64(i), size: 1, value: (value >> UInt64(8 * i)) & 0xFF)
        }
    }

    /// Translates `la` for `access`, filling the TLB when the page is RAM.
    
    func translate(_ la: UInt64, _ access: AccessType) throws(Fault) -> Translation {
        selectRootContextIfDeferred()        // root-mode code after a VM exit
        // The slow paths (page-crossing accesses, descriptor tables, IDT, stacks during event
        // delivery) hit the TLB too: a cached translation with the permission this access
        // needs is what a walk would return (entries are filled only from completed walks).
        // A store to a page holding code finds its write permission in `codePageWrites`.
        let e = tlb.slot(la)
        let cachedPerms = e.pointee.perms | UInt32(e.pointee.codePageWrites)
        if e.pointee.tag == tlb.tag(la) && cachedPerms & tlbPermission(for: access) != 0 {
            return Translation(physical: e.pointee.physical | (la & 0xFFF), perms: cachedPerms,
                               global: e.pointee.global, ram: true, guestPhysical: 0)
        }
        // L0 emulating the access an EPT violation reported: the exit's translation of this
        // page (same kind of access) stands for the walk the guest's access already made.
        if let h = l0Emulation?.translationHint, la & ~0xFFF == h.linearPage, access.isWrite == h.write, !access.isFetch {
            return try finishTranslation(gpa: h.guestPhysicalPage | (la & 0xFFF), la: la, access: access,
                                         perms: TLBPerm.all, global: false)
        }
        let t = try walk(la, access)
        if t.ram {
            let e = tlb.slot(la)
            let host = UInt(bitPattern: memory.base) &+ UInt(t.physical & ~0xFFF)
            e.pointee = TLBEntry(tag: tlb.tag(la), hostDelta: host &- UInt(truncatingIfNeeded: la & ~0xFFF),
                                 physical: t.physical & ~0xFFF, perms: t.perms, global: t.global)
            assert(TLBPerm.writesImplyReads(t.perms))
            if memory.isCodePage(Int(t.physical >> 12)) {
                e.pointee.withholdWrites()
            } else if t.perms & TLBPerm.allWrite != 0 {
                tlb.noteWritableFill(physicalPage: t.physical & ~0xFFF)
            }
        }
        return t
    }

    // MARK: Implicit supervisor accesses (descriptor tables, TSS, IDT)

    
    func readSystem<T: FixedWidthInteger>(_ la: UInt64, _: T.Type) throws(Fault) -> T {
        let access = AccessType.read.implicitSupervisor
        if let p = cachedHost(la, MemoryLayout<T>.size, access) { return p.loadUnaligned(as: T.self) }
        return T(truncatingIfNeeded: try readLinearSlow(la, MemoryLayout<T>.size, access))
    }

    
    func writeSystem<T: FixedWidthInteger>(_ la: UInt64, _ value: T) throws(Fault) {
        let access = AccessType.write.implicitSupervisor
        if let p = cachedHost(la, MemoryLayout<T>.size, access) { p.storeBytes(of: value, as: T.self); return }
        try writeLinearSlow(la, MemoryLayout<T>.size, UInt64(truncatingIfNeeded: value), access)
    }

    /// The TLB fast path: the host address of a `size`-byte access at `la` within one page if
    /// the current TLB set holds its translation with `permission` (a `TLBPerm` bit), else
    /// nil. A hit is what the slow path would find: entries are filled from completed walks,
    /// never for device memory or the APIC-access page, without write permission on pages
    /// holding decoded code, and the TLB is emptied while watchpoints are armed.
    @inline(__always)
    func cachedHost(_ la: UInt64, _ size: Int, permission: UInt32) -> UnsafeMutableRawPointer? {
        let e = tlb.slot(la)
        guard e.pointee.tag == tlb.tag(la) && e.pointee.perms & permission != 0
                && la & 0xFFF <= UInt64(0x1000 - size) else { return nil }
        return UnsafeMutableRawPointer(bitPattern: e.pointee.hostDelta &+ UInt(truncatingIfNeeded: la))
    }

    /// The fast path for accesses that name their access type (descriptor tables, the IDT,
    /// stacks during event delivery).
    @inline(__always)
    func cachedHost(_ la: UInt64, _ size: Int, _ access: AccessType) -> UnsafeMutableRawPointer? {
        cachedHost(la, size, permission: tlbPermission(for: access))
    }

    /// A supervisor-mode explicit access made on behalf of the processor at CPL 0 regardless
    /// of the current CPL (stack pushes during event delivery to a more privileged level).
    
    func readLinearAs<T: FixedWidthInteger>(_ la: UInt64, _: T.Type, user: Bool) throws(Fault) -> T {
        let access = AccessType.read.user(user)
        if let p = cachedHost(la, MemoryLayout<T>.size, access) { return p.loadUnaligned(as: T.self) }
        return T(truncatingIfNeeded: try readLinearSlow(la, MemoryLayout<T>.size, access))
    }

    
    func writeLinearAs<T: FixedWidthInteger>(_ la: UInt64, _ value: T, user: Bool) throws(Fault) {
        let access = AccessType.write.user(user)
        if let p = cachedHost(la, MemoryLayout<T>.size, access) { p.storeBytes(of: value, as: T.self); return }
        try writeLinearSlow(la, MemoryLayout<T>.size, UInt64(truncatingIfNeeded: value), access)
    }

    // MARK: Alignment check

    /// SDM Vol. 3A §6.15 "Interrupt 17—Alignment Check Exception (#AC)": with CR0.AM = 1,
    /// EFLAGS.AC = 1 and CPL 3, a data access to an operand not aligned to its size is #AC(0)
    /// (after its page faults, Table 6-2). Implicit supervisor accesses are not checked.
    @inline(__always)
    func checkAlignment(_ la: UInt64, _ size: Int, _ access: AccessType) throws(Fault) {
        guard alignmentChecking, !access.isFetch, !access.isImplicit, size > 1 else { return }
        if la & UInt64(size - 1) != 0 { throw Fault.ac() }
    }

    // MARK: Access masks

    /// The TLB permission bit an access of kind `access` needs (SDM Vol. 3A §4.6): user
    /// accesses the user bits; supervisor ones the SMAP-checked bits when CR4.SMAP applies:
    /// with EFLAGS.AC = 0, and for implicit accesses made at CPL 3 whatever AC (§4.6.1).
    @inline(__always)
    func tlbPermission(for access: AccessType) -> UInt32 {
        if access.isFetch { return access.isUser ? TLBPerm.execUser : TLBPerm.execSupervisor }
        if alignmentChecking && !access.isImplicit { return 0 }       // the slow path checks alignment
        let write = access.isWrite
        if access.isUser { return write ? TLBPerm.writeUser : TLBPerm.readUser }
        let smap = cr4 & CR4.smap != 0 && (flagsOther & RFLAGS.ac == 0 || (access.isImplicit && cpl == 3))
        if write { return smap ? TLBPerm.writeSupervisorSMAP : TLBPerm.writeSupervisor }
        return smap ? TLBPerm.readSupervisorSMAP : TLBPerm.readSupervisor
    }

    /// Chooses the TLB permission bits the current CPL, EFLAGS.AC and CR4.SMAP require. With
    /// alignment checking on, no data access takes the fast path (mask 0): the slow path
    /// checks alignment.
    func updateAccessMasks() {
        alignmentChecking = cpl == 3 && cr0 & CR0.am != 0 && flagsOther & RFLAGS.ac != 0
        if alignmentChecking {
            accessMasks.read = 0
            accessMasks.write = 0
            accessMasks.exec = TLBPerm.execUser
        } else if cpl == 3 {
            accessMasks.read = TLBPerm.readUser
            accessMasks.write = TLBPerm.writeUser
            accessMasks.exec = TLBPerm.execUser
        } else {
            let smapEnforced = cr4 & CR4.smap != 0 && flagsOther & RFLAGS.ac == 0
            accessMasks.read = smapEnforced ? TLBPerm.readSupervisorSMAP : TLBPerm.readSupervisor
            accessMasks.write = smapEnforced ? TLBPerm.writeSupervisorSMAP : TLBPerm.writeSupervisor
            accessMasks.exec = TLBPerm.execSupervisor
        }
    }
}

/// Cached segment limits for the fast path outside 64-bit mode: an access whose last byte
/// offset is below the end is permitted; anything else (0 = always) goes to the exact checks.
struct SegmentCheck {
    var readEnd: UInt64 = 0
    var writeEnd: UInt64 = 0
    init(readEnd: UInt64 = 0, writeEnd: UInt64 = 0) {
        self.readEnd = readEnd
        self.writeEnd = writeEnd
    }
}
