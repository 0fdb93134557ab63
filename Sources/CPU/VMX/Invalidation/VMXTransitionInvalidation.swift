/// What VM entries and VM exits do to cached translations (SDM Vol. 3C §29.4.3.1 "Operations
/// that Invalidate Cached Mappings", §27.3.2.5 and §28.5.5 "Updating Non-Register State").
extension Processor {
    /// §27.3.2.5: with "enable VPID" = 0, VM entry invalidates the linear and combined mappings
    /// of VPID 0000H for all PCIDs and all EP4TAs; with "enable VPID" = 1 (the VPID is then
    /// non-zero, §27.2.1.1) it invalidates nothing. The guest's context then becomes current:
    /// translations it cached under the same (VPID, PCID, EP4TA) are used again.
    ///
    /// `contextUnchanged`: the entry loaded nothing that selects a context (no control, no
    /// paging register); after an exit whose root context is still deferred, the guest's set
    /// is then current already.
    func updateCachedMappingsOnVMEntry(contextUnchanged: Bool) {
        if !controls.secondary.contains(.enableVPID) { invalidateMappingsOfVPIDZero() }
        if contextUnchanged && rootContextDeferred {
            // Block links stay valid too: the boundary checks an entry needs are armed by
            // what asks for them (`armNonRootEvents`, `armINITAndSIPI`, event injection).
            rootContextDeferred = false
        } else {
            activateTranslationContext()
        }
    }

    /// §28.5.5: with "enable VPID" = 0, VM exit invalidates the linear and combined mappings of
    /// VPID 0000H (all PCIDs, all EP4TAs); otherwise the guest's translations stay cached. The
    /// processor is then outside non-root operation: VPID 0000H, no EPT.
    ///
    /// Selecting that root context is deferred (`rootContextDeferred`) until something
    /// translates in root mode (`selectRootContextIfDeferred`): L0 runs no guest code of its
    /// own, so an exit it resolves and the entry after it keep the guest's TLB set current —
    /// and the interpreter's block links with it.
    func updateCachedMappingsOnVMExit() {
        if !controls.secondary.contains(.enableVPID) { invalidateMappingsOfVPIDZero() }
        rootContextDeferred = true
    }

    /// Selects the root context a VM exit left deferred: before root-mode code runs or
    /// translates.
    @inline(__always)
    func selectRootContextIfDeferred() {
        if rootContextDeferred { activateTranslationContext() }
    }

    /// Linear and combined mappings of VPID 0000H, every PCID and EP4TA (§29.4.3.1).
    func invalidateMappingsOfVPIDZero() {
        tlb.invalidate { $0.vpid == 0 }
    }
}
