/// The kind of a memory access, as paging (SDM Vol. 3A §4.6) and EPT (Vol. 3C §29.3.3)
/// classify it.
public struct AccessType: Equatable, Sendable {
    public let raw: UInt8
    init(raw: UInt8) { self.raw = raw }

    static let writeBit: UInt8 = 1 << 0
    static let fetchBit: UInt8 = 1 << 1
    /// An explicit access made with CPL = 3 (user-mode access).
    static let userBit: UInt8 = 1 << 2
    /// An implicit supervisor-mode access (descriptor tables, TSS, IDT, shadow stacks),
    /// made whatever the CPL (SDM Vol. 3A §4.6).
    static let implicitBit: UInt8 = 1 << 3

    public static let read = AccessType(raw: 0)
    public static let write = AccessType(raw: writeBit)
    public static let execute = AccessType(raw: fetchBit)

    public var isWrite: Bool { raw & AccessType.writeBit != 0 }
    public var isFetch: Bool { raw & AccessType.fetchBit != 0 }
    public var isUser: Bool { raw & AccessType.userBit != 0 }
    public var isImplicit: Bool { raw & AccessType.implicitBit != 0 }

    public func user(_ u: Bool) -> AccessType {
        AccessType(raw: u ? raw | AccessType.userBit : raw & ~AccessType.userBit)
    }
    public var implicitSupervisor: AccessType {
        AccessType(raw: (raw & ~AccessType.userBit) | AccessType.implicitBit)
    }
}

/// Where a linear or guest-physical address ended up.
struct Translation {
    /// Host-physical address (offset in `PhysicalMemory`) of the byte translated.
    var physical: UInt64
    /// Permissions for a TLB entry covering the page (`TLBPerm` bits).
    var perms: UInt32
    var global: Bool
    /// The 4 KiB page is RAM (cacheable in the TLB); otherwise a device decodes it.
    var ram: Bool
    /// Guest-physical address (before EPT) of the byte translated.
    var guestPhysical: UInt64
    /// The page is the APIC-access page ("virtualize APIC accesses", Vol. 3C §30.4): the
    /// access kind it was translated for; `ram` is false so it is never cached.
    var apicAccess: AccessType? = nil
}
