/// The processor's use of EPT for every guest-physical access in VMX non-root operation
/// (SDM Vol. 3C §29.3).
extension Processor {
    /// Translates `gpa` through the current EPT paging structures.
    ///
    /// Returns the host-physical address and the TLB permissions EPT allows, or nil when EPT
    /// does not map the address and L0 has installed an emulation bus for this instruction
    /// (the access then goes to L0's devices). Otherwise an EPT violation or misconfiguration
    /// records its exit information (SDM Vol. 3C §28.2.1 Table 28-7, §28.2.4) and throws.
    /// `updatesFlags`: the paging-structure access sets the entry's accessed or dirty flag.
    func eptTranslate(_ gpa: UInt64, _ access: AccessType, linear: UInt64?,
                      pagingStructure: Bool, updatesFlags: Bool = false) throws(Fault) -> (hpa: UInt64, perms: UInt32)? {
        let adOn = controls.eptPointer.accessedDirtyEnabled
        // §29.3.3.2, Table 28-7: guest paging-structure accesses are data reads — also during a
        // fetch or a write — and count as writes too (both bits reported) with EPT A/D enabled
        // or when they set an accessed/dirty flag.
        let fetch = access.isFetch && !pagingStructure
        let asWrite = pagingStructure ? (adOn || updatesFlags) : access.isWrite
        let ea = EPTAccess(read: pagingStructure || (!asWrite && !fetch), write: asWrite, fetch: fetch,
                           pagingStructure: pagingStructure)
        // §29.4.1: a cached guest-physical mapping that allows the access stands for the walk.
        let ep4ta = controls.eptPointer.raw & 0x000F_FFFF_FFFF_F000
        if !adOn, let hit = guestPhysicalMappings.lookup(gpa, ep4ta: ep4ta),
           (!ea.read || hit.rights & 1 != 0) && (!ea.write || hit.rights & 2 != 0) && (!ea.fetch || hit.rights & 4 != 0) {
            return (hit.hostPage | (gpa & 0xFFF), Self.tlbPermissions(eptRights: hit.rights))
        }
        let walker = EPTWalker(memory: memory, features: model.eptFeatures,
                               physicalAddressBits: model.physicalAddressBits)
        switch walker.translate(gpa, ea, eptp: controls.eptPointer) {
        case .translated(let hpa, let rights, let pageSize):
            if !adOn { guestPhysicalMappings.insert(gpa, ep4ta: ep4ta, hostPhysical: hpa, rights: rights, pageSize: pageSize) }
            return (hpa, Self.tlbPermissions(eptRights: rights))
        case .violation(let rights):
            if rights == 0 && emulatingForL0 && !pagingStructure && !access.isFetch { return nil }
            if let la = linear {
                if !pagingStructure { invalidateMappingsForEPTViolation(la) }
                pendingExit.guestLinearAddress = la
            }
            let q = EPTViolationQualification(access: ea, rights: rights, linearAddressValid: linear != nil,
                                              translatedAccess: !pagingStructure)
            pendingExit.reason = .eptViolation
            pendingExit.qualification = q.rawValue
            pendingExit.guestPhysicalAddress = gpa
            throw Fault.vmExit
        case .misconfiguration:
            pendingExit.reason = .eptMisconfiguration
            pendingExit.qualification = 0
            pendingExit.guestPhysicalAddress = gpa
            throw Fault.vmExit
        }
    }

    /// TLB permission bits allowed by EPT read/write/execute rights (bits 0, 1, 2).
    static func tlbPermissions(eptRights r: UInt8) -> UInt32 {
        var p: UInt32 = 0
        if r & 1 != 0 { p |= TLBPerm.readUser | TLBPerm.readSupervisor | TLBPerm.readSupervisorSMAP }
        if r & 2 != 0 { p |= TLBPerm.allWrite }
        if r & 4 != 0 { p |= TLBPerm.execUser | TLBPerm.execSupervisor }
        return p
    }
}
