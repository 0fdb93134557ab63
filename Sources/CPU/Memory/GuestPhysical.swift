/// The guest-physical step of every translation: identity outside VMX or without EPT,
/// the EPT walk (SDM Vol. 3C §29.3) when the current VMCS enables it.
extension Processor {
    /// Ends a translation: maps the guest-physical address through EPT (if enabled) and
    /// classifies the result as RAM or device.
    
    func finishTranslation(gpa: UInt64, la: UInt64, access: AccessType, perms: UInt32,
                           global: Bool) throws(Fault) -> Translation {
        var perms = perms
        var hpa = gpa
        if controls.ept {
            guard let r = try eptTranslate(gpa, access, linear: la, pagingStructure: false) else {
                // EPT does not map it and L0 is emulating this instruction: a device access.
                return Translation(physical: gpa, perms: 0, global: false, ram: false, guestPhysical: gpa)
            }
            hpa = r.hpa
            perms &= r.perms
        }
        if isOnAPICAccessPage(hpa) {                   // Vol. 3C §30.4: checked on every access
            return Translation(physical: hpa, perms: 0, global: false, ram: false, guestPhysical: gpa, apicAccess: access)
        }
        let ram = memory.isRAM(hpa)
        return Translation(physical: hpa, perms: perms, global: global, ram: ram, guestPhysical: gpa)
    }

    /// Host-physical address of a paging-structure entry at guest-physical `gpa`
    /// (SDM Vol. 3C §29.3.2: such accesses are EPT data reads, or writes with EPT A/D).
    
    func pagingStructureAddress(_ gpa: UInt64, la: UInt64?, access: AccessType) throws(Fault) -> UInt64 {
        if controls.ept {
            guard let r = try eptTranslate(gpa, access, linear: la, pagingStructure: true) else { return ~0 }
            // Vol. 3C §30.4.6.2: a guest-physical access to the APIC-access page.
            if isOnAPICAccessPage(r.hpa) { throw apicAccessByGuestPhysicalAccess(gpa) }
            return r.hpa
        }
        return gpa
    }
}
