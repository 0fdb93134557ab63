/// The extended-page-table pointer (SDM Vol. 3C §25.6.11, Table 25-9).
public struct EPTPointer: Equatable, Sendable {
    public var raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }

    /// EPT paging-structure memory type, bits 2:0 (0 = UC, 6 = WB).
    public var memoryType: UInt64 { raw & 7 }
    /// Number of paging-structure levels: bits 5:3 hold the page-walk length minus 1.
    public var levels: Int { Int((raw >> 3) & 7) + 1 }
    /// Bit 6: enable accessed and dirty flags for EPT.
    public var accessedDirtyEnabled: Bool { raw & (1 << 6) != 0 }
    /// Bit 7: enforcement of access rights for supervisor shadow-stack pages.
    public var supervisorShadowStack: Bool { raw & (1 << 7) != 0 }

    /// Physical address of the top paging structure (bits N–1:12).
    public func rootAddress(physicalAddressBits n: Int) -> UInt64 {
        raw & ((UInt64(1) << UInt64(n)) &- 1) & ~0xFFF
    }

    /// SDM Vol. 3C §27.2.1.1 — the EPTP VM entry accepts (and INVEPT single-context, ch. 31):
    /// a memory type and page-walk length the capabilities report, A/D only if supported,
    /// bits 11:7 clear, no address bit beyond the physical-address width.
    public func isValid(for c: VMXCapabilities) -> Bool {
        let typeOK = (memoryType == 0 && c.ept.uncacheableType) || (memoryType == 6 && c.ept.writeBackType)
        let levelsOK = (levels == 4 && c.ept.fourLevel) || (levels == 5 && c.ept.fiveLevel)
        let adOK = !accessedDirtyEnabled || c.ept.accessedDirty
        return typeOK && levelsOK && adOK && raw & 0xF80 == 0 && raw >> UInt64(c.physicalAddressBits) == 0
    }

    /// A write-back EPTP for the structures at `root`.
    public static func make(root: UInt64, levels: Int = 4, accessedDirty: Bool = false) -> EPTPointer {
        EPTPointer(root | 6 | (UInt64(levels - 1) << 3) | (accessedDirty ? 1 << 6 : 0))
    }
}
