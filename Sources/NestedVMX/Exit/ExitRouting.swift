import CPU

/// Where an exit of L2 goes (SDM Vol. 3C ch. 26 "VM Exits" for what vmcs12 asks for): to L1 as
/// a virtual VM exit, or to L0, which handles it and resumes L2 without L1 noticing.
public enum L2ExitRoute: Equatable, Sendable {
    /// A virtual VM exit to L1 with the exit information in VMCS02 (`reflect`).
    case reflect
    /// An I/O instruction L1 lets through: L0's devices perform it.
    case l0IO
    /// RDMSR/WRMSR L1 lets through: L0 executes it (with its MSR policy and L1's local APIC).
    case l0MSR
    /// EPT02 now maps what EPT12 maps: resume L2.
    case l0Resume
    /// L2 reaches one of L1's device windows (at this L1-physical address) through EPT12, or
    /// through EPT01 when vmcs12 has no EPT: L0 emulates the access.
    case l0DeviceAccess(physical: UInt64)
    /// Exits L0 asked for in VMCS02 for itself: PAUSE (scheduling), interrupt and NMI windows
    /// (events L0 delivers to L2).
    case l0Pause, l0InterruptWindow, l0NMIWindow
}

extension VirtualVMX {
    /// vmcs12's controls as VM exits read them.
    var primary12: PrimaryProcessorBasedControls { current?.vmcs.primary ?? [] }
    var secondary12: SecondaryProcessorBasedControls { current?.vmcs.secondary ?? [] }
    var pin12: PinBasedControls { current?.vmcs.pin ?? [] }
    var exit12: VMExitControls { current?.vmcs.exitControls ?? [] }

    /// The route of the exit `reason` L2 just made (its information is in VMCS02). L0's own
    /// reasons are asked first ("L0 wins", as KVM's nested_vmx_l0_wants_exit); everything
    /// VMCS02 exits on beyond them, it exits on because vmcs12 asked.
    public func route(_ reason: ExitReason) -> L2ExitRoute {
        guard let v02 = current?.vmcs02 else { return .reflect }
        switch reason {
        case .ioInstruction:
            return l1WantsIO(IOInstructionQualification(rawValue: v02[.exitQualification])) ? .reflect : .l0IO
        case .rdmsr, .wrmsr:
            let index = UInt32(truncatingIfNeeded: processor.gpr[GPR.rcx.rawValue])
            return MSRBitmap.accessExits(index: index, write: reason == .wrmsr, controls: primary12,
                                         bitmap: current!.vmcs[.msrBitmaps], readByte: l1.byte(at:)) ? .reflect : .l0MSR
        case .eptViolation:
            return routeEPTViolation(v02)
        case .eptMisconfiguration:
            // EPT02 and EPT01 are L0's and well formed: vmcs12's own misconfigurations reach L1
            // as resolutions of EPT02 violations. This cannot happen; hand it to L1 rather than
            // resume a guest that would fault again.
            return .reflect
        case .interruptWindow:
            return primary12.contains(.interruptWindowExiting) ? .reflect : .l0InterruptWindow
        case .nmiWindow:
            return primary12.contains(.nmiWindowExiting) ? .reflect : .l0NMIWindow
        case .pause:
            return primary12.contains(.pauseExiting) ? .reflect : .l0Pause
        default:
            return .reflect
        }
    }

    /// §26.1.3 with vmcs12's I/O controls and bitmaps (read from L1 memory).
    func l1WantsIO(_ q: IOInstructionQualification) -> Bool {
        guard let g = current?.vmcs else { return true }
        return IOBitmaps.accessExits(port: q.port, size: q.size, controls: primary12, bitmapA: g[.ioBitmapA],
                                     bitmapB: g[.ioBitmapB], readByte: l1.byte(at:))
    }

    /// An EPT violation of VMCS02: with EPT in vmcs12, EPT02 is resolved against EPT12 — filled,
    /// or L1's own violation (its qualification's rights bits 5:3 become EPT12's) or
    /// misconfiguration (exit reason 49), or a device access; without, EPT01 leaves only L1's
    /// device windows unmapped.
    func routeEPTViolation(_ v02: VMCS) -> L2ExitRoute {
        let gpa = v02[.guestPhysicalAddress]
        guard secondary12.contains(.enableEPT), let g = current?.vmcs else { return .l0DeviceAccess(physical: gpa) }
        let q = EPTViolationQualification(rawValue: v02[.exitQualification])
        let eptp12 = EPTPointer(g[.eptPointer])
        switch ept02.resolve(gpa, q.access, eptp12: eptp12) {
        case .filled: return .l0Resume
        case .l1Device(let physical): return .l0DeviceAccess(physical: physical)
        case .violation(let rights):
            v02[.exitQualification] = EPTViolationQualification(
                access: q.access, rights: rights, linearAddressValid: q.linearAddressValid,
                translatedAccess: q.isTranslatedAccess, nmiUnblockingDueToIRET: q.nmiUnblockingDueToIRET).rawValue
            return .reflect
        case .misconfiguration:
            v02.exitReasonField = ExitReasonField(.eptMisconfiguration)
            v02[.exitQualification] = 0
            v02[.guestLinearAddress] = 0
            return .reflect
        }
    }
}
