/// The table indices of the fields VM entry loads and VM exit saves (SDM Vol. 3C §25.4 guest
/// state, §25.6 execution controls), looked up once, and the field sets that decide how much of
/// a VMCS an entry must load into a processor that still holds its guest state (`Processor`'s
/// `loadForEntry`). L0 reads the fields every exit it resolves touches through the same
/// indices (`VMCS.subscript(index:)`), and nested VMX the guest-state fields a virtual VM exit
/// and the VMCS02 update write.
public final class VMCSLayout: @unchecked Sendable {
    public static let shared = VMCSLayout()

    /// The four guest-state fields of one segment register (§25.4.1).
    public struct Segment: Sendable { public let selector: Int, base: Int, limit: Int, accessRights: Int }

    public let cr0: Int, cr3: Int, cr4: Int, dr7: Int, rsp: Int, rip: Int, rflags: Int
    /// ES … GS, then LDTR (6) and TR (7).
    let segments: UnsafeMutablePointer<Segment>
    public var es: Segment { segments[0] }
    public var cs: Segment { segments[1] }
    public var ss: Segment { segments[2] }
    public var ds: Segment { segments[3] }
    public var fs: Segment { segments[4] }
    public var gs: Segment { segments[5] }
    public var ldtr: Segment { segments[6] }
    public var tr: Segment { segments[7] }
    public let gdtrBase: Int, gdtrLimit: Int, idtrBase: Int, idtrLimit: Int
    public let sysenterCS: Int, sysenterESP: Int, sysenterEIP: Int, debugCtl: Int, pat: Int, efer: Int
    public let activity: Int, pendingDebugExceptions: Int
    let interruptibility: Int
    /// The MSR-list counts VM entry and exit read (§25.7.2, §25.8.2).
    public let entryMSRLoadCount: Int, exitMSRStoreCount: Int, exitMSRLoadCount: Int
    let pdpte0: Int, pdpte1: Int, pdpte2: Int, pdpte3: Int
    let entryControls: Int
    /// The exit-information fields VM exit writes (§25.9, §28.2).
    let exitReason: Int
    public let exitQualification: Int
    let guestLinearAddress: Int, guestPhysicalAddress: Int
    public let exitInstructionLength: Int
    let exitInstructionInformation: Int, exitInterruptionInformation: Int
    let exitInterruptionErrorCode: Int, idtVectoringInformation: Int, idtVectoringErrorCode: Int

    /// Guest fields an entry loads one by one into a processor that holds the rest.
    let fastGuest: DirtyFields
    /// RIP alone: what L0 changes after most exits it resolves (it skips the instruction).
    let ripOnly: DirtyFields
    /// Fields whose change needs the whole guest state loaded (what §27.3.2 loads, and the
    /// VM-entry controls that say how).
    let slowGuest: DirtyFields
    /// Fields `unpackControls` reads.
    let controls: DirtyFields

    private init() {
        func k(_ f: VMCSField) -> Int { VMCSFieldTable.index(of: f)! }
        cr0 = k(.guestCR0); cr3 = k(.guestCR3); cr4 = k(.guestCR4); dr7 = k(.guestDR7)
        rsp = k(.guestRSP); rip = k(.guestRIP); rflags = k(.guestRFLAGS)
        let all = GuestStateArea.segmentFields.map(\.1) + [GuestStateArea.ldtrFields, GuestStateArea.trFields]
        segments = .allocate(capacity: all.count)
        for (n, f) in all.enumerated() {
            (segments + n).initialize(to: Segment(selector: k(f.selector), base: k(f.base), limit: k(f.limit),
                                                  accessRights: k(f.accessRights)))
        }
        gdtrBase = k(.guestGDTRBase); gdtrLimit = k(.guestGDTRLimit); idtrBase = k(.guestIDTRBase); idtrLimit = k(.guestIDTRLimit)
        sysenterCS = k(.guestIA32SysenterCS); sysenterESP = k(.guestIA32SysenterESP); sysenterEIP = k(.guestIA32SysenterEIP)
        debugCtl = k(.guestIA32DebugCtl); pat = k(.guestIA32PAT); efer = k(.guestIA32EFER)
        activity = k(.guestActivityState); interruptibility = k(.guestInterruptibilityState)
        pendingDebugExceptions = k(.guestPendingDebugExceptions)
        entryMSRLoadCount = k(.entryMSRLoadCount); exitMSRStoreCount = k(.exitMSRStoreCount); exitMSRLoadCount = k(.exitMSRLoadCount)
        pdpte0 = k(.guestPDPTE0); pdpte1 = k(.guestPDPTE1); pdpte2 = k(.guestPDPTE2); pdpte3 = k(.guestPDPTE3)
        entryControls = k(.entryControls)
        exitReason = k(.exitReason); exitQualification = k(.exitQualification)
        guestLinearAddress = k(.guestLinearAddress); guestPhysicalAddress = k(.guestPhysicalAddress)
        exitInstructionLength = k(.exitInstructionLength); exitInstructionInformation = k(.exitInstructionInformation)
        exitInterruptionInformation = k(.exitInterruptionInformation); exitInterruptionErrorCode = k(.exitInterruptionErrorCode)
        idtVectoringInformation = k(.idtVectoringInformation); idtVectoringErrorCode = k(.idtVectoringErrorCode)

        let segmentFields = all.flatMap { [$0.selector, $0.base, $0.limit, $0.accessRights] }
        let fast: [VMCSField] = [.guestRIP, .guestRSP, .guestRFLAGS, .guestInterruptibilityState, .guestActivityState]
        let slow: [VMCSField] = segmentFields + [.guestCR0, .guestCR3, .guestCR4, .guestDR7, .guestGDTRBase, .guestGDTRLimit,
            .guestIDTRBase, .guestIDTRLimit, .guestIA32SysenterCS, .guestIA32SysenterESP, .guestIA32SysenterEIP,
            .guestIA32DebugCtl, .guestIA32PAT, .guestIA32EFER, .guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3,
            .entryControls]
        fastGuest = DirtyFields(fast)
        ripOnly = DirtyFields([.guestRIP])
        slowGuest = DirtyFields(slow)
        controls = DirtyFields([.pinBasedControls, .primaryProcessorBasedControls, .secondaryProcessorBasedControls,
            .exitControls, .eptPointer, .virtualProcessorIdentifier, .exceptionBitmap, .pageFaultErrorCodeMask,
            .pageFaultErrorCodeMatch, .cr0GuestHostMask, .cr0ReadShadow, .cr4GuestHostMask, .cr4ReadShadow,
            .cr3TargetCount, .cr3Target0, .cr3Target1, .cr3Target2, .cr3Target3, .ioBitmapA, .ioBitmapB, .msrBitmaps,
            .tscOffset, .vmcsLinkPointer, .vmreadBitmapAddress, .vmwriteBitmapAddress, .virtualAPICAddress,
            .tprThreshold, .apicAccessAddress])
    }
}

extension VMCS {
    /// A value the processor saves into field index `k` (§28.3): a change counts for every
    /// consumer but the processor, which holds it already.
    @inline(__always)
    func storeSaved(_ k: Int, _ value: UInt64) {
        if values[k] != value {
            values[k] = value
            let w = k >> 6, bit = UInt64(1) << UInt64(k & 63)
            dirty[DirtyFields.Consumer.entryChecks.rawValue * DirtyFields.words + w] |= bit
            dirty[DirtyFields.Consumer.vmcs02.rawValue * DirtyFields.words + w] |= bit
        }
    }
}
