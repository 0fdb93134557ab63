/// The exit qualification of an EPT violation (SDM Vol. 3C §28.2.1, Table 28-7): the access
/// (read 0, write 1, instruction fetch 2), the EPT rights of the translation (readable 3,
/// writable 4, executable 5), guest-linear address valid 7, and with bit 7 set bit 8: 1 for an
/// access to the translated linear address, 0 for a guest paging-structure access; NMI
/// unblocking due to IRET 12.
public struct EPTViolationQualification: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `rights` is the AND of EPT bits 2:0 over the entries walked (0 when one was not present).
    public init(access: EPTAccess, rights: UInt8, linearAddressValid: Bool, translatedAccess: Bool,
                nmiUnblockingDueToIRET: Bool = false) {
        var q: UInt64 = 0
        if access.read { q |= 1 << 0 }
        if access.write { q |= 1 << 1 }
        if access.fetch { q |= 1 << 2 }
        q |= UInt64(rights & 7) << 3
        if linearAddressValid {
            q |= 1 << 7
            if translatedAccess { q |= 1 << 8 }
        }
        if nmiUnblockingDueToIRET { q |= 1 << 12 }
        rawValue = q
    }

    public var isRead: Bool { rawValue & 1 != 0 }
    public var isWrite: Bool { rawValue & 2 != 0 }
    public var isFetch: Bool { rawValue & 4 != 0 }
    /// EPT read/write/execute rights of the guest-physical address (bits 5:3 as bits 2:0).
    public var rights: UInt8 { UInt8((rawValue >> 3) & 7) }
    public var linearAddressValid: Bool { rawValue & (1 << 7) != 0 }
    /// Bit 8 with bit 7: the access was to the translated linear address, not to a guest
    /// paging structure.
    public var isTranslatedAccess: Bool { linearAddressValid && rawValue & (1 << 8) != 0 }
    public var nmiUnblockingDueToIRET: Bool { rawValue & (1 << 12) != 0 }
    /// The access as EPT classified it.
    public var access: EPTAccess {
        EPTAccess(read: isRead, write: isWrite, fetch: isFetch, pagingStructure: linearAddressValid && !isTranslatedAccess)
    }
}
