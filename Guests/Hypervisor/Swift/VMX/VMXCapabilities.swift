/// The VMX capability MSRs (SDM Vol. 3C Appendix A) and the control settings L1 derives from
/// them.
struct VMXCapabilities {
    static let basicMSR: UInt32 = 0x480
    var basic: UInt64 = 0
    var pinBased: UInt64 = 0, primary: UInt64 = 0, secondary: UInt64 = 0
    var exit: UInt64 = 0, entry: UInt64 = 0
    var misc: UInt64 = 0, eptVPID: UInt64 = 0
    var cr0Fixed0: UInt64 = 0, cr0Fixed1: UInt64 = 0, cr4Fixed0: UInt64 = 0, cr4Fixed1: UInt64 = 0

    /// A.1 — IA32_VMX_BASIC: revision identifier (30:0), region size (44:32), memory type for
    /// the VMCS (53:50), TRUE controls (55).
    var revision: UInt32 { UInt32(truncatingIfNeeded: basic & 0x7FFF_FFFF) }
    var regionSize: UInt64 { (basic >> 32) & 0x1FFF }
    var vmcsMemoryType: UInt64 { (basic >> 50) & 0xF }
    var hasTrueControls: Bool { basic & (1 << 55) != 0 }
    /// A.6 — IA32_VMX_MISC[4:0]: the preemption timer counts down once every 2^rate TSC ticks.
    var preemptionTimerRate: UInt64 { misc & 0x1F }

    /// Reads the MSRs. IA32_VMX_TRUE_*_CTLS (48DH–490H) replace the first four when BASIC[55] is
    /// 1 (A.2); IA32_VMX_PROCBASED_CTLS2 exists only if "activate secondary controls" may be 1
    /// (A.3.3), IA32_VMX_EPT_VPID_CAP only if "enable EPT" or "enable VPID" may be 1 (A.10).
    static func read() -> VMXCapabilities {
        var c = VMXCapabilities()
        c.basic = readMSR(basicMSR)
        let t: UInt32 = c.hasTrueControls ? 0xC : 0
        c.pinBased = readMSR(0x481 + t)
        c.primary = readMSR(0x482 + t)
        c.exit = readMSR(0x483 + t)
        c.entry = readMSR(0x484 + t)
        c.misc = readMSR(0x485)
        c.cr0Fixed0 = readMSR(0x486)
        c.cr0Fixed1 = readMSR(0x487)
        c.cr4Fixed0 = readMSR(0x488)
        c.cr4Fixed1 = readMSR(0x489)
        if allowedOne(c.primary, PrimaryControl.activateSecondaryControls) {
            c.secondary = readMSR(0x48B)
            if allowedOne(c.secondary, SecondaryControl.enableEPT | SecondaryControl.enableVPID, any: true) {
                c.eptVPID = readMSR(0x48C)
            }
        }
        return c
    }

    /// A.3–A.5: bit i of a control may be 1 only if bit 32 + i of its MSR is 1.
    static func allowedOne(_ msr: UInt64, _ bits: UInt32, any: Bool = false) -> Bool {
        let allowed = UInt32(truncatingIfNeeded: msr >> 32) & bits
        return any ? allowed != 0 : allowed == bits
    }

    /// A.3–A.5: a control value that has every bit the MSR's allowed-0 settings (bits 31:0)
    /// require, every `wanted` bit its allowed-1 settings (bits 63:32) permit, and nothing else.
    static func controls(_ msr: UInt64, wanted: UInt32) -> UInt32 {
        let mustBeOne = UInt32(truncatingIfNeeded: msr)
        let mayBeOne = UInt32(truncatingIfNeeded: msr >> 32)
        return (mustBeOne | wanted) & mayBeOne
    }

    /// A.7 and A.8: CR0 and CR4 in VMX operation — bits set in FIXED0 must be 1, bits clear in
    /// FIXED1 must be 0.
    func fixedCR0(_ value: UInt64) -> UInt64 { (value | cr0Fixed0) & cr0Fixed1 }
    func fixedCR4(_ value: UInt64) -> UInt64 { (value | cr4Fixed0) & cr4Fixed1 }

    // A.10 — IA32_VMX_EPT_VPID_CAP.
    var eptPageWalkLength4: Bool { eptVPID & (1 << 6) != 0 }
    var eptWriteBack: Bool { eptVPID & (1 << 14) != 0 }
    var eptUncacheable: Bool { eptVPID & (1 << 8) != 0 }
    var inveptSingleContext: Bool { eptVPID & (1 << 20) != 0 && eptVPID & (1 << 25) != 0 }
    var invvpidSingleContext: Bool { eptVPID & (1 << 32) != 0 && eptVPID & (1 << 41) != 0 }
}
