/// Getting a processor into VMX root operation.
enum VMXOperation {
    static let featureControlMSR: UInt32 = 0x3A
    static let featureControlLock: UInt64 = 1 << 0
    static let featureControlVMXOutsideSMX: UInt64 = 1 << 2
    nonisolated(unsafe) static var capabilities = VMXCapabilities()

    /// SDM Vol. 3C §24.6 ("Discovering Support for VMX"): CPUID.1:ECX.VMX[bit 5].
    static var supported: Bool { CPUIDResult(leaf: 1).ecx & (1 << 5) != 0 }

    /// SDM Vol. 3C §24.7 ("Enabling and Entering VMX Operation"): IA32_FEATURE_CONTROL must
    /// have "enable VMX outside SMX" set and be locked; an unlocked MSR is set and locked here,
    /// a locked one without the bit means the firmware disabled VMX.
    static func enableInFeatureControl() -> Bool {
        let fc = readMSR(featureControlMSR)
        if fc & featureControlLock == 0 {
            writeMSR(featureControlMSR, fc | featureControlLock | featureControlVMXOutsideSMX)
            return true
        }
        return fc & featureControlVMXOutsideSMX != 0
    }

    /// Enters VMX root operation on this processor: CR0 and CR4 per the fixed-bit MSRs (which
    /// sets CR4.VMXE, §24.8), then VMXON on a 4-KiB region holding the VMCS revision identifier
    /// (§25.11.5, "VMXON Region"). Stops the machine with the reason on failure.
    static func enter(cpu: Int) {
        guard enableInFeatureControl() else {
            Console.say("L1: VMX is disabled in IA32_FEATURE_CONTROL (locked without bit 2)")
            PowerOff.failure()
        }
        let c = capabilities
        writeCR0(c.fixedCR0(readCR0()))
        writeCR4(c.fixedCR4(readCR4()))
        let region = PageAllocator.allocate()
        Physical.write32(region, c.revision)
        VMX.on(region)
    }

    /// A VMCS region for a guest: the revision identifier, shadow-VMCS indicator 0 (§25.2).
    static func newVMCSRegion() -> UInt64 {
        let region = PageAllocator.allocate()
        Physical.write32(region, capabilities.revision)
        return region
    }
}
