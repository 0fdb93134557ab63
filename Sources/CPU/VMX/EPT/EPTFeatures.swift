/// The EPT features a processor implements (reported in IA32_VMX_EPT_VPID_CAP, SDM Vol. 3D
/// Appendix A.10); the walker enforces exactly these.
public struct EPTFeatures: Sendable, Equatable {
    /// Bit 0: execute-only translations.
    public var executeOnly = true
    /// Bit 6: page-walk length 4; bit 7: page-walk length 5.
    public var fourLevel = true
    public var fiveLevel = false
    /// Bits 8 and 14: UC and WB paging-structure memory types.
    public var uncacheableType = true
    public var writeBackType = true
    /// Bits 16 and 17: 2-MByte and 1-GByte pages.
    public var pages2M = true
    public var pages1G = true
    /// Bit 21: accessed and dirty flags.
    public var accessedDirty = true
    public init() {}
}
