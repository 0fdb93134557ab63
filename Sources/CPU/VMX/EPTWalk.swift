/// EPT translation of guest-physical addresses (SDM Vol. 3C §29.3).
extension Processor {
    /// Translates `gpa` through the current EPT paging structures. Returns nil when the
    /// address is not mapped and L0's emulation bus should see the access instead.
    
    func eptTranslate(_ gpa: UInt64, _ access: AccessType, linear: UInt64?,
                      pagingStructure: Bool) throws(Fault) -> (hpa: UInt64, perms: UInt32)? {
        // Replaced by the full EPT walker with the VMX non-root work.
        return (gpa, TLBPerm.all)
    }
}
