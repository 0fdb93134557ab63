import CPU

/// A guest hypervisor's VMCS (vmcs12): the VMCS region L1 allocated in its memory and the
/// copy L0 works on while it is active (SDM Vol. 3C §25.1 "VMCS States": active, current,
/// launch state). The region's format is ours to choose (§25.2: implementation-specific
/// beyond the first 8 bytes); docs/VMCS12.md documents it:
///
/// | offset | size | content |
/// |---|---|---|
/// | 0 | 4 | revision identifier (bits 30:0) and shadow-VMCS indicator (bit 31), written by L1 |
/// | 4 | 4 | VMX-abort indicator (§28.7) |
/// | 8 | 4 | launch state: 0 clear, 1 launched |
/// | 12 | 4 | reserved (0) |
/// | 16 + 8k | 8 | the value of field k of `VMCSFieldTable.entries` (both halves of a 64-bit field) |
///
/// L0 reads the region on VMPTRLD when the VMCS is not already active and writes it back on
/// VMCLEAR (and when it evicts the copy), as a processor keeps active VMCSs on chip (§25.11.1).
public final class VMCS12 {
    /// The region's guest-physical address (its VMCS pointer).
    public let address: UInt64
    /// The fields, with VMREAD/VMWRITE semantics; `vmcs.launched` is the launch state.
    public let vmcs: VMCS
    /// The VMCS02 L0 runs this vmcs12's guest with, kept while the vmcs12 stays active.
    @usableFromInline var vmcs02: VMCS?
    /// Fields of this vmcs12 and of its VMCS02 that changed since VMCS02 was last built, taken
    /// from both VMCSs' `.vmcs02` dirty sets by a virtual VM exit (to save only those, §28.3)
    /// and handed to the next build (`buildVMCS02`), which would have taken them itself.
    var changedSinceBuild = DirtyFields()
    /// The `VirtualVMX.vmcs01HostStateGeneration` whose host state VMCS02 holds (none yet: ~0).
    var hostStateGeneration: UInt64 = ~0

    static let abortIndicatorOffset: UInt64 = 4
    static let launchStateOffset: UInt64 = 8
    static let fieldsOffset: UInt64 = 16
    /// Bytes of the region the format uses (well inside the 4 KBytes IA32_VMX_BASIC reports).
    static var imageSize: UInt64 { fieldsOffset + 8 * UInt64(VMCSFieldTable.entries.count) }

    init(address: UInt64, vmcs: VMCS) {
        self.address = address
        self.vmcs = vmcs
    }

    /// Reads the region at `address` (a VMPTRLD of a VMCS that is not active). Bytes that are
    /// not L1 RAM read as 0.
    static func load(from l1: L1Memory, at address: UInt64) -> VMCS12 {
        let revision = l1.load(UInt32.self, at: address) ?? ~0
        let v = VMCS(revision: revision)
        v.abortIndicator = l1.load(UInt32.self, at: address + abortIndicatorOffset) ?? 0
        v.launched = (l1.load(UInt32.self, at: address + launchStateOffset) ?? 0) & 1 != 0
        for (k, e) in VMCSFieldTable.entries.enumerated() {
            v[e.field] = l1.load(UInt64.self, at: address + fieldsOffset + 8 * UInt64(k)) ?? 0
        }
        return VMCS12(address: address, vmcs: v)
    }

    /// Writes the copy back into the region (VMCLEAR, eviction). The revision word is L1's
    /// and is not rewritten.
    func store(to l1: L1Memory) {
        l1.store(vmcs.abortIndicator, at: address + Self.abortIndicatorOffset)
        l1.store(UInt32(vmcs.launched ? 1 : 0), at: address + Self.launchStateOffset)
        l1.store(UInt32(0), at: address + 12)
        for (k, e) in VMCSFieldTable.entries.enumerated() {
            l1.store(vmcs[e.field], at: address + Self.fieldsOffset + 8 * UInt64(k))
        }
    }

    /// Bit 31 of the region's first word: a shadow VMCS (§25.10).
    public var isShadow: Bool { vmcs.revision >> 31 != 0 }
}

/// The vmcs12s active on one virtual processor (§25.11.1: a processor may keep several VMCSs
/// active; software makes one current with VMPTRLD). Bounded: past `capacity` the least
/// recently used is written back and dropped, as hardware may evict a VMCS to memory.
final class VMCS12Cache {
    static let capacity = 64
    private(set) var entries: [UInt64: VMCS12] = [:]
    private var lastUse: [UInt64: UInt64] = [:]
    private var clock: UInt64 = 0

    /// The active vmcs12 at `address`, loading the region if it is not active.
    func activate(_ address: UInt64, from l1: L1Memory) -> VMCS12 {
        clock &+= 1
        if let v = entries[address] {
            lastUse[address] = clock
            return v
        }
        if entries.count >= Self.capacity, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
            deactivate(oldest, to: l1)
        }
        let v = VMCS12.load(from: l1, at: address)
        entries[address] = v
        lastUse[address] = clock
        return v
    }

    func active(_ address: UInt64) -> VMCS12? { entries[address] }

    /// Writes the vmcs12 at `address` back and makes it inactive (VMCLEAR).
    func deactivate(_ address: UInt64, to l1: L1Memory) {
        guard let v = entries.removeValue(forKey: address) else { return }
        lastUse[address] = nil
        v.store(to: l1)
    }

    /// Writes every active vmcs12 back (VMXOFF, reset).
    func deactivateAll(to l1: L1Memory) {
        for a in Array(entries.keys) { deactivate(a, to: l1) }
    }
}
