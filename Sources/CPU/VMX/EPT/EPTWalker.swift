/// Walks EPT paging structures (SDM Vol. 3C §29.3.2 "EPT Translation Mechanism").
///
/// A pure function of the structures in `memory` and the features implemented, so the
/// processor uses it for the current EPTP and the nested-VMX code can use it to walk a guest
/// hypervisor's EPT12.
public struct EPTWalker {
    public let memory: PhysicalMemory
    public let features: EPTFeatures
    public let physicalAddressBits: Int
    /// When set, paging structures must lie in RAM below this address: an entry anywhere else
    /// reads as all ones (a misconfiguration), as a read of a device window or of nothing does.
    /// Nested VMX walks a guest hypervisor's EPT12 this way, so it never reads L0's memory.
    public let ramLimit: UInt64?

    public init(memory: PhysicalMemory, features: EPTFeatures = EPTFeatures(), physicalAddressBits: Int = 40,
                ramLimit: UInt64? = nil) {
        self.memory = memory
        self.features = features
        self.physicalAddressBits = physicalAddressBits
        self.ramLimit = ramLimit
    }

    /// Bits above MAXPHYADDR in an entry's address field (bits 51:N) are reserved.
    private var reservedAddressBits: UInt64 {
        let n = UInt64(physicalAddressBits)
        return n >= 52 ? 0 : ((UInt64(1) << 52) &- 1) & ~((UInt64(1) << n) &- 1)
    }

    /// Translates guest-physical `gpa` for `access` (SDM Vol. 3C §29.3.2, §29.3.3).
    /// Sets accessed flags on every entry walked and the dirty flag on the leaf for writes
    /// when EPT A/D is enabled (§29.3.5) — only if the access is allowed.
    public func translate(_ gpa: UInt64, _ access: EPTAccess, eptp: EPTPointer) -> EPTWalkResult {
        let levels = eptp.levels
        var table = eptp.rootAddress(physicalAddressBits: physicalAddressBits)
        var rights: UInt8 = 7
        // Entries walked, for setting accessed flags once the access is known to be allowed.
        var walked: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        var walkedCount = 0
        var level = levels
        while level >= 1 {
            let index = (gpa >> UInt64(12 + 9 * (level - 1))) & 0x1FF
            let entryAddress = table &+ index &* 8
            if let limit = ramLimit, entryAddress >= limit || !memory.isRAM(entryAddress) {
                return .misconfiguration(entryAddress: entryAddress)
            }
            guard let entry = try? memory.load(UInt64.self, at: entryAddress) else {
                // A structure outside RAM reads as all ones through the open bus: reserved bits set.
                return .misconfiguration(entryAddress: entryAddress)
            }
            let perm = UInt8(entry & 7)
            if perm == 0 { return .violation(rights: 0) }
            let isLarge = level <= 3 && level >= 2 && entry & (1 << 7) != 0
            let leaf = level == 1 || isLarge
            if misconfigured(entry, level: level, leaf: leaf) != nil {
                return .misconfiguration(entryAddress: entryAddress)
            }
            rights &= perm
            switch walkedCount {
            case 0: walked.0 = entryAddress
            case 1: walked.1 = entryAddress
            case 2: walked.2 = entryAddress
            case 3: walked.3 = entryAddress
            default: walked.4 = entryAddress
            }
            walkedCount += 1
            if leaf {
                let pageShift = UInt64(12 + 9 * (level - 1))
                let pageMask = (UInt64(1) << pageShift) &- 1
                let frame = entry & ((UInt64(1) << UInt64(physicalAddressBits)) &- 1) & ~pageMask
                let allowed = (!access.read || rights & 1 != 0)
                    && (!access.write || rights & 2 != 0)
                    && (!access.fetch || rights & 4 != 0)
                guard allowed else { return .violation(rights: rights) }
                if eptp.accessedDirtyEnabled && features.accessedDirty {
                    let all = [walked.0, walked.1, walked.2, walked.3, walked.4]
                    for k in 0..<walkedCount { setBits(at: all[k], 1 << 8) }
                    if access.write || access.pagingStructure { setBits(at: entryAddress, 1 << 9) }
                }
                return .translated(hostPhysical: frame | (gpa & pageMask), rights: rights, pageSize: pageMask &+ 1)
            }
            table = entry & ((UInt64(1) << UInt64(physicalAddressBits)) &- 1) & ~0xFFF
            level -= 1
        }
        return .violation(rights: 0)
    }

    /// The misconfiguration conditions of SDM Vol. 3C §29.3.3.1 for a present entry, or nil.
    func misconfigured(_ e: UInt64, level: Int, leaf: Bool) -> String? {
        // Write permission without read permission.
        if e & 1 == 0 && e & 2 != 0 { return "write without read" }
        // Execute-only requires IA32_VMX_EPT_VPID_CAP bit 0.
        if e & 1 == 0 && e & 4 != 0 && !features.executeOnly { return "execute-only not supported" }
        if e & reservedAddressBits != 0 { return "address bits above MAXPHYADDR" }
        if leaf {
            // Memory type 2, 3 and 7 are reserved (§29.3.7).
            let type = (e >> 3) & 7
            if type == 2 || type == 3 || type == 7 { return "reserved memory type" }
            if level == 3 && !features.pages1G { return "1-GByte pages not supported" }
            if level == 2 && !features.pages2M { return "2-MByte pages not supported" }
            // Large-page frames: bits 29:12 (1 GiB) or 20:12 (2 MiB) are reserved.
            if level == 3 && e & 0x3FFF_F000 != 0 { return "reserved bits in 1-GByte page frame" }
            if level == 2 && e & 0x1F_F000 != 0 { return "reserved bits in 2-MByte page frame" }
        } else {
            // Non-leaf: bits 7:3 reserved (bit 7 is PS, reserved in PML4E/PML5E; for PDPTE/PDE
            // it selects a page and was handled above).
            if e & 0xF8 != 0 { return "reserved bits 7:3 in a non-leaf entry" }
        }
        return nil
    }

    private func setBits(at address: UInt64, _ bits: UInt64) {
        guard let p = memory.pointer(to: address) else { return }
        let v = p.loadUnaligned(as: UInt64.self)
        if v & bits != bits { p.storeBytes(of: v | bits, as: UInt64.self) }
    }
}
