/// The local APIC register map (SDM Vol. 3A §12.4.1 Table 12-1 "Local APIC Register Address
/// Map" and §12.12.1.2 Table 12-6 "Local APIC Register Address Map Supported by x2APIC").
/// One row per register: MMIO offset, access, and presence in x2APIC mode (MSR 0x800 + offset/16).
public enum LocalAPICRegister: UInt16, CaseIterable, Sendable {
    case id = 0x020, version = 0x030, tpr = 0x080, apr = 0x090, ppr = 0x0A0, eoi = 0x0B0
    case rrd = 0x0C0, ldr = 0x0D0, dfr = 0x0E0, svr = 0x0F0
    case isr0 = 0x100, isr1 = 0x110, isr2 = 0x120, isr3 = 0x130, isr4 = 0x140, isr5 = 0x150, isr6 = 0x160, isr7 = 0x170
    case tmr0 = 0x180, tmr1 = 0x190, tmr2 = 0x1A0, tmr3 = 0x1B0, tmr4 = 0x1C0, tmr5 = 0x1D0, tmr6 = 0x1E0, tmr7 = 0x1F0
    case irr0 = 0x200, irr1 = 0x210, irr2 = 0x220, irr3 = 0x230, irr4 = 0x240, irr5 = 0x250, irr6 = 0x260, irr7 = 0x270
    case esr = 0x280, lvtCMCI = 0x2F0, icrLow = 0x300, icrHigh = 0x310
    case lvtTimer = 0x320, lvtThermal = 0x330, lvtPerformance = 0x340, lvtLINT0 = 0x350, lvtLINT1 = 0x360, lvtError = 0x370
    case timerInitialCount = 0x380, timerCurrentCount = 0x390, timerDivide = 0x3E0
    /// x2APIC only: SELF IPI (MSR 0x83F).
    case selfIPI = 0x3F0

    public enum Access: Sendable { case readWrite, readOnly, writeOnly }

    public var access: Access {
        switch self {
        case .id: return .readWrite          // read-only in x2APIC mode (see x2APICAccess)
        case .version, .ppr, .rrd, .timerCurrentCount: return .readOnly
        case .isr0, .isr1, .isr2, .isr3, .isr4, .isr5, .isr6, .isr7: return .readOnly
        case .tmr0, .tmr1, .tmr2, .tmr3, .tmr4, .tmr5, .tmr6, .tmr7: return .readOnly
        case .irr0, .irr1, .irr2, .irr3, .irr4, .irr5, .irr6, .irr7: return .readOnly
        case .eoi, .selfIPI: return .writeOnly
        default: return .readWrite
        }
    }

    /// Access through the x2APIC MSRs, or nil when the register does not exist there
    /// (APR, RRD, DFR, ICR high: an MSR access raises #GP).
    public var x2APICAccess: Access? {
        switch self {
        case .apr, .rrd, .dfr, .icrHigh: return nil
        case .id, .ldr: return .readOnly
        default: return access
        }
    }

    /// Present in xAPIC (MMIO) mode.
    public var inXAPIC: Bool { self != .selfIPI }

    /// The x2APIC MSR index for this register.
    public var msrIndex: UInt32 { 0x800 + UInt32(rawValue >> 4) }

    public init?(msr: UInt32) {
        guard msr >= 0x800 && msr <= 0x8FF else { return nil }
        self.init(rawValue: UInt16((msr - 0x800) << 4))
    }
}
