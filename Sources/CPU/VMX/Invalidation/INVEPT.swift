/// INVEPT types (SDM Vol. 3C ch. 31 "INVEPT—Invalidate Translations Derived from EPT"; the
/// types IA32_VMX_EPT_VPID_CAP bits 25 and 26 report).
public enum INVEPTType: UInt64, Sendable {
    /// Invalidates the mappings associated with bits 51:12 of the EPTP in the descriptor.
    case singleContext = 1
    /// Invalidates the mappings associated with all EPTPs.
    case allContext = 2
}

extension Processor {
    /// INVEPT as L0 executes it on behalf of a guest (or for itself after changing EPT
    /// structures), SDM Vol. 3C ch. 31 "INVEPT" and §29.4.3.1:
    /// - single-context: every guest-physical and combined mapping associated with the EP4TA of
    ///   `eptp`, for all VPIDs and PCIDs; the EPTP must be one VM entry would accept
    ///   (`EPTPointer.isValid(for:)`, §27.2.1.1), else error 28;
    /// - all-context: the guest-physical and combined mappings of every EP4TA.
    /// Linear mappings (made without EPT) are never affected. Cached guest-physical mappings
    /// (`GuestPhysicalMappingCache`) are all dropped, for either type.
    public func invept(_ type: INVEPTType, eptp: EPTPointer) throws(VMInstructionError) {
        switch type {
        case .singleContext:
            guard eptp.isValid(for: vmxCapabilities) else { throw .invalidINVEPTOrINVVPIDOperand }
            let ep4ta = TranslationTag.ep4ta(ofEPTP: eptp.raw)
            tlb.invalidate { $0.isCombined && $0.ep4ta == ep4ta }
        case .allContext:
            tlb.invalidate { $0.isCombined }
        }
        guestPhysicalMappings.flushAll()
        pending |= PendingBit.modeChanged
    }
}
