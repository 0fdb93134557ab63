/// The registers of a VT-d remapping unit this model implements, by offset in its 4-KiB
/// register page (VT-d spec §10.4 "Register Descriptions", Table "Address Mapping for
/// Remapping Hardware Registers"). Offsets a guest reads that are not listed read as zero;
/// writes there are ignored.
public enum VTdRegister: Int, CaseIterable, Sendable {
    /// §10.4.1 Version Register.
    case version = 0x00
    /// §10.4.2 Capability Register.
    case capability = 0x08
    /// §10.4.3 Extended Capability Register.
    case extendedCapability = 0x10
    /// §10.4.4 Global Command Register (write-only: reads return 0).
    case globalCommand = 0x18
    /// §10.4.5 Global Status Register.
    case globalStatus = 0x1C
    /// §10.4.6 Root Table Address Register.
    case rootTableAddress = 0x20
    /// §10.4.7 Context Command Register.
    case contextCommand = 0x28
    /// §10.4.9 Fault Status Register.
    case faultStatus = 0x34
    /// §10.4.10 Fault Event Control Register.
    case faultEventControl = 0x38
    /// §10.4.11 Fault Event Data Register.
    case faultEventData = 0x3C
    /// §10.4.12 Fault Event Address Register.
    case faultEventAddress = 0x40
    /// §10.4.13 Fault Event Upper Address Register.
    case faultEventUpperAddress = 0x44
    /// §10.4 Invalidation Queue Head Register.
    case invalidationQueueHead = 0x80
    /// §10.4 Invalidation Queue Tail Register.
    case invalidationQueueTail = 0x88
    /// §10.4 Invalidation Queue Address Register.
    case invalidationQueueAddress = 0x90
    /// §10.4 Invalidation Completion Status Register.
    case invalidationCompletionStatus = 0x9C
    /// §10.4 Invalidation Event Control Register.
    case invalidationEventControl = 0xA0
    /// §10.4 Invalidation Event Data Register.
    case invalidationEventData = 0xA4
    /// §10.4 Invalidation Event Address Register.
    case invalidationEventAddress = 0xA8
    /// §10.4 Invalidation Event Upper Address Register.
    case invalidationEventUpperAddress = 0xAC
    /// §10.4 Interrupt Remapping Table Address Register.
    case interruptRemappingTableAddress = 0xB8
    /// §10.4.8.2 Invalidate Address Register (at ECAP.IRO × 16).
    case invalidateAddress = 0xF0
    /// §10.4.8.1 IOTLB Invalidate Register (IVA + 8).
    case iotlbInvalidate = 0xF8
    /// §10.4.14 Fault Recording Register 0, low half (fault info), at CAP.FRO × 16.
    case faultRecordingLow = 0x220
    /// §10.4.14 Fault Recording Register 0, high half (F, T, fault reason, source-id).
    case faultRecordingHigh = 0x228

    /// Bytes the register file spans.
    public static let fileSize = 0x230

    /// Width in bytes.
    public var width: Int {
        switch self {
        case .capability, .extendedCapability, .rootTableAddress, .contextCommand, .invalidationQueueHead,
             .invalidationQueueTail, .invalidationQueueAddress, .interruptRemappingTableAddress,
             .invalidateAddress, .iotlbInvalidate, .faultRecordingLow, .faultRecordingHigh:
            return 8
        default:
            return 4
        }
    }

    public var offset: Int { rawValue }

    /// Bits software may write (read-write or write-only fields).
    func writableBits(_ c: VTdCapabilities) -> UInt64 {
        switch self {
        case .globalCommand: return 0xFF80_0000                               // TE … CFI (31:23)
        case .rootTableAddress: return ~0xFFF                                 // RTA 63:12 (TTM reserved: no SMTS)
        case .contextCommand: return 0xE000_0003_FFFF_FFFF                    // ICC, CIRG, FM, SID, DID
        case .faultEventControl, .invalidationEventControl: return 1 << 31   // IM
        case .faultEventData, .invalidationEventData, .faultEventUpperAddress, .invalidationEventUpperAddress:
            return 0xFFFF_FFFF
        case .faultEventAddress, .invalidationEventAddress: return 0xFFFF_FFFC
        case .invalidationQueueTail: return 0x7_FFF0                          // QT 18:4
        case .invalidationQueueAddress: return ~0xFFF | 0x7                    // IQA 63:12, QS 2:0
        case .interruptRemappingTableAddress:
            return ~0xFFF | 0xF | (c.extendedInterruptMode ? 1 << 11 : 0)     // IRTA, S, EIME
        case .invalidateAddress: return ~0xFFF | 0x7F                          // ADDR, IH, AM
        case .iotlbInvalidate: return 0xB003_FFFF_0000_0000                   // IVT, IIRG, DR, DW, DID
        default: return 0
        }
    }

    /// Bits that are cleared by writing 1 (RW1C).
    var writeOneToClearBits: UInt64 {
        switch self {
        case .faultStatus: return 0x7D                                       // PFO, AFO, APF, IQE, ICE, ITE
        case .invalidationCompletionStatus: return 1                         // IWC
        case .faultRecordingHigh: return 1 << 63                             // F
        default: return 0
        }
    }

    /// Value after reset.
    func resetValue(_ c: VTdCapabilities) -> UInt64 {
        switch self {
        case .version: return VTdCapabilities.version
        case .capability: return c.capabilityRegister
        case .extendedCapability: return c.extendedCapabilityRegister
        case .faultEventControl, .invalidationEventControl: return 1 << 31   // interrupt masked
        default: return 0
        }
    }
}

/// Global Command / Global Status bits (§10.4.4, §10.4.5): a command bit and the status bit
/// reporting it share a position.
public enum VTdGlobal {
    public static let translationEnable: UInt32 = 1 << 31            // TE / TES
    public static let setRootTablePointer: UInt32 = 1 << 30          // SRTP / RTPS
    public static let setFaultLog: UInt32 = 1 << 29                  // SFL / FLS
    public static let enableAdvancedFaultLogging: UInt32 = 1 << 28   // EAFL / AFLS
    public static let writeBufferFlush: UInt32 = 1 << 27             // WBF / WBFS
    public static let queuedInvalidationEnable: UInt32 = 1 << 26     // QIE / QIES
    public static let interruptRemappingEnable: UInt32 = 1 << 25     // IRE / IRES
    public static let setInterruptRemapTablePointer: UInt32 = 1 << 24 // SIRTP / IRTPS
    public static let compatibilityFormatInterrupt: UInt32 = 1 << 23 // CFI / CFIS
}

/// What this remapping unit implements, and the capability registers that say so.
public struct VTdCapabilities: Equatable, Sendable {
    /// `intremap=on`: interrupt remapping (ECAP.IR).
    public var interruptRemapping = true
    /// `eim=on`: extended interrupt mode, 32-bit x2APIC destinations (ECAP.EIM).
    public var extendedInterruptMode = false

    public init(interruptRemapping: Bool = true, extendedInterruptMode: Bool = false) {
        self.interruptRemapping = interruptRemapping
        self.extendedInterruptMode = extendedInterruptMode
    }

    /// §10.4.1: architecture version 1.0 (major 7:4, minor 3:0).
    public static let version: UInt64 = 0x10
    /// Guest address width: 39 bits, a 3-level second-level table (SAGAW bit 1).
    public static let addressWidth = 39
    /// Fault recording registers' offset / 16 (CAP.FRO) and the IOTLB registers' (ECAP.IRO).
    public static let faultRecordingOffset: UInt64 = 0x22, iotlbOffset: UInt64 = 0xF

    /// §10.4.2: ND = 6 (16-bit domain IDs), SAGAW = 010b (39-bit AGAW), MGAW = 38, FRO,
    /// SLLPS = 0011b (2-MiB and 1-GiB pages), PSI, NFR = 0 (one fault recording register),
    /// MAMV = 18, DWD, DRD. No caching mode, no required write-buffer flushing, no
    /// protected memory regions, no advanced fault logging.
    public var capabilityRegister: UInt64 {
        6 | 0b00010 << 8 | UInt64(Self.addressWidth - 1) << 16 | Self.faultRecordingOffset << 24
            | 0b0011 << 34 | 1 << 39 | 0 << 40 | 18 << 48 | 1 << 54 | 1 << 55
    }

    /// §10.4.3: QI, IR, EIM (as configured), PT (pass-through), IRO, MHMV = 15.
    public var extendedCapabilityRegister: UInt64 {
        1 << 1 | (interruptRemapping ? 1 << 3 : 0) | (interruptRemapping && extendedInterruptMode ? 1 << 4 : 0)
            | 1 << 6 | Self.iotlbOffset << 8 | 0xF << 20
    }
}
