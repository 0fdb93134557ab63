/// "Virtualize APIC accesses" (secondary processor-based control bit 0) and the APIC-access
/// page (VMCS field 2014H): SDM Vol. 3C §30.4 "Virtualizing Memory-Mapped APIC Accesses",
/// the APIC-access VM exit (reason 44) and its exit qualification (§28.2.1, Table 28-6), and
/// the VM-entry checks of §27.2.1.1.
///
/// The subset implemented is the one this processor advertises: "APIC-register virtualization"
/// and "virtual-interrupt delivery" are 0, so with "use TPR shadow" = 1 only the task-priority
/// register (page offsets 080H–083H) is virtualized — reads from and writes to VTPR on the
/// virtual-APIC page, a write followed by TPR virtualization (§30.1.2) — and every other access
/// causes an APIC-access VM exit.
///
/// The hot path pays nothing: `finishTranslation` marks a translation whose (host-)physical
/// page is the APIC-access page as not RAM, so it is never cached in the software TLB and
/// every access to it takes the slow path into `apicAccessPageRead` / `apicAccessPageWrite`.
/// The APIC-access page is part of the TLB sets' basis (`pagingControlBasis`), so entries
/// cached for that page under other controls are never used while it is the APIC-access page.

/// A write to the APIC-access page the processor virtualized in the current operation
/// (§30.4.3.1): APIC-write emulation (§30.4.3.2) is owed when the operation completes.
struct VirtualizedAPICWrite {
    var offset: UInt64
    var size: Int
}

extension Processor {
    /// VTPR occupies page offsets 080H–083H (§30.1.1).
    static let vtprRange: ClosedRange<UInt64> = 0x80...0x83

    /// At VM entry (§25.6.8): the APIC-access page when "virtualize APIC accesses" = 1;
    /// otherwise an address no page-aligned translation equals.
    func unpackAPICAccessControls(_ v: VMCS, into c: inout NonRootControls) {
        c.apicAccessPage = v.secondary.contains(.virtualizeAPICAccesses) ? v[.apicAccessAddress] & ~0xFFF : ~0
    }

    /// The APIC-access page's contribution to the TLB set basis: the page and a valid bit in
    /// non-root operation with "virtualize APIC accesses" = 1, else 0.
    /// The page sits in bits 51:12 and bit 63 is set; the paging controls use bits 11:0.
    var apicAccessBasis: UInt64 {
        nonRoot && controls.apicAccessPage != ~0 ? controls.apicAccessPage | (1 << 63) : 0
    }

    /// Whether host-physical address `hpa` lies on the APIC-access page (§30.4): only in VMX
    /// non-root operation with "virtualize APIC accesses" = 1.
    @inline(__always)
    func isOnAPICAccessPage(_ hpa: UInt64) -> Bool {
        hpa & ~0xFFF == controls.apicAccessPage && nonRoot
    }

    // MARK: Deciding (§30.4.2, §30.4.3.1)

    /// §30.4.2, §30.4.3.1: the conditions common to reads and writes under which the access
    /// may be virtualized: "use TPR shadow" = 1, at most 32 bits, entirely contained within the
    /// low 4 bytes of a naturally aligned 16-byte region (bits 3:2 of its first and last byte
    /// offsets are 0).
    func apicAccessMayBeVirtualized(offset: UInt64, size: Int) -> Bool {
        let last = offset &+ UInt64(size &- 1)
        return controls.primary.contains(.useTPRShadow) && size <= 4
            && offset & 0xC == 0 && last & 0xC == 0 && last >> 4 == offset >> 4
    }

    /// §30.4.2: a read is virtualized when it may be (above), is not an instruction fetch, is
    /// not part of an operation that already virtualized a write, and — "APIC-register
    /// virtualization" being 0 — its page offset is within 080H–083H (VTPR).
    func apicReadIsVirtualized(offset: UInt64, size: Int, _ access: AccessType) -> Bool {
        !access.isFetch && vmxEvents.virtualizedAPICWrite == nil && apicAccessMayBeVirtualized(offset: offset, size: size)
            && Self.vtprRange.contains(offset)
    }

    /// §30.4.3.1: a write is virtualized when it may be (above), the operation has not already
    /// virtualized a write to a different offset or of a different size, and — "APIC-register
    /// virtualization" and "virtual-interrupt delivery" being 0 — its page offset is within
    /// 080H–083H (VTPR).
    func apicWriteIsVirtualized(offset: UInt64, size: Int) -> Bool {
        if let w = vmxEvents.virtualizedAPICWrite, w.offset != offset || w.size != size { return false }
        return apicAccessMayBeVirtualized(offset: offset, size: size) && Self.vtprRange.contains(offset)
    }

    // MARK: Accesses (from the memory slow path)

    /// A read of `size` bytes at `t` (on the APIC-access page): virtualized reads return the
    /// bytes at the same page offset of the virtual-APIC page (§30.4.2); every other read —
    /// instruction fetches included (§30.4.1) — is an APIC-access VM exit.
    func apicAccessPageRead(_ t: Translation, _ size: Int, _ access: AccessType) throws(Fault) -> UInt64 {
        let offset = t.physical & 0xFFF
        guard apicReadIsVirtualized(offset: offset, size: size, access) else {
            throw apicAccessExit(offset: offset, type: access.isFetch ? .linearInstructionFetch
                                 : access.isWrite ? .linearWrite : .linearRead)
        }
        var v: UInt64 = 0
        for i in 0..<size {
            let byte = (try? memory.load(UInt8.self, at: controls.virtualAPICAddress &+ offset &+ UInt64(i))) ?? 0
            v |= UInt64(byte) << UInt64(8 * i)
        }
        return v
    }

    /// A write of `size` bytes at `t` (on the APIC-access page): a virtualized write stores its
    /// data at the same page offset of the virtual-APIC page and leaves APIC-write emulation to
    /// the end of the operation (§30.4.3.1, §30.4.3.2); any other write is an APIC-access VM
    /// exit. The access type is that of the page-fault W/R bit (§28.2.1).
    func apicAccessPageWrite(_ t: Translation, _ size: Int, _ value: UInt64) throws(Fault) {
        let offset = t.physical & 0xFFF
        guard apicWriteIsVirtualized(offset: offset, size: size) else {
            throw apicAccessExit(offset: offset, type: .linearWrite)
        }
        for i in 0..<size {
            try? memory.store(UInt8(truncatingIfNeeded: value >> UInt64(8 * i)),
                              at: controls.virtualAPICAddress &+ offset &+ UInt64(i))
        }
        vmxEvents.virtualizedAPICWrite = VirtualizedAPICWrite(offset: offset, size: size)
        pending |= PendingBit.eventWindow
    }

    /// A probe (an instruction checking an access before committing any state): an access to
    /// the APIC-access page that would not be virtualized is an APIC-access VM exit now, so the
    /// exit stays fault-like (§30.4.1: the exit replaces the access, nothing retires).
    func probeAPICAccessPage(_ t: Translation, _ size: Int, _ access: AccessType) throws(Fault) {
        let offset = t.physical & 0xFFF
        let virtualized = access.isWrite ? apicWriteIsVirtualized(offset: offset, size: size)
                                         : apicReadIsVirtualized(offset: offset, size: size, access)
        if !virtualized {
            throw apicAccessExit(offset: offset, type: access.isFetch ? .linearInstructionFetch
                                 : access.isWrite ? .linearWrite : .linearRead)
        }
    }

    /// A guest-physical access (§30.4.6.2): with EPT, a guest paging-structure access whose
    /// EPT translation is on the APIC-access page is an APIC-access VM exit (type 15; the
    /// guest-physical address field holds the address).
    func apicAccessByGuestPhysicalAccess(_ gpa: UInt64) -> Fault {
        let f = apicAccessExit(offset: 0, type: .guestPhysical)
        pendingExit.guestPhysicalAddress = gpa
        return f
    }

    /// Records an APIC-access VM exit (reason 44) with its exit qualification (§28.2.1,
    /// Table 28-6). The instruction length (undefined for these exits, §28.2.5) is recorded for
    /// data accesses during instruction execution, so L0 can complete an emulated access.
    func apicAccessExit(offset: UInt64, type: APICAccessType) -> Fault {
        vmxEvents.virtualizedAPICWrite = nil
        pendingExit.reason = .apicAccess
        pendingExit.qualification = APICAccessQualification(offset: offset, type: type).rawValue
        pendingExit.guestLinearAddress = 0
        pendingExit.guestPhysicalAddress = 0
        if type == .linearRead || type == .linearWrite {
            pendingExit.instructionLength = UInt32(truncatingIfNeeded: (nextRIP &- rip) & ripMask)
        }
        return .vmExit
    }

    /// §28.2.1: an APIC-access VM exit met while delivering an event through the IDT reports
    /// access type 3 (linear) or 10 (guest-physical); the IDT-vectoring information is
    /// recorded by the caller (§28.2.3).
    func markAPICAccessDuringEventDelivery() {
        guard pendingExit.reason == .apicAccess else { return }
        let q = APICAccessQualification(rawValue: pendingExit.qualification)
        let during: APICAccessType = q.accessType == .guestPhysical ? .guestPhysicalDuringEventDelivery : .linearDuringEventDelivery
        pendingExit.qualification = APICAccessQualification(offset: q.offset, type: during).rawValue
        pendingExit.instructionLength = 0
    }

    // MARK: APIC-write emulation (§30.4.3.2), at the end of the operation

    /// §30.4.3.2: after an operation that virtualized a write to page offset 080H–083H, the
    /// processor clears bytes 081H–083H of VTPR and performs TPR virtualization (§30.1.2, with
    /// "virtual-interrupt delivery" = 0): VTPR[7:4] below TPR threshold[3:0] is a trap-like VM
    /// exit "TPR below threshold" (reason 43; the instruction has retired, RIP is the next one).
    /// Runs from `handlePending` at the boundary after the instruction, before any other event.
    func apicWriteEmulation() -> StopReason? {
        guard vmxEvents.virtualizedAPICWrite != nil else { return nil }
        vmxEvents.virtualizedAPICWrite = nil
        let vtpr = readVTPR() & 0xFF
        try? memory.store(vtpr, at: controls.virtualAPICAddress &+ Self.vtprOffset)
        if (vtpr >> 4) & 0xF < controls.tprThreshold & 0xF {
            return exitForEvent(.tprBelowThreshold)
        }
        return nil
    }
}

extension VMEntryChecks {
    /// §27.2.1.1: with "virtualize APIC accesses" = 1, the APIC-access address is 4-KByte
    /// aligned and within MAXPHYADDR; "virtualize x2APIC mode" and "virtualize APIC accesses"
    /// are not both 1.
    static func apicAccessControlsValid(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        let s = v.secondary
        guard s.contains(.virtualizeAPICAccesses) else { return true }
        if s.contains(.virtualizeX2APICMode) { return false }
        return alignedWithinWidth(v[.apicAccessAddress], c.physicalAddressBits)
    }
}
