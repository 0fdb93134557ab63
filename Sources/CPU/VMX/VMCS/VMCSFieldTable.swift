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

    /// The table index of `f` (either half of a 64-bit field), or nil for an encoding not in
    /// Appendix B.
    @inline(__always)
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
    public static let virtualProcessorIdentifier = VMCSField(0x0000)
    public static let postedInterruptNotificationVector = VMCSField(0x0002)
    public static let eptpIndex = VMCSField(0x0004)
    public static let guestESSelector = VMCSField(0x0800)
    public static let guestCSSelector = VMCSField(0x0802)
    public static let guestSSSelector = VMCSField(0x0804)
    public static let guestDSSelector = VMCSField(0x0806)
    public static let guestFSSelector = VMCSField(0x0808)
    public static let guestGSSelector = VMCSField(0x080A)
    public static let guestLDTRSelector = VMCSField(0x080C)
    public static let guestTRSelector = VMCSField(0x080E)
    public static let guestInterruptStatus = VMCSField(0x0810)
    public static let pmlIndex = VMCSField(0x0812)
    public static let hostESSelector = VMCSField(0x0C00)
    public static let hostCSSelector = VMCSField(0x0C02)
    public static let hostSSSelector = VMCSField(0x0C04)
    public static let hostDSSelector = VMCSField(0x0C06)
    public static let hostFSSelector = VMCSField(0x0C08)
    public static let hostGSSelector = VMCSField(0x0C0A)
    public static let hostTRSelector = VMCSField(0x0C0C)
    public static let ioBitmapA = VMCSField(0x2000)
    public static let ioBitmapB = VMCSField(0x2002)
    public static let msrBitmaps = VMCSField(0x2004)
    public static let exitMSRStoreAddress = VMCSField(0x2006)
    public static let exitMSRLoadAddress = VMCSField(0x2008)
    public static let entryMSRLoadAddress = VMCSField(0x200A)
    public static let executiveVMCSPointer = VMCSField(0x200C)
    public static let pmlAddress = VMCSField(0x200E)
    public static let tscOffset = VMCSField(0x2010)
    public static let virtualAPICAddress = VMCSField(0x2012)
    public static let apicAccessAddress = VMCSField(0x2014)
    public static let postedInterruptDescriptorAddress = VMCSField(0x2016)
    public static let vmFunctionControls = VMCSField(0x2018)
    public static let eptPointer = VMCSField(0x201A)
    public static let eoiExitBitmap0 = VMCSField(0x201C)
    public static let eoiExitBitmap1 = VMCSField(0x201E)
    public static let eoiExitBitmap2 = VMCSField(0x2020)
    public static let eoiExitBitmap3 = VMCSField(0x2022)
    public static let eptpListAddress = VMCSField(0x2024)
    public static let vmreadBitmapAddress = VMCSField(0x2026)
    public static let vmwriteBitmapAddress = VMCSField(0x2028)
    public static let virtualizationExceptionInformationAddress = VMCSField(0x202A)
    public static let xssExitingBitmap = VMCSField(0x202C)
    public static let enclsExitingBitmap = VMCSField(0x202E)
    public static let subPagePermissionTablePointer = VMCSField(0x2030)
    public static let tscMultiplier = VMCSField(0x2032)
    public static let tertiaryProcessorBasedControls = VMCSField(0x2034)
    public static let guestPhysicalAddress = VMCSField(0x2400)
    public static let vmcsLinkPointer = VMCSField(0x2800)
    public static let guestIA32DebugCtl = VMCSField(0x2802)
    public static let guestIA32PAT = VMCSField(0x2804)
    public static let guestIA32EFER = VMCSField(0x2806)
    public static let guestIA32PerfGlobalCtrl = VMCSField(0x2808)
    public static let guestPDPTE0 = VMCSField(0x280A)
    public static let guestPDPTE1 = VMCSField(0x280C)
    public static let guestPDPTE2 = VMCSField(0x280E)
    public static let guestPDPTE3 = VMCSField(0x2810)
    public static let guestIA32BNDCFGS = VMCSField(0x2812)
    public static let guestIA32RTITCtl = VMCSField(0x2814)
    public static let hostIA32PAT = VMCSField(0x2C00)
    public static let hostIA32EFER = VMCSField(0x2C02)
    public static let hostIA32PerfGlobalCtrl = VMCSField(0x2C04)
    public static let pinBasedControls = VMCSField(0x4000)
    public static let primaryProcessorBasedControls = VMCSField(0x4002)
    public static let exceptionBitmap = VMCSField(0x4004)
    public static let pageFaultErrorCodeMask = VMCSField(0x4006)
    public static let pageFaultErrorCodeMatch = VMCSField(0x4008)
    public static let cr3TargetCount = VMCSField(0x400A)
    public static let exitControls = VMCSField(0x400C)
    public static let exitMSRStoreCount = VMCSField(0x400E)
    public static let exitMSRLoadCount = VMCSField(0x4010)
    public static let entryControls = VMCSField(0x4012)
    public static let entryMSRLoadCount = VMCSField(0x4014)
    public static let entryInterruptionInformation = VMCSField(0x4016)
    public static let entryExceptionErrorCode = VMCSField(0x4018)
    public static let entryInstructionLength = VMCSField(0x401A)
    public static let tprThreshold = VMCSField(0x401C)
    public static let secondaryProcessorBasedControls = VMCSField(0x401E)
    public static let pleGap = VMCSField(0x4020)
    public static let pleWindow = VMCSField(0x4022)
    public static let vmInstructionError = VMCSField(0x4400)
    public static let exitReason = VMCSField(0x4402)
    public static let exitInterruptionInformation = VMCSField(0x4404)
    public static let exitInterruptionErrorCode = VMCSField(0x4406)
    public static let idtVectoringInformation = VMCSField(0x4408)
    public static let idtVectoringErrorCode = VMCSField(0x440A)
    public static let exitInstructionLength = VMCSField(0x440C)
    public static let exitInstructionInformation = VMCSField(0x440E)
    public static let guestESLimit = VMCSField(0x4800)
    public static let guestCSLimit = VMCSField(0x4802)
    public static let guestSSLimit = VMCSField(0x4804)
    public static let guestDSLimit = VMCSField(0x4806)
    public static let guestFSLimit = VMCSField(0x4808)
    public static let guestGSLimit = VMCSField(0x480A)
    public static let guestLDTRLimit = VMCSField(0x480C)
    public static let guestTRLimit = VMCSField(0x480E)
    public static let guestGDTRLimit = VMCSField(0x4810)
    public static let guestIDTRLimit = VMCSField(0x4812)
    public static let guestESAccessRights = VMCSField(0x4814)
    public static let guestCSAccessRights = VMCSField(0x4816)
    public static let guestSSAccessRights = VMCSField(0x4818)
    public static let guestDSAccessRights = VMCSField(0x481A)
    public static let guestFSAccessRights = VMCSField(0x481C)
    public static let guestGSAccessRights = VMCSField(0x481E)
    public static let guestLDTRAccessRights = VMCSField(0x4820)
    public static let guestTRAccessRights = VMCSField(0x4822)
    public static let guestInterruptibilityState = VMCSField(0x4824)
    public static let guestActivityState = VMCSField(0x4826)
    public static let guestSMBASE = VMCSField(0x4828)
    public static let guestIA32SysenterCS = VMCSField(0x482A)
    public static let vmxPreemptionTimerValue = VMCSField(0x482E)
    public static let hostIA32SysenterCS = VMCSField(0x4C00)
    public static let cr0GuestHostMask = VMCSField(0x6000)
    public static let cr4GuestHostMask = VMCSField(0x6002)
    public static let cr0ReadShadow = VMCSField(0x6004)
    public static let cr4ReadShadow = VMCSField(0x6006)
    public static let cr3Target0 = VMCSField(0x6008)
    public static let cr3Target1 = VMCSField(0x600A)
    public static let cr3Target2 = VMCSField(0x600C)
    public static let cr3Target3 = VMCSField(0x600E)
    public static let exitQualification = VMCSField(0x6400)
    public static let ioRCX = VMCSField(0x6402)
    public static let ioRSI = VMCSField(0x6404)
    public static let ioRDI = VMCSField(0x6406)
    public static let ioRIP = VMCSField(0x6408)
    public static let guestLinearAddress = VMCSField(0x640A)
    public static let guestCR0 = VMCSField(0x6800)
    public static let guestCR3 = VMCSField(0x6802)
    public static let guestCR4 = VMCSField(0x6804)
    public static let guestESBase = VMCSField(0x6806)
    public static let guestCSBase = VMCSField(0x6808)
    public static let guestSSBase = VMCSField(0x680A)
    public static let guestDSBase = VMCSField(0x680C)
    public static let guestFSBase = VMCSField(0x680E)
    public static let guestGSBase = VMCSField(0x6810)
    public static let guestLDTRBase = VMCSField(0x6812)
    public static let guestTRBase = VMCSField(0x6814)
    public static let guestGDTRBase = VMCSField(0x6816)
    public static let guestIDTRBase = VMCSField(0x6818)
    public static let guestDR7 = VMCSField(0x681A)
    public static let guestRSP = VMCSField(0x681C)
    public static let guestRIP = VMCSField(0x681E)
    public static let guestRFLAGS = VMCSField(0x6820)
    public static let guestPendingDebugExceptions = VMCSField(0x6822)
    public static let guestIA32SysenterESP = VMCSField(0x6824)
    public static let guestIA32SysenterEIP = VMCSField(0x6826)
    public static let hostCR0 = VMCSField(0x6C00)
    public static let hostCR3 = VMCSField(0x6C02)
    public static let hostCR4 = VMCSField(0x6C04)
    public static let hostFSBase = VMCSField(0x6C06)
    public static let hostGSBase = VMCSField(0x6C08)
    public static let hostTRBase = VMCSField(0x6C0A)
    public static let hostGDTRBase = VMCSField(0x6C0C)
    public static let hostIDTRBase = VMCSField(0x6C0E)
    public static let hostIA32SysenterESP = VMCSField(0x6C10)
    public static let hostIA32SysenterEIP = VMCSField(0x6C12)
    public static let hostRSP = VMCSField(0x6C14)
    public static let hostRIP = VMCSField(0x6C16)
}
