/// VMX capabilities a CPU model withholds from its guests (QEMU's `-cpu …,-vmx-name`): nested
/// VMX offers the processor's capabilities less these (SDM Vol. 3D Appendix A: a control that is
/// not allowed-1 may not be set; a default1 bit that is not "TRUE-clearable" may not be cleared).
public struct VMXFeatureMask: Sendable, Equatable {
    public var pin: PinBasedControls = []
    public var primary: PrimaryProcessorBasedControls = []
    public var secondary: SecondaryProcessorBasedControls = []
    public var exit: VMExitControls = []
    public var entry: VMEntryControls = []
    /// Default1 controls that may no longer be cleared (QEMU's `vmx-cr3-load-noexit`, …).
    public var notClearablePrimary: PrimaryProcessorBasedControls = []
    public var notClearableExit: VMExitControls = []
    public var notClearableEntry: VMEntryControls = []
    /// EPT features (IA32_VMX_EPT_VPID_CAP) withheld, by `EPTFeatures` key path name.
    public var eptExecuteOnly = false, ept2M = false, ept1G = false, eptAccessedDirty = false
    /// INVVPID types withheld (bit n: type n), all of INVVPID with `invvpid`.
    public var invvpidTypes: UInt8 = 0
    /// IA32_VMX_MISC: activity states (bits 0 HLT, 1 shutdown, 2 wait-for-SIPI), VMWRITE to
    /// exit-information fields, zero-length injection.
    public var activityStates: UInt32 = 0
    public var vmwriteAnyField = false
    public var injectionWithZeroLength = false

    public init() {}

    public var isEmpty: Bool { self == VMXFeatureMask() }

    /// `c` without what this mask withholds.
    public func apply(to c: inout VMXCapabilities) {
        c.pin.subtract(pin)
        c.primary.subtract(primary)
        c.secondary.subtract(secondary)
        c.exit.subtract(exit)
        c.entry.subtract(entry)
        c.trueClearablePrimary.subtract(notClearablePrimary)
        c.trueClearableExit.subtract(notClearableExit)
        c.trueClearableEntry.subtract(notClearableEntry)
        if eptExecuteOnly { c.ept.executeOnly = false }
        if ept2M { c.ept.pages2M = false }
        if ept1G { c.ept.pages1G = false }
        if eptAccessedDirty { c.ept.accessedDirty = false }
        c.invvpidTypes &= ~invvpidTypes
        c.supportedActivityStates &= ~activityStates
        if vmwriteAnyField { c.vmwriteAnyField = false }
        if injectionWithZeroLength { c.injectionWithZeroLength = false }
        // Without secondary controls nothing secondary is allowed-1 (Appendix A.3.3).
        if !c.primary.contains(.activateSecondaryControls) { c.secondary = [] }
    }
}
