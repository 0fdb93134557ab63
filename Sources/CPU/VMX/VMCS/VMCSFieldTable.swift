/// Every VMCS field of SDM Vol. 3D Appendix B ("Field Encoding in VMCS") as one table:
/// encoding, Swift name, the SDM's name, and whether this processor supports it (fields of
/// features it does not implement are listed but unsupported: VMREAD/VMWRITE of them fail with
/// VM-instruction error 12, as on a processor without the feature). Width and type come from
/// the encoding (`VMCSField`).
public enum VMCSFieldTable {
    public struct Entry: Sendable {
        public let field: VMCSField
        public let name: String
        public let supported: Bool
    }

    public static let entries: [Entry] = [
        Entry(field: .virtualProcessorIdentifier, name: "virtual-processor identifier (VPID)", supported: true),
        Entry(field: .postedInterruptNotificationVector, name: "posted-interrupt notification vector", supported: false),
        Entry(field: .eptpIndex, name: "EPTP index", supported: false),
        Entry(field: .guestESSelector, name: "guest ES selector", supported: true),
        Entry(field: .guestCSSelector, name: "guest CS selector", supported: true),
        Entry(field: .guestSSSelector, name: "guest SS selector", supported: true),
        Entry(field: .guestDSSelector, name: "guest DS selector", supported: true),
        Entry(field: .guestFSSelector, name: "guest FS selector", supported: true),
        Entry(field: .guestGSSelector, name: "guest GS selector", supported: true),
        Entry(field: .guestLDTRSelector, name: "guest LDTR selector", supported: true),
        Entry(field: .guestTRSelector, name: "guest TR selector", supported: true),
        Entry(field: .guestInterruptStatus, name: "guest interrupt status", supported: false),
        Entry(field: .pmlIndex, name: "PML index", supported: false),
        Entry(field: .hostESSelector, name: "host ES selector", supported: true),
        Entry(field: .hostCSSelector, name: "host CS selector", supported: true),
        Entry(field: .hostSSSelector, name: "host SS selector", supported: true),
        Entry(field: .hostDSSelector, name: "host DS selector", supported: true),
        Entry(field: .hostFSSelector, name: "host FS selector", supported: true),
        Entry(field: .hostGSSelector, name: "host GS selector", supported: true),
        Entry(field: .hostTRSelector, name: "host TR selector", supported: true),
        Entry(field: .ioBitmapA, name: "address of I/O bitmap A", supported: true),
        Entry(field: .ioBitmapB, name: "address of I/O bitmap B", supported: true),
        Entry(field: .msrBitmaps, name: "address of MSR bitmaps", supported: true),
        Entry(field: .exitMSRStoreAddress, name: "VM-exit MSR-store address", supported: true),
        Entry(field: .exitMSRLoadAddress, name: "VM-exit MSR-load address", supported: true),
        Entry(field: .entryMSRLoadAddress, name: "VM-entry MSR-load address", supported: true),
        Entry(field: .executiveVMCSPointer, name: "executive-VMCS pointer", supported: true),
        Entry(field: .pmlAddress, name: "PML address", supported: false),
        Entry(field: .tscOffset, name: "TSC offset", supported: true),
        Entry(field: .virtualAPICAddress, name: "virtual-APIC address", supported: true),
        Entry(field: .apicAccessAddress, name: "APIC-access address", supported: true),
        Entry(field: .postedInterruptDescriptorAddress, name: "posted-interrupt descriptor address", supported: false),
        Entry(field: .vmFunctionControls, name: "VM-function controls", supported: false),
        Entry(field: .eptPointer, name: "EPT pointer", supported: true),
        Entry(field: .eoiExitBitmap0, name: "EOI-exit bitmap 0", supported: false),
        Entry(field: .eoiExitBitmap1, name: "EOI-exit bitmap 1", supported: false),
        Entry(field: .eoiExitBitmap2, name: "EOI-exit bitmap 2", supported: false),
        Entry(field: .eoiExitBitmap3, name: "EOI-exit bitmap 3", supported: false),
        Entry(field: .eptpListAddress, name: "EPTP-list address", supported: false),
        Entry(field: .vmreadBitmapAddress, name: "VMREAD-bitmap address", supported: true),
        Entry(field: .vmwriteBitmapAddress, name: "VMWRITE-bitmap address", supported: true),
        Entry(field: .virtualizationExceptionInformationAddress, name: "virtualization-exception information address", supported: false),
        Entry(field: .xssExitingBitmap, name: "XSS-exiting bitmap", supported: false),
        Entry(field: .enclsExitingBitmap, name: "ENCLS-exiting bitmap", supported: false),
        Entry(field: .subPagePermissionTablePointer, name: "sub-page-permission-table pointer", supported: false),
        Entry(field: .tscMultiplier, name: "TSC multiplier", supported: false),
        Entry(field: .tertiaryProcessorBasedControls, name: "tertiary processor-based VM-execution controls", supported: false),
        Entry(field: .guestPhysicalAddress, name: "guest-physical address", supported: true),
        Entry(field: .vmcsLinkPointer, name: "VMCS link pointer", supported: true),
        Entry(field: .guestIA32DebugCtl, name: "guest IA32_DEBUGCTL", supported: true),
        Entry(field: .guestIA32PAT, name: "guest IA32_PAT", supported: true),
        Entry(field: .guestIA32EFER, name: "guest IA32_EFER", supported: true),
        Entry(field: .guestIA32PerfGlobalCtrl, name: "guest IA32_PERF_GLOBAL_CTRL", supported: false),
        Entry(field: .guestPDPTE0, name: "guest PDPTE0", supported: true),
        Entry(field: .guestPDPTE1, name: "guest PDPTE1", supported: true),
        Entry(field: .guestPDPTE2, name: "guest PDPTE2", supported: true),
        Entry(field: .guestPDPTE3, name: "guest PDPTE3", supported: true),
        Entry(field: .guestIA32BNDCFGS, name: "guest IA32_BNDCFGS", supported: false),
        Entry(field: .guestIA32RTITCtl, name: "guest IA32_RTIT_CTL", supported: false),
        Entry(field: .hostIA32PAT, name: "host IA32_PAT", supported: true),
        Entry(field: .hostIA32EFER, name: "host IA32_EFER", supported: true),
        Entry(field: .hostIA32PerfGlobalCtrl, name: "host IA32_PERF_GLOBAL_CTRL", supported: false),
        Entry(field: .pinBasedControls, name: "pin-based VM-execution controls", supported: true),
        Entry(field: .primaryProcessorBasedControls, name: "primary processor-based VM-execution controls", supported: true),
        Entry(field: .exceptionBitmap, name: "exception bitmap", supported: true),
        Entry(field: .pageFaultErrorCodeMask, name: "page-fault error-code mask", supported: true),
        Entry(field: .pageFaultErrorCodeMatch, name: "page-fault error-code match", supported: true),
        Entry(field: .cr3TargetCount, name: "CR3-target count", supported: true),
        Entry(field: .exitControls, name: "VM-exit controls", supported: true),
        Entry(field: .exitMSRStoreCount, name: "VM-exit MSR-store count", supported: true),
        Entry(field: .exitMSRLoadCount, name: "VM-exit MSR-load count", supported: true),
        Entry(field: .entryControls, name: "VM-entry controls", supported: true),
        Entry(field: .entryMSRLoadCount, name: "VM-entry MSR-load count", supported: true),
        Entry(field: .entryInterruptionInformation, name: "VM-entry interruption-information field", supported: true),
        Entry(field: .entryExceptionErrorCode, name: "VM-entry exception error code", supported: true),
        Entry(field: .entryInstructionLength, name: "VM-entry instruction length", supported: true),
        Entry(field: .tprThreshold, name: "TPR threshold", supported: true),
        Entry(field: .secondaryProcessorBasedControls, name: "secondary processor-based VM-execution controls", supported: true),
        Entry(field: .pleGap, name: "PLE_Gap", supported: false),
        Entry(field: .pleWindow, name: "PLE_Window", supported: false),
        Entry(field: .vmInstructionError, name: "VM-instruction error", supported: true),
        Entry(field: .exitReason, name: "exit reason", supported: true),
        Entry(field: .exitInterruptionInformation, name: "VM-exit interruption information", supported: true),
        Entry(field: .exitInterruptionErrorCode, name: "VM-exit interruption error code", supported: true),
        Entry(field: .idtVectoringInformation, name: "IDT-vectoring information field", supported: true),
        Entry(field: .idtVectoringErrorCode, name: "IDT-vectoring error code", supported: true),
        Entry(field: .exitInstructionLength, name: "VM-exit instruction length", supported: true),
        Entry(field: .exitInstructionInformation, name: "VM-exit instruction information", supported: true),
        Entry(field: .guestESLimit, name: "guest ES limit", supported: true),
        Entry(field: .guestCSLimit, name: "guest CS limit", supported: true),
        Entry(field: .guestSSLimit, name: "guest SS limit", supported: true),
        Entry(field: .guestDSLimit, name: "guest DS limit", supported: true),
        Entry(field: .guestFSLimit, name: "guest FS limit", supported: true),
        Entry(field: .guestGSLimit, name: "guest GS limit", supported: true),
        Entry(field: .guestLDTRLimit, name: "guest LDTR limit", supported: true),
        Entry(field: .guestTRLimit, name: "guest TR limit", supported: true),
        Entry(field: .guestGDTRLimit, name: "guest GDTR limit", supported: true),
        Entry(field: .guestIDTRLimit, name: "guest IDTR limit", supported: true),
        Entry(field: .guestESAccessRights, name: "guest ES access rights", supported: true),
        Entry(field: .guestCSAccessRights, name: "guest CS access rights", supported: true),
        Entry(field: .guestSSAccessRights, name: "guest SS access rights", supported: true),
        Entry(field: .guestDSAccessRights, name: "guest DS access rights", supported: true),
        Entry(field: .guestFSAccessRights, name: "guest FS access rights", supported: true),
        Entry(field: .guestGSAccessRights, name: "guest GS access rights", supported: true),
        Entry(field: .guestLDTRAccessRights, name: "guest LDTR access rights", supported: true),
        Entry(field: .guestTRAccessRights, name: "guest TR access rights", supported: true),
        Entry(field: .guestInterruptibilityState, name: "guest interruptibility state", supported: true),
        Entry(field: .guestActivityState, name: "guest activity state", supported: true),
        Entry(field: .guestSMBASE, name: "guest SMBASE", supported: true),
        Entry(field: .guestIA32SysenterCS, name: "guest IA32_SYSENTER_CS", supported: true),
        Entry(field: .vmxPreemptionTimerValue, name: "VMX-preemption timer value", supported: true),
        Entry(field: .hostIA32SysenterCS, name: "host IA32_SYSENTER_CS", supported: true),
        Entry(field: .cr0GuestHostMask, name: "CR0 guest/host mask", supported: true),
        Entry(field: .cr4GuestHostMask, name: "CR4 guest/host mask", supported: true),
        Entry(field: .cr0ReadShadow, name: "CR0 read shadow", supported: true),
        Entry(field: .cr4ReadShadow, name: "CR4 read shadow", supported: true),
        Entry(field: .cr3Target0, name: "CR3-target value 0", supported: true),
        Entry(field: .cr3Target1, name: "CR3-target value 1", supported: true),
        Entry(field: .cr3Target2, name: "CR3-target value 2", supported: true),
        Entry(field: .cr3Target3, name: "CR3-target value 3", supported: true),
        Entry(field: .exitQualification, name: "exit qualification", supported: true),
        Entry(field: .ioRCX, name: "I/O RCX", supported: true),
        Entry(field: .ioRSI, name: "I/O RSI", supported: true),
        Entry(field: .ioRDI, name: "I/O RDI", supported: true),
        Entry(field: .ioRIP, name: "I/O RIP", supported: true),
        Entry(field: .guestLinearAddress, name: "guest-linear address", supported: true),
        Entry(field: .guestCR0, name: "guest CR0", supported: true),
        Entry(field: .guestCR3, name: "guest CR3", supported: true),
        Entry(field: .guestCR4, name: "guest CR4", supported: true),
        Entry(field: .guestESBase, name: "guest ES base", supported: true),
        Entry(field: .guestCSBase, name: "guest CS base", supported: true),
        Entry(field: .guestSSBase, name: "guest SS base", supported: true),
        Entry(field: .guestDSBase, name: "guest DS base", supported: true),
        Entry(field: .guestFSBase, name: "guest FS base", supported: true),
        Entry(field: .guestGSBase, name: "guest GS base", supported: true),
        Entry(field: .guestLDTRBase, name: "guest LDTR base", supported: true),
        Entry(field: .guestTRBase, name: "guest TR base", supported: true),
        Entry(field: .guestGDTRBase, name: "guest GDTR base", supported: true),
        Entry(field: .guestIDTRBase, name: "guest IDTR base", supported: true),
        Entry(field: .guestDR7, name: "guest DR7", supported: true),
        Entry(field: .guestRSP, name: "guest RSP", supported: true),
        Entry(field: .guestRIP, name: "guest RIP", supported: true),
        Entry(field: .guestRFLAGS, name: "guest RFLAGS", supported: true),
        Entry(field: .guestPendingDebugExceptions, name: "guest pending debug exceptions", supported: true),
        Entry(field: .guestIA32SysenterESP, name: "guest IA32_SYSENTER_ESP", supported: true),
        Entry(field: .guestIA32SysenterEIP, name: "guest IA32_SYSENTER_EIP", supported: true),
        Entry(field: .hostCR0, name: "host CR0", supported: true),
        Entry(field: .hostCR3, name: "host CR3", supported: true),
        Entry(field: .hostCR4, name: "host CR4", supported: true),
        Entry(field: .hostFSBase, name: "host FS base", supported: true),
        Entry(field: .hostGSBase, name: "host GS base", supported: true),
        Entry(field: .hostTRBase, name: "host TR base", supported: true),
        Entry(field: .hostGDTRBase, name: "host GDTR base", supported: true),
        Entry(field: .hostIDTRBase, name: "host IDTR base", supported: true),
        Entry(field: .hostIA32SysenterESP, name: "host IA32_SYSENTER_ESP", supported: true),
        Entry(field: .hostIA32SysenterEIP, name: "host IA32_SYSENTER_EIP", supported: true),
        Entry(field: .hostRSP, name: "host RSP", supported: true),
        Entry(field: .hostRIP, name: "host RIP", supported: true),
    ]

    /// Encoding → dense index into `entries` (the VMCS stores values by this index), as a flat
    /// array over the 15-bit encoding space so a field access is one load, not a hash lookup.
    /// Built once and never written, reached through a plain pointer (no array uniqueness or
    /// lazy-global checks per access: VM entry and exit touch ~150 fields).
    nonisolated(unsafe) public static let indexByEncoding: UnsafePointer<Int16> = {
        let p = UnsafeMutablePointer<Int16>.allocate(capacity: 0x8000)
        p.initialize(repeating: -1, count: 0x8000)
        for (k, e) in entries.enumerated() { p[Int(e.field.encoding)] = Int16(k) }
        return UnsafePointer(p)
    }()

    /// By encoding (bits 14:0): 1 where VMREAD/VMWRITE may name it — a supported field, or the
    /// high half of a supported 64-bit one (SDM Vol. 3C §25.11.2); 0 elsewhere. One load per
    /// access instead of finding the table entry.
    nonisolated(unsafe) public static let accessibleByEncoding: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x8000)
        p.initialize(repeating: 0, count: 0x8000)
        for e in entries where e.supported {
            p[Int(e.field.encoding)] = 1
            if e.field.width == .bits64 { p[Int(e.field.encoding | 1)] = 1 }
        }
        return UnsafePointer(p)
    }()

    /// The table index of `f` (either half of a 64-bit field), or nil for an encoding not in
    /// Appendix B.
    @inlinable @inline(__always)
    public static func index(of f: VMCSField, in table: UnsafePointer<Int16> = indexByEncoding) -> Int? {
        let e = f.encoding & ~1
        guard e < 0x8000 else { return nil }
        let k = table[Int(e)]
        return k < 0 ? nil : Int(k)
    }
    public static func entry(_ f: VMCSField) -> Entry? { index(of: f).map { entries[$0] } }

    /// The highest index (bits 9:1) of any supported field: IA32_VMX_VMCS_ENUM[9:1].
    public static var highestIndex: UInt32 {
        entries.filter(\.supported).map { ($0.field.encoding >> 1) & 0x1FF }.max() ?? 0
    }
}

extension VMCSField {
    @inlinable public static var virtualProcessorIdentifier: VMCSField { VMCSField(0x0000) }
    @inlinable public static var postedInterruptNotificationVector: VMCSField { VMCSField(0x0002) }
    @inlinable public static var eptpIndex: VMCSField { VMCSField(0x0004) }
    @inlinable public static var guestESSelector: VMCSField { VMCSField(0x0800) }
    @inlinable public static var guestCSSelector: VMCSField { VMCSField(0x0802) }
    @inlinable public static var guestSSSelector: VMCSField { VMCSField(0x0804) }
    @inlinable public static var guestDSSelector: VMCSField { VMCSField(0x0806) }
    @inlinable public static var guestFSSelector: VMCSField { VMCSField(0x0808) }
    @inlinable public static var guestGSSelector: VMCSField { VMCSField(0x080A) }
    @inlinable public static var guestLDTRSelector: VMCSField { VMCSField(0x080C) }
    @inlinable public static var guestTRSelector: VMCSField { VMCSField(0x080E) }
    @inlinable public static var guestInterruptStatus: VMCSField { VMCSField(0x0810) }
    @inlinable public static var pmlIndex: VMCSField { VMCSField(0x0812) }
    @inlinable public static var hostESSelector: VMCSField { VMCSField(0x0C00) }
    @inlinable public static var hostCSSelector: VMCSField { VMCSField(0x0C02) }
    @inlinable public static var hostSSSelector: VMCSField { VMCSField(0x0C04) }
    @inlinable public static var hostDSSelector: VMCSField { VMCSField(0x0C06) }
    @inlinable public static var hostFSSelector: VMCSField { VMCSField(0x0C08) }
    @inlinable public static var hostGSSelector: VMCSField { VMCSField(0x0C0A) }
    @inlinable public static var hostTRSelector: VMCSField { VMCSField(0x0C0C) }
    @inlinable public static var ioBitmapA: VMCSField { VMCSField(0x2000) }
    @inlinable public static var ioBitmapB: VMCSField { VMCSField(0x2002) }
    @inlinable public static var msrBitmaps: VMCSField { VMCSField(0x2004) }
    @inlinable public static var exitMSRStoreAddress: VMCSField { VMCSField(0x2006) }
    @inlinable public static var exitMSRLoadAddress: VMCSField { VMCSField(0x2008) }
    @inlinable public static var entryMSRLoadAddress: VMCSField { VMCSField(0x200A) }
    @inlinable public static var executiveVMCSPointer: VMCSField { VMCSField(0x200C) }
    @inlinable public static var pmlAddress: VMCSField { VMCSField(0x200E) }
    @inlinable public static var tscOffset: VMCSField { VMCSField(0x2010) }
    @inlinable public static var virtualAPICAddress: VMCSField { VMCSField(0x2012) }
    @inlinable public static var apicAccessAddress: VMCSField { VMCSField(0x2014) }
    @inlinable public static var postedInterruptDescriptorAddress: VMCSField { VMCSField(0x2016) }
    @inlinable public static var vmFunctionControls: VMCSField { VMCSField(0x2018) }
    @inlinable public static var eptPointer: VMCSField { VMCSField(0x201A) }
    @inlinable public static var eoiExitBitmap0: VMCSField { VMCSField(0x201C) }
    @inlinable public static var eoiExitBitmap1: VMCSField { VMCSField(0x201E) }
    @inlinable public static var eoiExitBitmap2: VMCSField { VMCSField(0x2020) }
    @inlinable public static var eoiExitBitmap3: VMCSField { VMCSField(0x2022) }
    @inlinable public static var eptpListAddress: VMCSField { VMCSField(0x2024) }
    @inlinable public static var vmreadBitmapAddress: VMCSField { VMCSField(0x2026) }
    @inlinable public static var vmwriteBitmapAddress: VMCSField { VMCSField(0x2028) }
    @inlinable public static var virtualizationExceptionInformationAddress: VMCSField { VMCSField(0x202A) }
    @inlinable public static var xssExitingBitmap: VMCSField { VMCSField(0x202C) }
    @inlinable public static var enclsExitingBitmap: VMCSField { VMCSField(0x202E) }
    @inlinable public static var subPagePermissionTablePointer: VMCSField { VMCSField(0x2030) }
    @inlinable public static var tscMultiplier: VMCSField { VMCSField(0x2032) }
    @inlinable public static var tertiaryProcessorBasedControls: VMCSField { VMCSField(0x2034) }
    @inlinable public static var guestPhysicalAddress: VMCSField { VMCSField(0x2400) }
    @inlinable public static var vmcsLinkPointer: VMCSField { VMCSField(0x2800) }
    @inlinable public static var guestIA32DebugCtl: VMCSField { VMCSField(0x2802) }
    @inlinable public static var guestIA32PAT: VMCSField { VMCSField(0x2804) }
    @inlinable public static var guestIA32EFER: VMCSField { VMCSField(0x2806) }
    @inlinable public static var guestIA32PerfGlobalCtrl: VMCSField { VMCSField(0x2808) }
    @inlinable public static var guestPDPTE0: VMCSField { VMCSField(0x280A) }
    @inlinable public static var guestPDPTE1: VMCSField { VMCSField(0x280C) }
    @inlinable public static var guestPDPTE2: VMCSField { VMCSField(0x280E) }
    @inlinable public static var guestPDPTE3: VMCSField { VMCSField(0x2810) }
    @inlinable public static var guestIA32BNDCFGS: VMCSField { VMCSField(0x2812) }
    @inlinable public static var guestIA32RTITCtl: VMCSField { VMCSField(0x2814) }
    @inlinable public static var hostIA32PAT: VMCSField { VMCSField(0x2C00) }
    @inlinable public static var hostIA32EFER: VMCSField { VMCSField(0x2C02) }
    @inlinable public static var hostIA32PerfGlobalCtrl: VMCSField { VMCSField(0x2C04) }
    @inlinable public static var pinBasedControls: VMCSField { VMCSField(0x4000) }
    @inlinable public static var primaryProcessorBasedControls: VMCSField { VMCSField(0x4002) }
    @inlinable public static var exceptionBitmap: VMCSField { VMCSField(0x4004) }
    @inlinable public static var pageFaultErrorCodeMask: VMCSField { VMCSField(0x4006) }
    @inlinable public static var pageFaultErrorCodeMatch: VMCSField { VMCSField(0x4008) }
    @inlinable public static var cr3TargetCount: VMCSField { VMCSField(0x400A) }
    @inlinable public static var exitControls: VMCSField { VMCSField(0x400C) }
    @inlinable public static var exitMSRStoreCount: VMCSField { VMCSField(0x400E) }
    @inlinable public static var exitMSRLoadCount: VMCSField { VMCSField(0x4010) }
    @inlinable public static var entryControls: VMCSField { VMCSField(0x4012) }
    @inlinable public static var entryMSRLoadCount: VMCSField { VMCSField(0x4014) }
    @inlinable public static var entryInterruptionInformation: VMCSField { VMCSField(0x4016) }
    @inlinable public static var entryExceptionErrorCode: VMCSField { VMCSField(0x4018) }
    @inlinable public static var entryInstructionLength: VMCSField { VMCSField(0x401A) }
    @inlinable public static var tprThreshold: VMCSField { VMCSField(0x401C) }
    @inlinable public static var secondaryProcessorBasedControls: VMCSField { VMCSField(0x401E) }
    @inlinable public static var pleGap: VMCSField { VMCSField(0x4020) }
    @inlinable public static var pleWindow: VMCSField { VMCSField(0x4022) }
    @inlinable public static var vmInstructionError: VMCSField { VMCSField(0x4400) }
    @inlinable public static var exitReason: VMCSField { VMCSField(0x4402) }
    @inlinable public static var exitInterruptionInformation: VMCSField { VMCSField(0x4404) }
    @inlinable public static var exitInterruptionErrorCode: VMCSField { VMCSField(0x4406) }
    @inlinable public static var idtVectoringInformation: VMCSField { VMCSField(0x4408) }
    @inlinable public static var idtVectoringErrorCode: VMCSField { VMCSField(0x440A) }
    @inlinable public static var exitInstructionLength: VMCSField { VMCSField(0x440C) }
    @inlinable public static var exitInstructionInformation: VMCSField { VMCSField(0x440E) }
    @inlinable public static var guestESLimit: VMCSField { VMCSField(0x4800) }
    @inlinable public static var guestCSLimit: VMCSField { VMCSField(0x4802) }
    @inlinable public static var guestSSLimit: VMCSField { VMCSField(0x4804) }
    @inlinable public static var guestDSLimit: VMCSField { VMCSField(0x4806) }
    @inlinable public static var guestFSLimit: VMCSField { VMCSField(0x4808) }
    @inlinable public static var guestGSLimit: VMCSField { VMCSField(0x480A) }
    @inlinable public static var guestLDTRLimit: VMCSField { VMCSField(0x480C) }
    @inlinable public static var guestTRLimit: VMCSField { VMCSField(0x480E) }
    @inlinable public static var guestGDTRLimit: VMCSField { VMCSField(0x4810) }
    @inlinable public static var guestIDTRLimit: VMCSField { VMCSField(0x4812) }
    @inlinable public static var guestESAccessRights: VMCSField { VMCSField(0x4814) }
    @inlinable public static var guestCSAccessRights: VMCSField { VMCSField(0x4816) }
    @inlinable public static var guestSSAccessRights: VMCSField { VMCSField(0x4818) }
    @inlinable public static var guestDSAccessRights: VMCSField { VMCSField(0x481A) }
    @inlinable public static var guestFSAccessRights: VMCSField { VMCSField(0x481C) }
    @inlinable public static var guestGSAccessRights: VMCSField { VMCSField(0x481E) }
    @inlinable public static var guestLDTRAccessRights: VMCSField { VMCSField(0x4820) }
    @inlinable public static var guestTRAccessRights: VMCSField { VMCSField(0x4822) }
    @inlinable public static var guestInterruptibilityState: VMCSField { VMCSField(0x4824) }
    @inlinable public static var guestActivityState: VMCSField { VMCSField(0x4826) }
    @inlinable public static var guestSMBASE: VMCSField { VMCSField(0x4828) }
    @inlinable public static var guestIA32SysenterCS: VMCSField { VMCSField(0x482A) }
    @inlinable public static var vmxPreemptionTimerValue: VMCSField { VMCSField(0x482E) }
    @inlinable public static var hostIA32SysenterCS: VMCSField { VMCSField(0x4C00) }
    @inlinable public static var cr0GuestHostMask: VMCSField { VMCSField(0x6000) }
    @inlinable public static var cr4GuestHostMask: VMCSField { VMCSField(0x6002) }
    @inlinable public static var cr0ReadShadow: VMCSField { VMCSField(0x6004) }
    @inlinable public static var cr4ReadShadow: VMCSField { VMCSField(0x6006) }
    @inlinable public static var cr3Target0: VMCSField { VMCSField(0x6008) }
    @inlinable public static var cr3Target1: VMCSField { VMCSField(0x600A) }
    @inlinable public static var cr3Target2: VMCSField { VMCSField(0x600C) }
    @inlinable public static var cr3Target3: VMCSField { VMCSField(0x600E) }
    @inlinable public static var exitQualification: VMCSField { VMCSField(0x6400) }
    @inlinable public static var ioRCX: VMCSField { VMCSField(0x6402) }
    @inlinable public static var ioRSI: VMCSField { VMCSField(0x6404) }
    @inlinable public static var ioRDI: VMCSField { VMCSField(0x6406) }
    @inlinable public static var ioRIP: VMCSField { VMCSField(0x6408) }
    @inlinable public static var guestLinearAddress: VMCSField { VMCSField(0x640A) }
    @inlinable public static var guestCR0: VMCSField { VMCSField(0x6800) }
    @inlinable public static var guestCR3: VMCSField { VMCSField(0x6802) }
    @inlinable public static var guestCR4: VMCSField { VMCSField(0x6804) }
    @inlinable public static var guestESBase: VMCSField { VMCSField(0x6806) }
    @inlinable public static var guestCSBase: VMCSField { VMCSField(0x6808) }
    @inlinable public static var guestSSBase: VMCSField { VMCSField(0x680A) }
    @inlinable public static var guestDSBase: VMCSField { VMCSField(0x680C) }
    @inlinable public static var guestFSBase: VMCSField { VMCSField(0x680E) }
    @inlinable public static var guestGSBase: VMCSField { VMCSField(0x6810) }
    @inlinable public static var guestLDTRBase: VMCSField { VMCSField(0x6812) }
    @inlinable public static var guestTRBase: VMCSField { VMCSField(0x6814) }
    @inlinable public static var guestGDTRBase: VMCSField { VMCSField(0x6816) }
    @inlinable public static var guestIDTRBase: VMCSField { VMCSField(0x6818) }
    @inlinable public static var guestDR7: VMCSField { VMCSField(0x681A) }
    @inlinable public static var guestRSP: VMCSField { VMCSField(0x681C) }
    @inlinable public static var guestRIP: VMCSField { VMCSField(0x681E) }
    @inlinable public static var guestRFLAGS: VMCSField { VMCSField(0x6820) }
    @inlinable public static var guestPendingDebugExceptions: VMCSField { VMCSField(0x6822) }
    @inlinable public static var guestIA32SysenterESP: VMCSField { VMCSField(0x6824) }
    @inlinable public static var guestIA32SysenterEIP: VMCSField { VMCSField(0x6826) }
    @inlinable public static var hostCR0: VMCSField { VMCSField(0x6C00) }
    @inlinable public static var hostCR3: VMCSField { VMCSField(0x6C02) }
    @inlinable public static var hostCR4: VMCSField { VMCSField(0x6C04) }
    @inlinable public static var hostFSBase: VMCSField { VMCSField(0x6C06) }
    @inlinable public static var hostGSBase: VMCSField { VMCSField(0x6C08) }
    @inlinable public static var hostTRBase: VMCSField { VMCSField(0x6C0A) }
    @inlinable public static var hostGDTRBase: VMCSField { VMCSField(0x6C0C) }
    @inlinable public static var hostIDTRBase: VMCSField { VMCSField(0x6C0E) }
    @inlinable public static var hostIA32SysenterESP: VMCSField { VMCSField(0x6C10) }
    @inlinable public static var hostIA32SysenterEIP: VMCSField { VMCSField(0x6C12) }
    @inlinable public static var hostRSP: VMCSField { VMCSField(0x6C14) }
    @inlinable public static var hostRIP: VMCSField { VMCSField(0x6C16) }
}
