import CPU

/// QEMU's names for VMX capabilities (qemu-system-x86_64 7.2, `-cpu …,±vmx-name`), each bound
/// to the capability-MSR bits it stands for (SDM Vol. 3D Appendix A). `-vmx-name` withholds the
/// capability from nested VMX (`CPUModel.vmxWithheld`); `+vmx-name` is accepted when nested
/// VMX offers it and refused when it does not; an unknown `vmx-` name is refused.
enum QEMUVMXFeatureNames {
    typealias Withhold = @Sendable (inout VMXFeatureMask) -> Void

    /// Capabilities nested VMX offers, with how to withhold each.
    static let offered: [String: Withhold] = [
        // Pin-based controls (A.3.1)
        "vmx-intr-exit": { $0.pin.insert(.externalInterruptExiting) },
        "vmx-nmi-exit": { $0.pin.insert(.nmiExiting) },
        "vmx-vnmi": { $0.pin.insert(.virtualNMIs) },
        "vmx-preemption-timer": { $0.pin.insert(.activateVMXPreemptionTimer); $0.exit.insert(.saveVMXPreemptionTimer) },
        // Primary processor-based controls (A.3.2)
        "vmx-vintr-pending": { $0.primary.insert(.interruptWindowExiting) },
        "vmx-tsc-offset": { $0.primary.insert(.useTSCOffsetting) },
        "vmx-hlt-exit": { $0.primary.insert(.hltExiting) },
        "vmx-invlpg-exit": { $0.primary.insert(.invlpgExiting) },
        "vmx-mwait-exit": { $0.primary.insert(.mwaitExiting) },
        "vmx-rdpmc-exit": { $0.primary.insert(.rdpmcExiting) },
        "vmx-rdtsc-exit": { $0.primary.insert(.rdtscExiting) },
        "vmx-cr3-load-noexit": { $0.notClearablePrimary.insert(.cr3LoadExiting) },
        "vmx-cr3-store-noexit": { $0.notClearablePrimary.insert(.cr3StoreExiting) },
        "vmx-cr8-load-exit": { $0.primary.insert(.cr8LoadExiting) },
        "vmx-cr8-store-exit": { $0.primary.insert(.cr8StoreExiting) },
        "vmx-flexpriority": { $0.primary.insert(.useTPRShadow) },
        "vmx-vnmi-pending": { $0.primary.insert(.nmiWindowExiting) },
        "vmx-movdr-exit": { $0.primary.insert(.movDRExiting) },
        "vmx-io-exit": { $0.primary.insert(.unconditionalIOExiting) },
        "vmx-io-bitmap": { $0.primary.insert(.useIOBitmaps) },
        "vmx-mtf": { $0.primary.insert(.monitorTrapFlag) },
        "vmx-msr-bitmap": { $0.primary.insert(.useMSRBitmaps) },
        "vmx-monitor-exit": { $0.primary.insert(.monitorExiting) },
        "vmx-pause-exit": { $0.primary.insert(.pauseExiting) },
        "vmx-secondary-ctls": { $0.primary.insert(.activateSecondaryControls) },
        // Secondary processor-based controls (A.3.3)
        "vmx-apicv-xapic": { $0.secondary.insert(.virtualizeAPICAccesses) },
        "vmx-ept": { $0.secondary.formUnion([.enableEPT, .unrestrictedGuest]) },
        "vmx-desc-exit": { $0.secondary.insert(.descriptorTableExiting) },
        "vmx-rdtscp-exit": { $0.secondary.insert(.enableRDTSCP) },
        "vmx-vpid": { $0.secondary.insert(.enableVPID); $0.invvpidTypes = 0xF },
        "vmx-wbinvd-exit": { $0.secondary.insert(.wbinvdExiting) },
        "vmx-unrestricted-guest": { $0.secondary.insert(.unrestrictedGuest) },
        "vmx-invpcid-exit": { $0.secondary.insert(.enableINVPCID) },
        "vmx-shadow-vmcs": { $0.secondary.insert(.vmcsShadowing) },
        // VM-exit and VM-entry controls (A.4, A.5)
        "vmx-exit-nosave-debugctl": { $0.notClearableExit.insert(.saveDebugControls) },
        "vmx-exit-ack-intr": { $0.exit.insert(.acknowledgeInterruptOnExit) },
        "vmx-exit-save-pat": { $0.exit.insert(.savePAT) },
        "vmx-exit-load-pat": { $0.exit.insert(.loadPAT) },
        "vmx-exit-save-efer": { $0.exit.insert(.saveEFER) },
        "vmx-exit-load-efer": { $0.exit.insert(.loadEFER) },
        "vmx-exit-save-preemption-timer": { $0.exit.insert(.saveVMXPreemptionTimer) },
        "vmx-entry-noload-debugctl": { $0.notClearableEntry.insert(.loadDebugControls) },
        "vmx-entry-ia32e-mode": { $0.entry.insert(.ia32eModeGuest) },
        "vmx-entry-load-pat": { $0.entry.insert(.loadPAT) },
        "vmx-entry-load-efer": { $0.entry.insert(.loadEFER) },
        // EPT and VPID capabilities (A.10)
        "vmx-ept-execonly": { $0.eptExecuteOnly = true },
        "vmx-ept-2mb": { $0.ept2M = true },
        "vmx-ept-1gb": { $0.ept1G = true },
        "vmx-eptad": { $0.eptAccessedDirty = true },
        "vmx-invvpid-single-addr": { $0.invvpidTypes |= 1 << 0 },
        "vmx-invvpid-single-context": { $0.invvpidTypes |= 1 << 1 },
        "vmx-invvpid-all-context": { $0.invvpidTypes |= 1 << 2 },
        "vmx-invvpid-single-context-noglobals": { $0.invvpidTypes |= 1 << 3 },
        // IA32_VMX_MISC (A.6)
        "vmx-activity-hlt": { $0.activityStates |= 1 << 0 },
        "vmx-activity-shutdown": { $0.activityStates |= 1 << 1 },
        "vmx-activity-wait-sipi": { $0.activityStates |= 1 << 2 },
        "vmx-vmwrite-vmexit-fields": { $0.vmwriteAnyField = true },
        "vmx-zero-len-inject": { $0.injectionWithZeroLength = true },
    ]

    /// Capabilities QEMU names that nested VMX does not offer: removing one changes nothing.
    static let absent: Set<String> = [
        "vmx-posted-intr", "vmx-apicv-x2apic", "vmx-apicv-register", "vmx-apicv-vid", "vmx-ple", "vmx-rdrand-exit",
        "vmx-vmfunc", "vmx-encls-exit", "vmx-rdseed-exit", "vmx-pml", "vmx-xsaves", "vmx-tsc-scaling",
        "vmx-enable-user-wait-pause", "vmx-exit-clear-bndcfgs", "vmx-exit-clear-rtit-ctl",
        "vmx-exit-load-perf-global-ctrl", "vmx-entry-load-perf-global-ctrl", "vmx-entry-load-bndcfgs",
        "vmx-entry-load-rtit-ctl", "vmx-eptp-switching", "vmx-mbec", "vmx-page-walk-5", "vmx-ept-advanced-exitinfo",
        "vmx-store-lma", "vmx-ins-outs", "vmx-true-ctls", "vmx-invept", "vmx-invept-single-context",
        "vmx-invept-all-context", "vmx-invvpid", "vmx-page-walk-4",
    ]

    static var all: [String] { Array(offered.keys) + Array(absent) }

    /// Parses one `±vmx-name`.
    static func apply(_ name: String, on: Bool, to mask: inout VMXFeatureMask) throws {
        if let withhold = offered[name] {
            if !on { withhold(&mask) }
        } else if absent.contains(name) {
            // Capabilities every VMX processor has in this model (INVEPT, 4-level walks, the
            // TRUE controls, INS/OUTS information, EFER.LMA storing) cannot be removed alone;
            // the others are not offered.
            let alwaysOn: Set<String> = ["vmx-store-lma", "vmx-ins-outs", "vmx-true-ctls", "vmx-invept",
                                         "vmx-invept-single-context", "vmx-invept-all-context", "vmx-invvpid", "vmx-page-walk-4"]
            if alwaysOn.contains(name) {
                if !on { throw QEMUCommandLine.ParseError("VMX capability '\(name)' cannot be removed: nested VMX always offers it") }
            } else if on {
                throw QEMUCommandLine.ParseError("VMX capability '\(name)' is not implemented by Matryoshka's nested VMX")
            }
        } else {
            throw QEMUCommandLine.ParseError("unknown VMX capability '\(name)' (the CPU model 'help' lists them)")
        }
    }
}
