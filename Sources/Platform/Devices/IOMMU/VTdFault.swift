/// Why a remapping unit blocked a request: the fault reason a fault record carries (VT-d
/// spec §7.1.3 / Appendix "Non-Recoverable Fault Reason Encodings"; DMA remapping 1h–Dh,
/// interrupt remapping 20h–26h).
public enum VTdFaultReason: UInt8, Sendable, CaseIterable {
    /// The root entry's Present field is clear.
    case rootEntryNotPresent = 0x01
    /// The context entry's Present field is clear.
    case contextEntryNotPresent = 0x02
    /// The context entry is programmed with an unsupported AW or TT.
    case contextEntryInvalid = 0x03
    /// The input address is above 2^AGAW − 1.
    case addressBeyondGuestWidth = 0x04
    /// A write through a second-level entry without W.
    case writeNotPermitted = 0x05
    /// A read through a second-level entry without R.
    case readNotPermitted = 0x06
    /// A second-level paging entry could not be read (not memory).
    case pagingEntryInaccessible = 0x07
    /// The root entry could not be read.
    case rootTableInaccessible = 0x08
    /// The context entry could not be read.
    case contextTableInaccessible = 0x09
    /// A reserved field of a present root entry is set.
    case rootEntryReserved = 0x0A
    /// A reserved field of a present context entry is set.
    case contextEntryReserved = 0x0B
    /// A reserved field of a present second-level paging entry is set.
    case pagingEntryReserved = 0x0C

    /// Reserved bits set in an interrupt request.
    case interruptRequestReserved = 0x20
    /// The interrupt index is beyond the interrupt-remapping table's size.
    case interruptIndexBeyondTable = 0x21
    /// The IRTE's Present field is clear.
    case interruptEntryNotPresent = 0x22
    /// The IRTE could not be read (the table address is not memory).
    case interruptTableInaccessible = 0x23
    /// A reserved field of a present IRTE is set (posted format included: not supported).
    case interruptEntryReserved = 0x24
    /// A compatibility-format request while remapping is on and CFIS is clear.
    case compatibilityInterruptBlocked = 0x25
    /// The requester's source-id fails the IRTE's SVT/SQ/SID check.
    case interruptSourceMismatch = 0x26

    public var isInterruptRemappingFault: Bool { rawValue >= 0x20 }
}

/// One fault as the fault recording register holds it (§10.4.14, fault record format §9.9):
/// source-id, the faulting page address (DMA) or interrupt index (interrupts), read or
/// write, and the reason.
public struct VTdFault: Equatable, Sendable {
    public var reason: VTdFaultReason
    public var sourceID: UInt16
    /// DMA faults: the request address; interrupt faults: the interrupt index.
    public var info: UInt64
    public var isWrite: Bool

    public init(reason: VTdFaultReason, sourceID: UInt16, info: UInt64, isWrite: Bool) {
        self.reason = reason
        self.sourceID = sourceID
        self.info = info
        self.isWrite = isWrite
    }

    /// Fault recording register bits 63:0: FI = page address 63:12, or for an interrupt
    /// fault the interrupt index in 63:48.
    var recordLow: UInt64 { reason.isInterruptRemappingFault ? info << 48 : info & ~0xFFF }
    /// Bits 127:64: F (63), T (62: 1 = read), FR (39:32), SID (15:0).
    var recordHigh: UInt64 {
        1 << 63 | (isWrite || reason.isInterruptRemappingFault ? 0 : 1 << 62) | UInt64(reason.rawValue) << 32 | UInt64(sourceID)
    }
}
