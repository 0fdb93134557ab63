/// Injecting an exception into L2 on the next VM entry (SDM Vol. 3C §25.8.3, "VM-Entry Controls
/// for Event Injection", Table 25-17; delivered as §27.6 describes).
enum EventInjection {
    static let valid: UInt64 = 1 << 31
    static let deliverErrorCode: UInt64 = 1 << 11
    static let hardwareException: UInt64 = 3 << 8

    /// #GP(0) — L1's answer to an RDMSR or WRMSR of an MSR it keeps from L2. RIP stays on the
    /// instruction (a fault). In real mode no error code is pushed, and §27.2.1.3 forbids
    /// "deliver error code" there.
    static func generalProtection(_ g: UnsafeMutablePointer<Guest>) {
        let protectedMode = VMX.read(.guestCR0) & GuestState.cr0PE != 0
        VMX.write(.vmEntryInterruptionInformation, valid | hardwareException | 13 | (protectedMode ? deliverErrorCode : 0))
        if protectedMode { VMX.write(.vmEntryExceptionErrorCode, 0) }
    }
}
