/// INVVPID types (SDM Vol. 3C ch. 31 "INVVPID—Invalidate Translations Based on VPID"; the
/// types IA32_VMX_EPT_VPID_CAP bits 40–43 report).
public enum INVVPIDType: UInt64, Sendable {
    case individualAddress = 0
    case singleContext = 1
    case allContext = 2
    case singleContextRetainingGlobals = 3
}

/// The 128-bit INVVPID descriptor (ch. 31 "INVVPID", Figure 31-2): VPID in bits 15:0, bits 63:16
/// reserved (must be zero), linear address in bits 127:64.
public struct INVVPIDDescriptor: Sendable, Equatable {
    public var low: UInt64
    public var linearAddress: UInt64
    public init(low: UInt64, linearAddress: UInt64) {
        self.low = low
        self.linearAddress = linearAddress
    }
    public init(vpid: UInt16, linearAddress: UInt64 = 0) {
        self.init(low: UInt64(vpid), linearAddress: linearAddress)
    }
    public var vpid: UInt16 { UInt16(truncatingIfNeeded: low) }
    public var reservedBitsClear: Bool { low >> 16 == 0 }
}

extension Processor {
    /// INVVPID as L0 executes it (ch. 31 "INVVPID" Operation; §29.4.3.1). Each type invalidates
    /// linear and combined mappings for all PCIDs and, for combined mappings, all EP4TAs:
    /// - individual-address: the mappings of the VPID that translate the descriptor's linear
    ///   address (global ones included);
    /// - single-context: every mapping of the VPID;
    /// - all-context: every mapping of every VPID except VPID 0000H;
    /// - single-context-retaining-globals: every mapping of the VPID except global translations.
    /// Error 28 when descriptor bits 63:16 are set, when a type other than all-context names
    /// VPID 0000H, or when the individual address is not canonical.
    public func invvpid(_ type: INVVPIDType, _ d: INVVPIDDescriptor) throws(VMInstructionError) {
        guard d.reservedBitsClear else { throw .invalidINVEPTOrINVVPIDOperand }
        let vpid = d.vpid
        if type != .allContext && vpid == 0 { throw .invalidINVEPTOrINVVPIDOperand }
        switch type {
        case .individualAddress:
            // Canonical for the linear-address width the processor supports (48 or 57 bits).
            guard CanonicalAddress.isCanonical(d.linearAddress, width: model.linearAddressBits) else {
                throw .invalidINVEPTOrINVVPIDOperand
            }
            tlb.invalidatePage(d.linearAddress) { $0.vpid == vpid ? .all : .none }
        case .singleContext:
            tlb.invalidate { $0.vpid == vpid }
        case .allContext:
            tlb.invalidate { $0.vpid != 0 }
        case .singleContextRetainingGlobals:
            tlb.invalidateNonGlobal { $0.vpid == vpid }
        }
        pending |= PendingBit.modeChanged
    }
}
