/// "Use TPR shadow" (primary processor-based control bit 21): CR8 accesses in VMX non-root
/// operation use the virtual TPR on the virtual-APIC page instead of the local APIC's TPR
/// (SDM Vol. 3C §30.1.1 "Virtualized APIC Registers", §30.1.2 "TPR Virtualization", §30.3
/// "Virtualizing CR8-Based TPR Accesses"), with the VM-entry checks of §27.2.1.1.
/// Virtual-interrupt delivery is not implemented (not advertised), so TPR virtualization is
/// always the "virtual-interrupt delivery" = 0 form; VTPR accesses through the APIC-access page
/// ("virtualize APIC accesses") are in APICAccessPage.swift.
extension Processor {
    /// VTPR: the 32-bit field at offset 080H of the virtual-APIC page (§30.1.1).
    static let vtprOffset: UInt64 = 0x80

    /// Reads VTPR (an unreadable page reads as 0).
    func readVTPR() -> UInt32 {
        (try? memory.load(UInt32.self, at: controls.virtualAPICAddress &+ Self.vtprOffset)) ?? 0
    }

    /// MOV from CR8 with "use TPR shadow" = 1 and "CR8-store exiting" = 0 (§30.3): bits 3:0 of
    /// the destination get VTPR[7:4]; bits 63:4 are cleared.
    func virtualizedCR8Read() -> UInt64 {
        UInt64(readVTPR() >> 4) & 0xF
    }

    /// MOV to CR8 with "use TPR shadow" = 1 and "CR8-load exiting" = 0 (§30.3): VTPR[7:4] ←
    /// source[3:0], VTPR[3:0] and bytes 081H–083H ← 0; then TPR virtualization (§30.1.2):
    /// with "virtual-interrupt delivery" = 0, VTPR[7:4] below TPR threshold[3:0] causes a
    /// trap-like VM exit "TPR below threshold" (reason 43) after the instruction.
    func virtualizeMOVToCR8(_ value: UInt64) throws(Fault) {
        try? memory.store(UInt32(value & 0xF) << 4, at: controls.virtualAPICAddress &+ Self.vtprOffset)
        if UInt32(value & 0xF) < controls.tprThreshold & 0xF { throw trapLikeExit(.tprBelowThreshold) }
    }

    /// A VM exit that occurs after the current instruction completes (trap-like, §28.1): the
    /// instruction retires and the guest RIP saved is that of the next instruction.
    func trapLikeExit(_ reason: ExitReason) -> Fault {
        rip = nextRIP
        instructionsRetired &+= 1
        pendingExit = PendingExit()
        pendingExit.reason = reason
        return .vmExit
    }

    /// At VM entry: the virtual-APIC address and TPR threshold (§25.6.8).
    func unpackAPICVirtualizationControls(_ v: VMCS, into c: inout NonRootControls) {
        c.virtualAPICAddress = v[.virtualAPICAddress]
        c.tprThreshold = UInt32(truncatingIfNeeded: v[.tprThreshold])
    }

}

extension VMEntryChecks {
    /// §27.2.1.1: with "use TPR shadow" = 1, "virtualize APIC accesses" = 0 and "virtual-
    /// interrupt delivery" = 0, TPR threshold[3:0] must not exceed VTPR[7:4], read from the
    /// virtual-APIC page through the context's reader (an unreadable page reads as 0).
    static func tprThresholdNotAboveVTPR(_ v: VMCS, _ c: inout GuestStateCheckContext) -> Bool {
        guard v.primary.contains(.useTPRShadow), !v.secondary.contains(.virtualizeAPICAccesses),
              !v.secondary.contains(.virtualInterruptDelivery) else { return true }
        let vtpr = c.read32(v[.virtualAPICAddress] &+ Processor.vtprOffset) ?? 0
        return v[.tprThreshold] & 0xF <= UInt64((vtpr >> 4) & 0xF)
    }

    /// §27.2.1.1: with "use TPR shadow" = 1, the virtual-APIC address is 4-KByte aligned within
    /// MAXPHYADDR and, with "virtual-interrupt delivery" = 0, TPR threshold bits 31:4 are 0.
    /// With "use TPR shadow" = 0, "virtualize x2APIC mode", "APIC-register virtualization" and
    /// "virtual-interrupt delivery" are 0.
    static func tprShadowControlsValid(_ v: VMCS, _ c: VMXCapabilities) -> Bool {
        guard v.primary.contains(.useTPRShadow) else {
            return v.secondary.intersection([.virtualizeX2APICMode, .apicRegisterVirtualization, .virtualInterruptDelivery]).isEmpty
        }
        if !alignedWithinWidth(v[.virtualAPICAddress], c.physicalAddressBits) { return false }
        if !v.secondary.contains(.virtualInterruptDelivery) && v[.tprThreshold] >> 4 != 0 { return false }
        return true
    }
}
