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
    /// `interruptibility`, typed (reserved bits included, for the checks on them).
    public var blocking: InterruptibilityState { InterruptibilityState(rawValue: interruptibility) }
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

/// The VM-entry settings and processor facts the guest-state checks consult: the controls
/// of the VMCS being entered and the capabilities it is checked against (the processor's, or
/// those L0 offers a guest hypervisor).
public struct GuestStateCheckContext: Sendable {
    /// Readers of 32-bit words and 64-bit PDPTEs in the memory the checks consult.
    public typealias Readers = (@Sendable (UInt64) -> UInt32?, @Sendable (UInt64) -> UInt64?)

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
    /// The VM-entry interruption-information field (§25.8.3).
    public var entryInterruption = InterruptionInformation.none
    // Capabilities (capability MSRs, CPUID).
    public var cr0Fixed0 = VMXCapabilities.defaultCR0Fixed0
    public var cr0Fixed1 = VMXCapabilities.defaultCR0Fixed1
    public var cr4Fixed0 = VMXCapabilities.defaultCR4Fixed0
    public var cr4Fixed1 = VMXCapabilities.defaultCR4Fixed1
    public var physicalAddressBits = VMXCapabilities.defaultPhysicalAddressBits
    public var linearAddressBits = VMXCapabilities.defaultLinearAddressBits
    /// Activity states IA32_VMX_MISC reports beyond active (bit 0 HLT, 1 shutdown, 2 wait-for-SIPI).
    public var supportedActivityStates: UInt32 = 0b111
    /// IA32_EFER bits the processor implements.
    public var eferSupported = VMXCapabilities.defaultEFERSupported
    /// IA32_DEBUGCTL bits the processor implements.
    public var debugCtlSupported = VMXCapabilities.defaultDebugCtlSupported
    /// The VMCS revision identifier (for the link-pointer check).
    public var vmcsRevision: UInt32 = VMXCapabilities.revisionIdentifier
    /// All the capabilities, for the control and host-state rows.
    public var capabilities = VMXCapabilities()
    /// Reads a guest-physical 32-bit word or 64-bit PDPTE for the link-pointer and PDPTE
    /// checks (nil: the address is not readable memory).
    public var readPhysical32: @Sendable (UInt64) -> UInt32? = { _ in nil }
    public var readPhysical64: @Sendable (UInt64) -> UInt64? = { _ in nil }

    public init() {}

    /// The context for entering `v` under `caps` (§27.3.1 reads these controls).
    public init(vmcs v: VMCS, capabilities caps: VMXCapabilities,
                readPhysical32: @escaping @Sendable (UInt64) -> UInt32?,
                readPhysical64: @escaping @Sendable (UInt64) -> UInt64?) {
        let entry = v.entryControls, secondary = v.secondary
        ia32eModeGuest = entry.contains(.ia32eModeGuest)
        loadDebugControls = entry.contains(.loadDebugControls)
        loadPAT = entry.contains(.loadPAT)
        loadEFER = entry.contains(.loadEFER)
        entryToSMM = entry.contains(.entryToSMM)
        unrestrictedGuest = secondary.contains(.unrestrictedGuest)
        enableEPT = secondary.contains(.enableEPT)
        vmcsShadowing = secondary.contains(.vmcsShadowing)
        virtualNMIs = v.pin.contains(.virtualNMIs)
        entryInterruption = v.entryInterruption
        cr0Fixed0 = caps.cr0Fixed0
        cr0Fixed1 = caps.cr0Fixed1
        cr4Fixed0 = caps.cr4Fixed0
        cr4Fixed1 = caps.cr4Fixed1
        physicalAddressBits = caps.physicalAddressBits
        linearAddressBits = caps.linearAddressBits
        supportedActivityStates = caps.supportedActivityStates
        eferSupported = caps.eferSupported
        debugCtlSupported = caps.debugCtlSupported
        vmcsRevision = VMXCapabilities.revisionIdentifier
        capabilities = caps
        self.readPhysical32 = readPhysical32
        self.readPhysical64 = readPhysical64
    }

    /// A row read memory through the readers (`VMEntryCheckCache` runs it at every entry).
    var readMemory = false
    mutating func read32(_ a: UInt64) -> UInt32? {
        readMemory = true
        return readPhysical32(a)
    }
    mutating func read64(_ a: UInt64) -> UInt64? {
        readMemory = true
        return readPhysical64(a)
    }

    var injecting: Bool { entryInterruption.isValid }
    var injectionType: InterruptionType? { entryInterruption.type }
    var injectionVector: UInt8 { entryInterruption.vector }
}

extension GuestStateArea {
    /// The VMCS fields of a segment register (§25.4.1).
    public struct SegmentFields: Sendable {
        public let selector: VMCSField, base: VMCSField, limit: VMCSField, accessRights: VMCSField
    }

    /// ES … GS in register order, then LDTR and TR.
    public static let segmentFields: [(SegmentRegisterIndex, SegmentFields)] = [
        (.es, SegmentFields(selector: .guestESSelector, base: .guestESBase, limit: .guestESLimit, accessRights: .guestESAccessRights)),
        (.cs, SegmentFields(selector: .guestCSSelector, base: .guestCSBase, limit: .guestCSLimit, accessRights: .guestCSAccessRights)),
        (.ss, SegmentFields(selector: .guestSSSelector, base: .guestSSBase, limit: .guestSSLimit, accessRights: .guestSSAccessRights)),
        (.ds, SegmentFields(selector: .guestDSSelector, base: .guestDSBase, limit: .guestDSLimit, accessRights: .guestDSAccessRights)),
        (.fs, SegmentFields(selector: .guestFSSelector, base: .guestFSBase, limit: .guestFSLimit, accessRights: .guestFSAccessRights)),
        (.gs, SegmentFields(selector: .guestGSSelector, base: .guestGSBase, limit: .guestGSLimit, accessRights: .guestGSAccessRights)),
    ]
    public static let ldtrFields = SegmentFields(selector: .guestLDTRSelector, base: .guestLDTRBase, limit: .guestLDTRLimit,
                                                 accessRights: .guestLDTRAccessRights)
    public static let trFields = SegmentFields(selector: .guestTRSelector, base: .guestTRBase, limit: .guestTRLimit,
                                               accessRights: .guestTRAccessRights)

    public static func segment(_ v: VMCS, _ f: SegmentFields) -> Segment {
        Segment(selector: UInt16(truncatingIfNeeded: v[f.selector]), base: v[f.base],
                limit: UInt32(truncatingIfNeeded: v[f.limit]), accessRights: UInt32(truncatingIfNeeded: v[f.accessRights]))
    }

    public static func store(_ s: Segment, _ f: SegmentFields, into v: VMCS) {
        v[f.selector] = UInt64(s.selector); v[f.base] = s.base; v[f.limit] = UInt64(s.limit); v[f.accessRights] = UInt64(s.accessRights)
    }

    /// The guest-state area of `v` (§25.4).
    public init(_ v: VMCS) {
        self.init()
        cr0 = v[.guestCR0]; cr3 = v[.guestCR3]; cr4 = v[.guestCR4]; dr7 = v[.guestDR7]
        rsp = v[.guestRSP]; rip = v[.guestRIP]; rflags = v[.guestRFLAGS]
        for (k, f) in Self.segmentFields { self[segment: k] = Self.segment(v, f) }
        ldtr = Self.segment(v, Self.ldtrFields)
        tr = Self.segment(v, Self.trFields)
        gdtrBase = v[.guestGDTRBase]; gdtrLimit = UInt32(truncatingIfNeeded: v[.guestGDTRLimit])
        idtrBase = v[.guestIDTRBase]; idtrLimit = UInt32(truncatingIfNeeded: v[.guestIDTRLimit])
        debugCtl = v[.guestIA32DebugCtl]
        sysenterCS = UInt32(truncatingIfNeeded: v[.guestIA32SysenterCS])
        sysenterESP = v[.guestIA32SysenterESP]; sysenterEIP = v[.guestIA32SysenterEIP]
        pat = v[.guestIA32PAT]; efer = v[.guestIA32EFER]
        activityState = UInt32(truncatingIfNeeded: v[.guestActivityState])
        interruptibility = UInt32(truncatingIfNeeded: v[.guestInterruptibilityState])
        pendingDebugExceptions = v[.guestPendingDebugExceptions]
        vmcsLinkPointer = v[.vmcsLinkPointer]
        pdpte = (v[.guestPDPTE0], v[.guestPDPTE1], v[.guestPDPTE2], v[.guestPDPTE3])
    }

    /// Writes this state into `v`'s guest-state area (the inverse of `init(_:)`).
    public func store(into v: VMCS) {
        v[.guestCR0] = cr0; v[.guestCR3] = cr3; v[.guestCR4] = cr4; v[.guestDR7] = dr7
        v[.guestRSP] = rsp; v[.guestRIP] = rip; v[.guestRFLAGS] = rflags
        for (k, f) in Self.segmentFields { Self.store(self[segment: k], f, into: v) }
        Self.store(ldtr, Self.ldtrFields, into: v)
        Self.store(tr, Self.trFields, into: v)
        v[.guestGDTRBase] = gdtrBase; v[.guestGDTRLimit] = UInt64(gdtrLimit)
        v[.guestIDTRBase] = idtrBase; v[.guestIDTRLimit] = UInt64(idtrLimit)
        v[.guestIA32DebugCtl] = debugCtl
        v[.guestIA32SysenterCS] = UInt64(sysenterCS)
        v[.guestIA32SysenterESP] = sysenterESP; v[.guestIA32SysenterEIP] = sysenterEIP
        v[.guestIA32PAT] = pat; v[.guestIA32EFER] = efer
        v[.guestActivityState] = UInt64(activityState)
        v[.guestInterruptibilityState] = UInt64(interruptibility)
        v[.guestPendingDebugExceptions] = pendingDebugExceptions
        v[.vmcsLinkPointer] = vmcsLinkPointer
        v[.guestPDPTE0] = pdpte.0; v[.guestPDPTE1] = pdpte.1; v[.guestPDPTE2] = pdpte.2; v[.guestPDPTE3] = pdpte.3
    }
}

extension GuestStateArea {
    /// Segment register k of the VMCS order ES, CS, SS, DS, FS, GS, LDTR, TR.
    private mutating func reloadSegment(_ k: Int, from v: VMCS) {
        switch k {
        case 6: ldtr = Self.segment(v, Self.ldtrFields)
        case 7: tr = Self.segment(v, Self.trFields)
        default:
            let (r, f) = Self.segmentFields[k]
            self[segment: r] = Self.segment(v, f)
        }
    }

    /// Takes field `f` of `v` again (the others are unchanged): what `init(_:)` would read.
    mutating func reload(_ f: VMCSField, from v: VMCS) {
        let e = f.encoding & ~1
        switch e {
        case 0x0800...0x080E: reloadSegment(Int(e - 0x0800) >> 1, from: v)
        case 0x4800...0x480E: reloadSegment(Int(e - 0x4800) >> 1, from: v)
        case 0x4814...0x4822: reloadSegment(Int(e - 0x4814) >> 1, from: v)
        case 0x6806...0x6814: reloadSegment(Int(e - 0x6806) >> 1, from: v)
        default: break
        }
        switch f.fullField {
        case .guestCR0: cr0 = v[.guestCR0]
        case .guestCR3: cr3 = v[.guestCR3]
        case .guestCR4: cr4 = v[.guestCR4]
        case .guestDR7: dr7 = v[.guestDR7]
        case .guestRSP: rsp = v[.guestRSP]
        case .guestRIP: rip = v[.guestRIP]
        case .guestRFLAGS: rflags = v[.guestRFLAGS]
        case .guestGDTRBase: gdtrBase = v[.guestGDTRBase]
        case .guestGDTRLimit: gdtrLimit = UInt32(truncatingIfNeeded: v[.guestGDTRLimit])
        case .guestIDTRBase: idtrBase = v[.guestIDTRBase]
        case .guestIDTRLimit: idtrLimit = UInt32(truncatingIfNeeded: v[.guestIDTRLimit])
        case .guestIA32DebugCtl: debugCtl = v[.guestIA32DebugCtl]
        case .guestIA32SysenterCS: sysenterCS = UInt32(truncatingIfNeeded: v[.guestIA32SysenterCS])
        case .guestIA32SysenterESP: sysenterESP = v[.guestIA32SysenterESP]
        case .guestIA32SysenterEIP: sysenterEIP = v[.guestIA32SysenterEIP]
        case .guestIA32PAT: pat = v[.guestIA32PAT]
        case .guestIA32EFER: efer = v[.guestIA32EFER]
        case .guestActivityState: activityState = UInt32(truncatingIfNeeded: v[.guestActivityState])
        case .guestInterruptibilityState: interruptibility = UInt32(truncatingIfNeeded: v[.guestInterruptibilityState])
        case .guestPendingDebugExceptions: pendingDebugExceptions = v[.guestPendingDebugExceptions]
        case .vmcsLinkPointer: vmcsLinkPointer = v[.vmcsLinkPointer]
        case .guestPDPTE0: pdpte.0 = v[.guestPDPTE0]
        case .guestPDPTE1: pdpte.1 = v[.guestPDPTE1]
        case .guestPDPTE2: pdpte.2 = v[.guestPDPTE2]
        case .guestPDPTE3: pdpte.3 = v[.guestPDPTE3]
        default: break
        }
    }
}
