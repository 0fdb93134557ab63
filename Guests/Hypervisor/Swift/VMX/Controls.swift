/// VM-execution, VM-exit and VM-entry control bits (SDM Vol. 3C §25.6–§25.8).
enum PinControl {                                   // Table 25-5
    static let activatePreemptionTimer: UInt32 = 1 << 6
}

enum PrimaryControl {                               // Table 25-6
    static let hltExiting: UInt32 = 1 << 7
    static let useIOBitmaps: UInt32 = 1 << 25
    static let useMSRBitmaps: UInt32 = 1 << 28
    static let activateSecondaryControls: UInt32 = 1 << 31
}

enum SecondaryControl {                             // Table 25-7
    static let enableEPT: UInt32 = 1 << 1
    static let enableVPID: UInt32 = 1 << 5
    static let unrestrictedGuest: UInt32 = 1 << 7
}

enum ExitControl {                                  // Table 25-13
    static let hostAddressSpaceSize: UInt32 = 1 << 9
    static let saveEFER: UInt32 = 1 << 20
    static let loadEFER: UInt32 = 1 << 21
    static let savePreemptionTimer: UInt32 = 1 << 22
}

enum EntryControl {                                 // Table 25-15
    static let ia32eModeGuest: UInt32 = 1 << 9
    static let loadEFER: UInt32 = 1 << 15
}

/// The controls every L2 gets, chosen once from the capability MSRs: what L1 cannot work
/// without is required (its absence stops L1 with the reason); the rest is used when offered.
struct ControlSettings {
    var pin: UInt32 = 0, primary: UInt32 = 0, secondary: UInt32 = 0, exit: UInt32 = 0
    var entry: UInt32 = 0, entry64: UInt32 = 0
    var eptMemoryType: UInt64 = 6
    var preemptionTimer = false, savesPreemptionTimer = false
    var vpid = false, unrestrictedGuest = false, efer = false

    nonisolated(unsafe) static var chosen = ControlSettings()

    /// Returns nil (after saying why) when VMX lacks something L1 requires.
    static func choose(_ c: VMXCapabilities) -> ControlSettings? {
        var s = ControlSettings()
        let primaryRequired = PrimaryControl.hltExiting | PrimaryControl.useIOBitmaps
            | PrimaryControl.useMSRBitmaps | PrimaryControl.activateSecondaryControls
        guard VMXCapabilities.allowedOne(c.primary, primaryRequired) else {
            return missing("HLT exiting, I/O bitmaps, MSR bitmaps or secondary controls")
        }
        guard VMXCapabilities.allowedOne(c.secondary, SecondaryControl.enableEPT), c.eptPageWalkLength4,
              c.eptWriteBack || c.eptUncacheable else {
            return missing("EPT with 4-level page walks")
        }
        guard VMXCapabilities.allowedOne(c.exit, ExitControl.hostAddressSpaceSize),
              VMXCapabilities.allowedOne(c.entry, EntryControl.ia32eModeGuest) else {
            return missing("64-bit host and IA-32e mode guests")
        }
        s.preemptionTimer = VMXCapabilities.allowedOne(c.pinBased, PinControl.activatePreemptionTimer)
        s.savesPreemptionTimer = s.preemptionTimer && VMXCapabilities.allowedOne(c.exit, ExitControl.savePreemptionTimer)
        s.vpid = VMXCapabilities.allowedOne(c.secondary, SecondaryControl.enableVPID)
        s.unrestrictedGuest = VMXCapabilities.allowedOne(c.secondary, SecondaryControl.unrestrictedGuest)
        s.efer = VMXCapabilities.allowedOne(c.exit, ExitControl.saveEFER | ExitControl.loadEFER)
            && VMXCapabilities.allowedOne(c.entry, EntryControl.loadEFER)
        s.eptMemoryType = c.eptWriteBack ? 6 : 0

        s.pin = VMXCapabilities.controls(c.pinBased, wanted: s.preemptionTimer ? PinControl.activatePreemptionTimer : 0)
        s.primary = VMXCapabilities.controls(c.primary, wanted: primaryRequired)
        s.secondary = VMXCapabilities.controls(c.secondary, wanted: SecondaryControl.enableEPT
            | (s.vpid ? SecondaryControl.enableVPID : 0) | (s.unrestrictedGuest ? SecondaryControl.unrestrictedGuest : 0))
        s.exit = VMXCapabilities.controls(c.exit, wanted: ExitControl.hostAddressSpaceSize
            | (s.efer ? ExitControl.saveEFER | ExitControl.loadEFER : 0)
            | (s.savesPreemptionTimer ? ExitControl.savePreemptionTimer : 0))
        let entryWanted = s.efer ? EntryControl.loadEFER : 0
        s.entry = VMXCapabilities.controls(c.entry, wanted: entryWanted)
        s.entry64 = VMXCapabilities.controls(c.entry, wanted: entryWanted | EntryControl.ia32eModeGuest)
        guard s.entry & EntryControl.ia32eModeGuest == 0 else { return missing("guests outside IA-32e mode") }
        return s
    }

    static func missing(_ what: StaticString) -> ControlSettings? {
        Console.line {
            Console.put("L1: this processor's VMX lacks ")
            Console.put(what)
            Console.put(", which L1 needs\n")
        }
        return nil
    }
}
