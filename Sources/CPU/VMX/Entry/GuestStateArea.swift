/// The guest-state area of a VMCS (SDM Vol. 3C §25.4) as plain values, plus the VM-entry
/// settings the guest-state checks depend on. VM entry checks it (§27.3.1) and then loads it.
public struct GuestStateArea: Equatable, Sendable {
    /// A segment register's fields: selector, base, limit and VMCS access rights (§25.4.1,
    /// Table 25-2: type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15, unusable 16).
    public struct Segment: Equatable, Sendable {
        public var selector: UInt16
        public var base: UInt64
        public var limit: UInt32
        public var accessRights: UInt32
        public init(selector: UInt16, base: UInt64, limit: UInt32, accessRights: UInt32) {
            self.selector = selector
            self.base = base
            self.limit = limit
            self.accessRights = accessRights
        }
        public var usable: Bool { accessRights & (1 << 16) == 0 }
        public var type: UInt32 { accessRights & 0xF }
        public var s: Bool { accessRights & (1 << 4) != 0 }
        public var dpl: UInt32 { (accessRights >> 5) & 3 }
        public var present: Bool { accessRights & (1 << 7) != 0 }
        public var l: Bool { accessRights & (1 << 13) != 0 }
        public var db: Bool { accessRights & (1 << 14) != 0 }
        public var g: Bool { accessRights & (1 << 15) != 0 }
        public var rpl: UInt32 { UInt32(selector & 3) }
        public static let unusable = Segment(selector: 0, base: 0, limit: 0, accessRights: 1 << 16)
    }

    public var cr0: UInt64 = 0
    public var cr3: UInt64 = 0
    public var cr4: UInt64 = 0
    public var dr7: UInt64 = 0x400
    public var rsp: UInt64 = 0
    public var rip: UInt64 = 0
    public var rflags: UInt64 = 2
    public var es = Segment.unusable, cs = Segment.unusable, ss = Segment.unusable, ds = Segment.unusable
    public var fs = Segment.unusable, gs = Segment.unusable

    /// ES … GS by register index (VMCS field order, SDM Vol. 3C §25.4.1).
    public subscript(segment k: SegmentRegisterIndex) -> Segment {
        get {
            switch k {
            case .es: return es
            case .cs: return cs
            case .ss: return ss
            case .ds: return ds
            case .fs: return fs
            case .gs: return gs
            }
        }
        set {
            switch k {
            case .es: es = newValue
            case .cs: cs = newValue
            case .ss: ss = newValue
            case .ds: ds = newValue
            case .fs: fs = newValue
            case .gs: gs = newValue
            }
        }
    }
    public var ldtr = Segment.unusable
    public var tr = Segment.unusable
    public var gdtrBase: UInt64 = 0, gdtrLimit: UInt32 = 0
    public var idtrBase: UInt64 = 0, idtrLimit: UInt32 = 0
    public var debugCtl: UInt64 = 0
    public var sysenterCS: UInt32 = 0
    public var sysenterESP: UInt64 = 0
    public var sysenterEIP: UInt64 = 0
    public var perfGlobalCtrl: UInt64 = 0
    public var pat: UInt64 = 0x0007_0406_0007_0406
    public var efer: UInt64 = 0
    public var bndcfgs: UInt64 = 0
    /// Activity state (§25.4.2): 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI.
    public var activityState: UInt32 = 0
    /// Interruptibility state (Table 25-3): STI 0, MOV SS 1, SMI 2, NMI 3, enclave 4.
    public var interruptibility: UInt32 = 0
    /// Pending debug exceptions (Table 25-4): B3–B0, enabled breakpoint 12, BS 14, RTM 16.
    public var pendingDebugExceptions: UInt64 = 0
    public var vmcsLinkPointer: UInt64 = ~0
    public var pdpte: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
        a.cr0 == b.cr0 && a.cr3 == b.cr3 && a.cr4 == b.cr4 && a.dr7 == b.dr7 && a.rsp == b.rsp && a.rip == b.rip
            && a.rflags == b.rflags && a.es == b.es && a.cs == b.cs && a.ss == b.ss && a.ds == b.ds && a.fs == b.fs
            && a.gs == b.gs && a.ldtr == b.ldtr && a.tr == b.tr && a.gdtrBase == b.gdtrBase
            && a.gdtrLimit == b.gdtrLimit && a.idtrBase == b.idtrBase && a.idtrLimit == b.idtrLimit
            && a.debugCtl == b.debugCtl && a.sysenterCS == b.sysenterCS && a.sysenterESP == b.sysenterESP
            && a.sysenterEIP == b.sysenterEIP && a.perfGlobalCtrl == b.perfGlobalCtrl && a.pat == b.pat
            && a.efer == b.efer && a.bndcfgs == b.bndcfgs && a.activityState == b.activityState
            && a.interruptibility == b.interruptibility && a.pendingDebugExceptions == b.pendingDebugExceptions
            && a.vmcsLinkPointer == b.vmcsLinkPointer && a.pdpte == b.pdpte
    }
}

/// The VM-entry settings and processor facts the guest-state checks consult.
public struct GuestStateCheckContext: Sendable {
    // VM-entry controls (§25.8.1).
    public var ia32eModeGuest = false
    public var loadDebugControls = true
    public var loadPerfGlobalCtrl = false
    public var loadPAT = false
    public var loadEFER = false
    public var loadBNDCFGS = false
    public var entryToSMM = false
    // Execution controls.
    public var unrestrictedGuest = false
    public var enableEPT = false
    public var vmcsShadowing = false
    public var virtualNMIs = false
    /// VM-entry interruption-information field (§25.8.3): valid 31, type 10:8, vector 7:0.
    public var entryInterruptionInfo: UInt32 = 0
    // Processor facts (capability MSRs, CPUID).
    public var cr0Fixed0: UInt64 = 0x8000_0021
    public var cr0Fixed1: UInt64 = 0xFFFF_FFFF
    public var cr4Fixed0: UInt64 = 0x2000
    public var cr4Fixed1: UInt64 = 0x3727FF
    public var physicalAddressBits = 40
    public var linearAddressBits = 48
    /// Activity states IA32_VMX_MISC reports beyond active (bit 0 HLT, 1 shutdown, 2 wait-for-SIPI).
    public var supportedActivityStates: UInt32 = 0b111
    /// IA32_EFER bits the processor implements (SCE, LME, LMA, NXE).
    public var eferSupported: UInt64 = (1 << 0) | (1 << 8) | (1 << 10) | (1 << 11)
    /// IA32_DEBUGCTL bits the processor implements (LBR 0, BTF 1).
    public var debugCtlSupported: UInt64 = 0b11
    /// The VMCS revision identifier (for the link-pointer check).
    public var vmcsRevision: UInt32 = 1
    /// Reads a guest-physical 32-bit word or 64-bit PDPTE for the link-pointer and PDPTE
    /// checks (nil: the address is not readable memory).
    public var readPhysical32: @Sendable (UInt64) -> UInt32? = { _ in nil }
    public var readPhysical64: @Sendable (UInt64) -> UInt64? = { _ in nil }

    public init() {}

    var injecting: Bool { entryInterruptionInfo & (1 << 31) != 0 }
    var injectionType: UInt32 { (entryInterruptionInfo >> 8) & 7 }
    var injectionVector: UInt32 { entryInterruptionInfo & 0xFF }
}
