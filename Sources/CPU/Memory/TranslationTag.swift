/// What a cached translation is associated with (SDM Vol. 3C §29.4.1 "Information That May Be
/// Cached"; Vol. 3A §4.10.1 "Process-Context Identifiers"):
/// - *linear mappings*, created while EPT is not in use, are associated with a VPID and a PCID;
/// - *combined mappings*, created while EPT is in use, with a VPID, a PCID and an EP4TA (bits
///   51:12 of the EPTP).
///
/// The software TLB holds linear → host-physical translations, so every entry is one of these
/// two kinds. *Guest-physical mappings* (EP4TA only) are not cached: each TLB miss walks EPT
/// afresh, which the architecture permits (nothing is ever required to be cached).
struct TranslationTag: Equatable {
    /// Virtual-processor identifier (§29.1): 0000H outside VMX non-root operation and in
    /// non-root operation with "enable VPID" = 0.
    var vpid: UInt16
    /// Process-context identifier: CR3[11:0] when CR4.PCIDE = 1, otherwise 000H (Vol. 3A §4.10.1).
    var pcid: UInt16
    /// EP4TA as an address (EPTP & 000F_FFFF_FFFF_F000H), or `TranslationTag.linear` for a
    /// linear mapping (EPT not in use).
    var ep4ta: UInt64

    /// The `ep4ta` value of linear mappings.
    static let linear: UInt64 = ~0

    /// Bits 51:12 of an EPTP: the EP4TA that tags combined mappings (§29.4.1).
    static func ep4ta(ofEPTP eptp: UInt64) -> UInt64 { eptp & 0x000F_FFFF_FFFF_F000 }

    /// A combined mapping (created with EPT in use).
    var isCombined: Bool { ep4ta != Self.linear }
}
