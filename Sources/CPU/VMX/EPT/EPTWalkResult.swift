/// An access as EPT classifies it (SDM Vol. 3C §29.3.3.2).
public struct EPTAccess: Equatable, Sendable {
    public var read: Bool
    public var write: Bool
    public var fetch: Bool
    /// A guest paging-structure access (with EPT A/D on, it sets the dirty flag like a write).
    public var pagingStructure: Bool

    public init(read: Bool = false, write: Bool = false, fetch: Bool = false, pagingStructure: Bool = false) {
        self.read = read
        self.write = write
        self.fetch = fetch
        self.pagingStructure = pagingStructure
    }
}

/// What an EPT walk produced.
public enum EPTWalkResult: Equatable, Sendable {
    /// The access is allowed: the host-physical address, the access rights of the whole
    /// translation (bit 0 R, bit 1 W, bit 2 X; AND over all levels) and the page size.
    case translated(hostPhysical: UInt64, rights: UInt8, pageSize: UInt64)
    /// An EPT violation (SDM Vol. 3C §29.3.3.2): `rights` is the AND of bits 2:0 over the
    /// entries walked, 0 when an entry was not present — exit-qualification bits 5:3.
    case violation(rights: UInt8)
    /// An EPT misconfiguration (SDM Vol. 3C §29.3.3.1) found at the entry at this address.
    case misconfiguration(entryAddress: UInt64)
}
