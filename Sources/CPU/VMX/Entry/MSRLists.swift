/// The VM-entry MSR-load list, the VM-exit MSR-store list and the VM-exit MSR-load list
/// (SDM Vol. 3C §25.7.2, §25.8.2 "VM-exit/VM-entry controls for MSRs", Table 25-15 "Format of
/// an MSR entry"; processing in §27.4, §28.4, §28.6). Entries are read from and written to
/// physical memory (`memory`) and applied through the processor's RDMSR/WRMSR path
/// (`readMSR`/`writeMSR`), so the same validation applies as to the instructions at CPL 0.

/// One 16-byte entry of an MSR list: bits 31:0 MSR index, 63:32 reserved, 127:64 MSR data.
public struct MSRListEntry: Equatable, Sendable {
    public var index: UInt32
    public var reserved: UInt32
    public var value: UInt64
    public init(index: UInt32, reserved: UInt32 = 0, value: UInt64) {
        self.index = index
        self.reserved = reserved
        self.value = value
    }
    public static let size: UInt64 = 16
}

/// The 1-based position of the entry whose processing failed (the exit qualification of a
/// VM-entry failure due to MSR loading, §27.8).
public struct MSRListFailure: Error, Equatable, Sendable {
    public var entryNumber: UInt32
    public init(entryNumber: UInt32) { self.entryNumber = entryNumber }
}

extension VMEntryChecks {
    /// §27.2.1.2 / §27.2.1.3: a non-zero MSR-list count needs a 16-byte-aligned address, and
    /// neither the address nor the address of the list's last byte may set bits beyond the
    /// physical-address width.
    static func msrListAddressValid(_ address: UInt64, count: UInt64, _ c: VMXCapabilities) -> Bool {
        guard count != 0 else { return true }
        let bits = UInt64(c.physicalAddressBits)
        let (last, overflow) = address.addingReportingOverflow(count &* MSRListEntry.size &- 1)
        return address & 0xF == 0 && address >> bits == 0 && !overflow && last >> bits == 0
    }

    /// The list at (`address`, `count`) of `v` (the count read first: most lists are empty).
    static func msrListValid(_ v: VMCS, _ address: VMCSField, _ count: VMCSField, _ c: VMXCapabilities) -> Bool {
        let n = v[count]
        return n == 0 || msrListAddressValid(v[address], count: n, c)
    }
}

extension Processor {

    /// The number of entries a list may hold: (IA32_VMX_MISC[27:25] + 1) × 512 (Appendix A.6).
    /// Beyond it the SDM promises nothing ("unpredictable processor behavior"); this processor
    /// fails the entry past the limit instead of walking an unbounded list.
    static var maximumMSRListEntries: UInt64 { VMXCapabilities().maximumMSRListEntries }

    /// Reads entry `k` (0-based) of the list at physical `base`; nil when the bytes are not RAM.
    func msrListEntry(base: UInt64, _ k: UInt64) -> MSRListEntry? {
        let a = base &+ k &* MSRListEntry.size
        guard let low = try? memory.load(UInt64.self, at: a), let value = try? memory.load(UInt64.self, at: a &+ 8)
        else { return nil }
        return MSRListEntry(index: UInt32(truncatingIfNeeded: low), reserved: UInt32(truncatingIfNeeded: low >> 32), value: value)
    }

    /// MSRs no list may load: IA32_FS_BASE and IA32_GS_BASE, the x2APIC range (bits 31:8 =
    /// 000008H) and IA32_SMM_MONITOR_CTL outside SMM (§27.4, §28.6).
    static func msrLoadDisallowed(_ index: UInt32) -> Bool {
        index == MSRIndex.fsBase || index == MSRIndex.gsBase || index >> 8 == 0x8 || index == MSRIndex.smmMonitorControl
    }

    /// SDM Vol. 3C §27.4 — loading MSRs: each VM-entry MSR-load entry in order, as WRMSR at
    /// CPL 0 would write it. Returns the failing entry's 1-based number, or nil.
    func loadEntryMSRList(_ v: VMCS) -> MSRListFailure? {
        let count = v[index: vmcsLayout.entryMSRLoadCount]
        return count == 0 ? nil : loadMSRList(base: v[.entryMSRLoadAddress], count: count)
    }

    /// SDM Vol. 3C §28.6 — loading MSRs on VM exit from the VM-exit MSR-load area (same rules as
    /// §27.4). Returns the failing entry's 1-based number, or nil.
    func loadExitMSRList(_ v: VMCS) -> MSRListFailure? {
        let count = v[index: vmcsLayout.exitMSRLoadCount]
        return count == 0 ? nil : loadMSRList(base: v[.exitMSRLoadAddress], count: count)
    }

    /// The common walk of §27.4 and §28.6: an entry fails when its index is disallowed, its
    /// bits 63:32 are not 0, or WRMSR of its value would raise #GP(0). Entries before the
    /// failing one stay loaded.
    func loadMSRList(base: UInt64, count: UInt64) -> MSRListFailure? {
        let efer = self.efer
        defer {
            // A load that changes paging behaviour must not leave stale translations (§27.4).
            if self.efer != efer { flushTLB() }
        }
        for k in 0..<count {
            let number = MSRListFailure(entryNumber: UInt32(truncatingIfNeeded: k + 1))
            guard k < Self.maximumMSRListEntries, let e = msrListEntry(base: base, k) else { return number }
            if e.reserved != 0 || Self.msrLoadDisallowed(e.index) { return number }
            if !writeMSR(e.index, e.value) { return number }
        }
        return nil
    }

    /// SDM Vol. 3C §28.4 — saving MSRs: each VM-exit MSR-store entry receives in bits 127:64 the
    /// value RDMSR would read. An entry fails when its index is in the x2APIC range, names
    /// IA32_SMBASE (readable only in SMM), has bits 63:32 set, or RDMSR would raise #GP(0).
    /// Returns the failing entry's 1-based number, or nil. (Stores to addresses that are not RAM
    /// are dropped, as the bus drops them.)
    func storeExitMSRList(_ v: VMCS) -> MSRListFailure? {
        let count = v[index: vmcsLayout.exitMSRStoreCount]
        guard count != 0 else { return nil }
        let base = v[.exitMSRStoreAddress]
        for k in 0..<count {
            let number = MSRListFailure(entryNumber: UInt32(truncatingIfNeeded: k + 1))
            guard k < Self.maximumMSRListEntries, let e = msrListEntry(base: base, k) else { return number }
            if e.reserved != 0 || e.index >> 8 == 0x8 || e.index == MSRIndex.smbase { return number }
            guard let value = readMSR(e.index) else { return number }
            try? memory.store(value, at: base &+ k &* MSRListEntry.size &+ 8)
        }
        return nil
    }
}
