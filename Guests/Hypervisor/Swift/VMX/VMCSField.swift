/// The VMCS fields L1 uses, by encoding (SDM Vol. 3C Appendix B, "Field Encoding in VMCS").
enum VMCSField: UInt32 {
    // 16-bit control (B.1.1), guest-state (B.1.2) and host-state (B.1.3) fields.
    case virtualProcessorID = 0x0000
    case guestES = 0x0800, guestCS = 0x0802, guestSS = 0x0804, guestDS = 0x0806
    case guestFS = 0x0808, guestGS = 0x080A, guestLDTR = 0x080C, guestTR = 0x080E
    case hostES = 0x0C00, hostCS = 0x0C02, hostSS = 0x0C04, hostDS = 0x0C06
    case hostFS = 0x0C08, hostGS = 0x0C0A, hostTR = 0x0C0C
    // 64-bit fields (B.2).
    case ioBitmapA = 0x2000, ioBitmapB = 0x2002, msrBitmaps = 0x2004
    case vmExitMSRStoreAddress = 0x2006, vmExitMSRLoadAddress = 0x2008, vmEntryMSRLoadAddress = 0x200A
    case eptPointer = 0x201A
    case guestPhysicalAddress = 0x2400
    case vmcsLinkPointer = 0x2800, guestDebugControl = 0x2802, guestEFER = 0x2806
    case hostEFER = 0x2C02
    // 32-bit fields (B.3).
    case pinBasedControls = 0x4000, primaryProcessorBasedControls = 0x4002, exceptionBitmap = 0x4004
    case pageFaultErrorCodeMask = 0x4006, pageFaultErrorCodeMatch = 0x4008, cr3TargetCount = 0x400A
    case vmExitControls = 0x400C, vmExitMSRStoreCount = 0x400E, vmExitMSRLoadCount = 0x4010
    case vmEntryControls = 0x4012, vmEntryMSRLoadCount = 0x4014, vmEntryInterruptionInformation = 0x4016
    case vmEntryExceptionErrorCode = 0x4018, vmEntryInstructionLength = 0x401A
    case secondaryProcessorBasedControls = 0x401E
    case vmInstructionError = 0x4400, exitReason = 0x4402, exitInterruptionInformation = 0x4404
    case idtVectoringInformation = 0x4408, exitInstructionLength = 0x440C
    case guestESLimit = 0x4800, guestCSLimit = 0x4802, guestSSLimit = 0x4804, guestDSLimit = 0x4806
    case guestFSLimit = 0x4808, guestGSLimit = 0x480A, guestLDTRLimit = 0x480C, guestTRLimit = 0x480E
    case guestGDTRLimit = 0x4810, guestIDTRLimit = 0x4812
    case guestESAccessRights = 0x4814, guestCSAccessRights = 0x4816, guestSSAccessRights = 0x4818
    case guestDSAccessRights = 0x481A, guestFSAccessRights = 0x481C, guestGSAccessRights = 0x481E
    case guestLDTRAccessRights = 0x4820, guestTRAccessRights = 0x4822
    case guestInterruptibility = 0x4824, guestActivityState = 0x4826, guestSysenterCS = 0x482A
    case preemptionTimerValue = 0x482E
    case hostSysenterCS = 0x4C00
    // Natural-width fields (B.4).
    case cr0GuestHostMask = 0x6000, cr4GuestHostMask = 0x6002, cr0ReadShadow = 0x6004, cr4ReadShadow = 0x6006
    case exitQualification = 0x6400, guestLinearAddress = 0x640A
    case guestCR0 = 0x6800, guestCR3 = 0x6802, guestCR4 = 0x6804
    case guestESBase = 0x6806, guestCSBase = 0x6808, guestSSBase = 0x680A, guestDSBase = 0x680C
    case guestFSBase = 0x680E, guestGSBase = 0x6810, guestLDTRBase = 0x6812, guestTRBase = 0x6814
    case guestGDTRBase = 0x6816, guestIDTRBase = 0x6818, guestDR7 = 0x681A
    case guestRSP = 0x681C, guestRIP = 0x681E, guestRFLAGS = 0x6820, guestPendingDebugExceptions = 0x6822
    case guestSysenterESP = 0x6824, guestSysenterEIP = 0x6826
    case hostCR0 = 0x6C00, hostCR3 = 0x6C02, hostCR4 = 0x6C04, hostFSBase = 0x6C06, hostGSBase = 0x6C08
    case hostTRBase = 0x6C0A, hostGDTRBase = 0x6C0C, hostIDTRBase = 0x6C0E
    case hostSysenterESP = 0x6C10, hostSysenterEIP = 0x6C12, hostRSP = 0x6C14, hostRIP = 0x6C16
}
