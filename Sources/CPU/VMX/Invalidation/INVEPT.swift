/// INVEPT types (SDM Vol. 3C ch. 31 "INVEPT—Invalidate Translations Derived from EPT"; the
/// types IA32_VMX_EPT_VPID_CAP bits 25 and 26 report).
public enum INVEPTType: UInt64, Sendable {
    /// Invalidates the mappings associated with bits 51:12 of the EPTP in the descriptor.
    case singleContext = 1
    /// Invalidates the mappings associated with all EPTPs.
    case allContext = 2
}

/// Why an INVEPT or INVVPID operand is rejected: VMfail with VM-instruction error 28 "invalid
/// operand to INVEPT/INVVPID" (SDM Vol. 3C §31.4, Table 31-1). L0 reports it to its guest
/// as VMfailValid(28), or VMfailInvalid without a current VMCS (§31.2).
public enum InvalidationOperandError: UInt32, Error, Sendable, Equatable {
    case invalidOperand = 28
}

extension Processor {
    /// INVEPT as L0 executes it on behalf of a guest (or for itself after changing EPT
    /// structures), SDM Vol. 3C ch. 31 "INVEPT" and §29.4.3.1:
    /// - single-context: every guest-physical and combined mapping associated with the EP4TA of
    ///   `eptp`, for all VPIDs and PCIDs; the EPTP must be one VM entry would accept (memory
    ///   type, page-walk length, A/D, reserved bits; §27.2.1.1), else error 28;
    /// - all-context: the guest-physical and combined mappings of every EP4TA.
    /// Linear mappings (made without EPT) are never affected. Cached guest-physical mappings
    /// (`GuestPhysicalMappingCache`) are all dropped, for either type.
    public func invept(_ type: INVEPTType, eptp: EPTPointer) throws(InvalidationOperandError) {
        switch type {
        case .singleContext:
            guard Self.eptpAcceptableForINVEPT(eptp, vmxCapabilities) else { throw .invalidOperand }
            let ep4ta = TranslationTag.ep4ta(ofEPTP: eptp.raw)
            tlb.invalidate { $0.isCombined && $0.ep4ta == ep4ta }
        case .allContext:
            tlb.invalidate { $0.isCombined }
        }
        guestPhysicalMappings.flushAll()
        pending |= PendingBit.modeChanged
    }

    /// INVEPT single-context fails "if VM entry with the 'enable EPT' VM-execution control set
    /// to 1 would fail due to the EPTP value" (ch. 31 "INVEPT" Operation; §27.2.1.1).
    static func eptpAcceptableForINVEPT(_ p: EPTPointer, _ c: VMXCapabilities) -> Bool {
        let typeOK = (p.memoryType == 0 && c.ept.uncacheableType) || (p.memoryType == 6 && c.ept.writeBackType)
        let levelsOK = (p.levels == 4 && c.ept.fourLevel) || (p.levels == 5 && c.ept.fiveLevel)
        let adOK = !p.accessedDirtyEnabled || c.ept.accessedDirty
        return typeOK && levelsOK && adOK && p.raw & 0xF80 == 0 && p.raw >> UInt64(c.physicalAddressBits) == 0
    }
}
