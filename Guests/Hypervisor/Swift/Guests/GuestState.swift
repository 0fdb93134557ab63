/// An L2 guest's state at its first VM entry (SDM Vol. 3C §25.4, "Guest-State Area"), chosen
/// to pass the §27.3.1 checks ("Checks on the Guest State Area").
enum GuestState {
    static let cr0PE: UInt64 = 1 << 0, cr0MP: UInt64 = 1 << 1, cr0ET: UInt64 = 1 << 4
    static let cr0NE: UInt64 = 1 << 5, cr0WP: UInt64 = 1 << 16, cr0PG: UInt64 = 1 << 31
    static let cr4PAE: UInt64 = 1 << 5
    static let eferLME: UInt64 = 1 << 8, eferLMA: UInt64 = 1 << 10
    /// Access rights (§25.4.1, Table 25-2): type 3:0, S 4, DPL 6:5, P 7, L 13, D/B 14, G 15,
    /// unusable 16.
    static let code64: UInt64 = 0xA09B, data32: UInt64 = 0xC093
    static let code16: UInt64 = 0x009B, data16: UInt64 = 0x0093
    static let busyTSS: UInt64 = 0x008B, unusable: UInt64 = 0x1_0000

    /// The CR0/CR4 the guest asked for, before VMX's fixed bits.
    static func wantedCR0(_ mode: GuestMode) -> UInt64 {
        mode == .longMode ? cr0PE | cr0MP | cr0ET | cr0NE | cr0WP | cr0PG : cr0ET
    }
    static func wantedCR4(_ mode: GuestMode) -> UInt64 { mode == .longMode ? cr4PAE : 0 }

    static func write(_ g: Guest) {
        let c = VMXOperation.capabilities
        let i = g.image
        // §27.3.1.1: CR0 and CR4 obey the fixed-bit MSRs; with "unrestricted guest", CR0.PE
        // and CR0.PG are exempt (real mode runs with both 0).
        var cr0 = c.fixedCR0(wantedCR0(g.definition.mode))
        if g.definition.mode == .realMode { cr0 &= ~(cr0PE | cr0PG) }
        VMX.write(.guestCR0, cr0)
        VMX.write(.guestCR4, c.fixedCR4(wantedCR4(g.definition.mode)))
        VMX.write(.guestCR3, i.cr3)
        VMX.write(.guestDR7, 0x400)
        VMX.write(.guestRFLAGS, 0x2)
        VMX.write(.guestRSP, i.stack)
        VMX.write(.guestDebugControl, 0)
        VMX.write(.guestSysenterCS, 0)
        VMX.write(.guestSysenterESP, 0)
        VMX.write(.guestSysenterEIP, 0)
        VMX.write(.guestInterruptibility, 0)
        VMX.write(.guestActivityState, 0)
        VMX.write(.guestPendingDebugExceptions, 0)
        VMX.write(.vmcsLinkPointer, ~0)        // §27.3.1.5: no shadow VMCS
        VMX.write(.guestGDTRBase, i.gdtBase)
        VMX.write(.guestGDTRLimit, i.gdtLimit)
        VMX.write(.guestIDTRBase, i.idtBase)
        VMX.write(.guestIDTRLimit, i.idtLimit)
        segment(.guestLDTR, .guestLDTRBase, .guestLDTRLimit, .guestLDTRAccessRights, 0, 0, 0, unusable)
        switch g.definition.mode {
        case .longMode:
            // §27.3.1.2: CS.L = 1 with D = 0 for 64-bit code; TR a busy 64-bit TSS (type 11).
            VMX.write(.guestRIP, i.entry)
            segment(.guestCS, .guestCSBase, .guestCSLimit, .guestCSAccessRights, 0x08, 0, 0xFFFF_FFFF, code64)
            segment(.guestSS, .guestSSBase, .guestSSLimit, .guestSSAccessRights, 0x10, 0, 0xFFFF_FFFF, data32)
            segment(.guestDS, .guestDSBase, .guestDSLimit, .guestDSAccessRights, 0x10, 0, 0xFFFF_FFFF, data32)
            segment(.guestES, .guestESBase, .guestESLimit, .guestESAccessRights, 0x10, 0, 0xFFFF_FFFF, data32)
            segment(.guestFS, .guestFSBase, .guestFSLimit, .guestFSAccessRights, 0x10, 0, 0xFFFF_FFFF, data32)
            segment(.guestGS, .guestGSBase, .guestGSLimit, .guestGSAccessRights, 0x10, 0, 0xFFFF_FFFF, data32)
            segment(.guestTR, .guestTRBase, .guestTRLimit, .guestTRAccessRights, 0x18, i.trBase, 0x67, busyTSS)
            if ControlSettings.chosen.efer { VMX.write(.guestEFER, eferLME | eferLMA) }
        case .realMode:
            // Real-address mode: base = selector × 16, 64-KiB limits; §27.3.1.2 lets an
            // unrestricted guest with CR0.PE = 0 use these types, with SS.DPL = 0. CS = DS = ES =
            // the image; SS = FS = GS = 0.
            let seg = i.load >> 4
            VMX.write(.guestRIP, i.entry - i.load)
            segment(.guestCS, .guestCSBase, .guestCSLimit, .guestCSAccessRights, seg, i.load, 0xFFFF, code16)
            segment(.guestDS, .guestDSBase, .guestDSLimit, .guestDSAccessRights, seg, i.load, 0xFFFF, data16)
            segment(.guestES, .guestESBase, .guestESLimit, .guestESAccessRights, seg, i.load, 0xFFFF, data16)
            segment(.guestSS, .guestSSBase, .guestSSLimit, .guestSSAccessRights, 0, 0, 0xFFFF, data16)
            segment(.guestFS, .guestFSBase, .guestFSLimit, .guestFSAccessRights, 0, 0, 0xFFFF, data16)
            segment(.guestGS, .guestGSBase, .guestGSLimit, .guestGSAccessRights, 0, 0, 0xFFFF, data16)
            segment(.guestTR, .guestTRBase, .guestTRLimit, .guestTRAccessRights, 0, 0, 0xFFFF, busyTSS)
            if ControlSettings.chosen.efer { VMX.write(.guestEFER, 0) }
        }
    }

    static func segment(_ selector: VMCSField, _ baseField: VMCSField, _ limitField: VMCSField,
                        _ rightsField: VMCSField, _ value: UInt64, _ base: UInt64, _ limit: UInt64, _ rights: UInt64) {
        VMX.write(selector, value)
        VMX.write(baseField, base)
        VMX.write(limitField, limit)
        VMX.write(rightsField, rights)
    }
}
