import CPU
import NestedVMX
import Tracing

/// L0's handling of the VM exits of an L1 vCPU running under VMCS01 (SDM Vol. 3C ch. 26
/// "VM Exits" for the causes, §28.2 for the exit information read here).
///
/// Each exit is resolved the way the instruction or event is specified to behave on the PC
/// L0 presents: CPUID from the vCPU model, port I/O on the platform bus, MMIO (EPT01
/// violations in device windows) and string I/O and MSR accesses by emulating the
/// instruction against the devices, HLT by descheduling the vCPU. Anything else is an L0
/// bug and ends the run with a precise message; L1 never sees a half-handled exit.
extension VirtualMachine {
    /// What the run loop does after an exit.
    enum L1ExitResolution {
        /// Re-enter L1.
        case resume
        /// End the run with this outcome.
        case end(Outcome)
    }

    /// `time`: the clock at the exit, when the caller has just read it.
    func handleL1Exit(_ reason: ExitReason, on v: VCPU, at time: UInt64? = nil) -> L1ExitResolution {
        let vmcs = v.vmcs01, k = exitFields
        let rip = vmcs[index: k.rip], qualification = vmcs[index: k.exitQualification]
        exitTrace.record(ExitEvent(time: time ?? clock.nanoseconds, cpu: UInt16(v.index), level: .l1, reason: reason,
                                   qualification: qualification, guestRIP: rip))
        reinjectVectoredEvent(vmcs)
        clock.chargeVMExit()
        switch reason {
        case .cpuid:
            handleCPUID(v, vmcs: vmcs)
        case .hlt:
            skipInstruction(v, vmcs: vmcs, inL2: false)
            if !v.pendingDebugTrap { v.state = .halted }
        case .ioInstruction:
            return handleIO(v, qualification: qualification, vmcs: vmcs, inL2: false)
        case .rdmsr, .wrmsr, .xsetbv:
            // The MSR policy is the architectural one with the local APIC's MSRs on L0's APIC
            // and the VMX capability MSRs saying what nested VMX offers
            // (`PlatformRegisterHandler`): the processor's RDMSR/WRMSR, #GP included.
            return emulate(v, because: reason)
        case .crAccess:
            return handleControlRegisterAccess(v, qualification: qualification)
        case .eptViolation:
            // A guest-physical address EPT01 leaves unmapped: a device window or open bus. An
            // event's delivery (IDT, stack) in device memory is nothing an instruction
            // emulator can complete (SDM Vol. 3C §28.2.3: the exit came during delivery).
            if vmcs.idtVectoring.isValid {
                return .end(.l0Failure(cpu: v.index, message: "L1's event delivery (\(vmcs.idtVectoring)) touches guest-physical 0x\(String(vmcs[.guestPhysicalAddress], radix: 16)), which is not RAM"))
            }
            return emulate(v, because: reason)
        case .interruptWindow:
            setInterruptWindowExiting(v, false)
        case .nmiWindow:
            setNMIWindowExiting(v, false)
        case .tripleFault:
            v.state = .shutdown
            if configuration.noReboot { return .end(.shutdown(cpu: v.index)) }
            reset()
        case .pause:
            // PAUSE exiting is on only while another vCPU is runnable (`run`): a spinning
            // vCPU gives up the rest of its slice to the one it is likely waiting for.
            skipInstruction(v, vmcs: vmcs, inL2: false)
        case .invd, .wbinvd:
            skipInstruction(v, vmcs: vmcs, inL2: false)            // caches are not modelled: nothing to write back
        case .vmcall:
            handleVMCALL(v)
        case .exceptionOrNMI:
            handleInvalidOpcode(v)
        case .vmclear, .vmlaunch, .vmptrld, .vmptrst, .vmread, .vmresume, .vmwrite, .vmxoff, .vmxon, .invept, .invvpid:
            guard let vmx = v.vmx else {
                inject(v, vector: Vector.ud)          // no VMX offered (CPUID.1:ECX.VMX = 0)
                return .resume
            }
            return handleVMXInstruction(v, vmx)
        case .getsec, .vmfunc:
            // No SMX; VMFUNC in (virtual) VMX root operation is #UD (SDM Vol. 3C ch. 31).
            inject(v, vector: Vector.ud)
        default:
            return .end(.l0Failure(cpu: v.index, message: "unexpected VM exit \(reason) from L1 at RIP 0x\(String(rip, radix: 16)), qualification 0x\(String(qualification, radix: 16))"))
        }
        return .resume
    }

    // MARK: Instruction handlers

    /// CPUID (SDM Vol. 2A "CPUID"): the leaves of the vCPU's model. L1's exit (VMCS01).
    func handleCPUID(_ v: VCPU, vmcs: VMCS) {
        let p = v.processor
        let r = p.cpuidLeaf(UInt32(truncatingIfNeeded: p.gpr[0]), UInt32(truncatingIfNeeded: p.gpr[1]))
        p.gpr[GPR.rax.rawValue] = UInt64(r.eax)
        p.gpr[GPR.rbx.rawValue] = UInt64(r.ebx)
        p.gpr[GPR.rcx.rawValue] = UInt64(r.ecx)
        p.gpr[GPR.rdx.rawValue] = UInt64(r.edx)
        skipInstruction(v, vmcs: vmcs, inL2: false)
    }

    /// IN/OUT with the exit qualification of SDM Vol. 3C Table 28-5: size in bits 2:0,
    /// direction in bit 3, string in bit 4, port in bits 31:16. String forms are emulated
    /// (segments, RSI/RDI, REP counts and faults are the processor's). `vmcs` is the VMCS
    /// that exited (VMCS01, or VMCS02 with `inL2`).
    func handleIO(_ v: VCPU, qualification: UInt64, vmcs: VMCS, inL2: Bool) -> L1ExitResolution {
        let q = IOInstructionQualification(rawValue: qualification)
        if q.isString { return emulate(v, because: .ioInstruction) }
        let size = q.size, input = q.isInput, port = q.port
        let p = v.processor
        let rax = p.gpr[GPR.rax.rawValue]
        if input {
            let value = UInt64(bus.ioRead(port: port, size: size))
            switch size {
            case 1: p.gpr[GPR.rax.rawValue] = (rax & ~0xFF) | (value & 0xFF)
            case 2: p.gpr[GPR.rax.rawValue] = (rax & ~0xFFFF) | (value & 0xFFFF)
            default: p.gpr[GPR.rax.rawValue] = value & 0xFFFF_FFFF   // 32-bit results zero-extend
            }
        } else {
            let mask: UInt64 = size == 1 ? 0xFF : (size == 2 ? 0xFFFF : 0xFFFF_FFFF)
            bus.ioWrite(port: port, size: size, value: UInt32(rax & mask))
        }
        skipInstruction(v, vmcs: vmcs, inL2: inL2)
        return .resume
    }

    /// MOV to CR0/CR4 that changes a host-owned bit (SDM Vol. 3C Table 28-3 qualification).
    /// CR4.VMXE = 1 is reserved unless VMX is offered, and VMX operation fixes CR0.PE/PG/NE and
    /// CR4.VMXE (§24.8): #GP(0). Otherwise the instruction is emulated (its own checks and
    /// side effects apply to the L1-owned bits) and the read shadow takes L1's value of the
    /// host-owned bits once it has retired.
    func handleControlRegisterAccess(_ v: VCPU, qualification: UInt64) -> L1ExitResolution {
        let vmcs = v.vmcs01
        let q = ControlRegisterAccessQualification(rawValue: qualification)
        let cr = q.controlRegister
        guard q.accessType == .movToCR, cr == 0 || cr == 4 else { return emulate(v, because: .crAccess) }
        let value = v.processor.gpr[Int(q.register)]
        if (cr == 4 && value & CR4.vmxe != 0 && v.vmx == nil) || v.vmx?.permitsControlRegisterWrite(cr: cr, value: value) == false {
            inject(v, vector: Vector.gp, errorCode: 0)
            return .resume
        }
        let next = vmcs[.guestRIP] &+ vmcs[.exitInstructionLength]
        let result = emulate(v, because: .crAccess)
        if case .resume = result, vmcs[.guestRIP] == next {
            if cr == 0 { vmcs[.cr0ReadShadow] = value & vmcs[.cr0GuestHostMask] }
            else { vmcs[.cr4ReadShadow] = value & vmcs[.cr4GuestHostMask] }
        }
        return result
    }

    /// Emulates the exiting instruction against the platform bus (or `through`, a view of it).
    func emulate(_ v: VCPU, because reason: ExitReason, through: DeviceBus? = nil) -> L1ExitResolution {
        let vmcs = v.currentVMCS
        switch v.processor.emulateInstruction(vmcs: vmcs, bus: through ?? bus) {
        case .completed:
            if v.inL2 { injectPendingMTF(v) }
            return .resume
        case .vmExit(let r):
            return v.inL2 ? handleL2Exit(r, on: v) : handleL1Exit(r, on: v)
        case .cannotEmulate(let r):
            let gpa = vmcs[.guestPhysicalAddress]
            return .end(.l0Failure(cpu: v.index, message: "cannot emulate the instruction at RIP 0x\(String(vmcs[.guestRIP], radix: 16)) (\(reason)): \(r) at guest-physical 0x\(String(gpa, radix: 16)), which is neither RAM nor a device L0 can emulate a code fetch or page walk from"))
        case .virtualEntry:
            return .end(.l0Failure(cpu: v.index, message: "a VM entry requested by an instruction L0 emulated without virtual VMX"))
        }
    }

    // MARK: Guest-state edits L0 makes

    /// Completes an instruction L0 performed for L1: RIP past it, blocking by STI / MOV SS
    /// ended (SDM Vol. 3C §25.4.2 Table 25-3: the blocking covers one instruction), and with
    /// RFLAGS.TF a single-step trap after it (SDM Vol. 3A §18.3.1.4: DR6.BS, delivered as a
    /// #DB trap before any interrupt, Table 6-2 priority 4 vs 5).
    func skipInstruction(_ v: VCPU) { skipInstruction(v, vmcs: v.currentVMCS, inL2: v.inL2) }

    /// `skipInstruction` with the vCPU's current VMCS and level already at hand.
    func skipInstruction(_ v: VCPU, vmcs: VMCS, inL2: Bool) {
        let k = exitFields
        var rip = vmcs[index: k.rip] &+ vmcs[index: k.exitInstructionLength]
        // Outside 64-bit mode RIP wraps at the code segment's size (CS.D/B, bit 14).
        if !guestIn64BitMode(vmcs) { rip &= vmcs[index: k.cs.accessRights] & (1 << 14) != 0 ? 0xFFFF_FFFF : 0xFFFF }
        vmcs[index: k.rip] = rip
        // The instruction completed: blocking by STI or MOV SS ends (SDM Vol. 3A §6.8.3).
        let blocking = vmcs.guestInterruptibility
        if !blocking.isDisjoint(with: .blockingBySTIOrMovSS) { vmcs.guestInterruptibility = blocking.subtracting(.blockingBySTIOrMovSS) }
        if inL2 {
            // L2's single-step trap and monitor trap flag follow the instruction as they would
            // on hardware: a pending debug exception (BS) and a pending MTF VM exit for the
            // next entry (SDM Vol. 3C §27.7.3, §26.5.2), so vmcs12's exception bitmap and MTF
            // decide whether L1 sees them.
            if vmcs[index: k.rflags] & (1 << 8) != 0 { vmcs[.guestPendingDebugExceptions] |= 1 << 14 }
            injectPendingMTF(v)
            return
        }
        if vmcs[index: k.rflags] & (1 << 8) != 0 {
            v.processor.dr6 |= 1 << 14
            v.pendingDebugTrap = true
        }
    }

    /// SDM Vol. 3C §26.5.2, §27.6.2: after L0 completed an instruction of a guest that runs with
    /// the monitor trap flag, the next VM entry injects a pending MTF VM exit (interruption
    /// type 7, vector 0).
    func injectPendingMTF(_ v: VCPU) {
        let vmcs = v.currentVMCS
        let primary = vmcs.primary
        guard primary.contains(.monitorTrapFlag), !vmcs.entryInterruption.isValid else { return }
        vmcs.inject(InterruptionInformation(vector: 0, type: .other))
    }

    /// L1 was in 64-bit mode at the exit: IA-32e mode guest and CS.L (SDM Vol. 3C §25.4.1).
    func guestIn64BitMode(_ vmcs: VMCS) -> Bool {
        let k = exitFields
        return vmcs.entryControls.contains(.ia32eModeGuest) && vmcs[index: k.cs.accessRights] & (1 << 13) != 0
    }

    /// Queues hardware exception `vector` for the next VM entry (SDM Vol. 3C §25.8.3, §27.6).
    /// The error code is delivered only where the exception pushes one and L1 is in
    /// protected mode (§27.2.1.3).
    func inject(_ v: VCPU, vector: UInt8, errorCode: UInt32? = nil) {
        let vmcs = v.currentVMCS
        let delivers = errorCode != nil && Vector.pushesErrorCode(vector) && vmcs[.guestCR0] & CR0.pe != 0
        vmcs.inject(InterruptionInformation(vector: vector, type: .hardwareException, deliversErrorCode: delivers),
                    errorCode: delivers ? errorCode! : 0)
    }

    /// An exit during the delivery of an event (IDT-vectoring information valid, SDM Vol. 3C
    /// §28.2.4) leaves that event undelivered: L0 queues it again for the next entry, with
    /// its error code and instruction length (§27.6.1).
    func reinjectVectoredEvent(_ v: VCPU) { reinjectVectoredEvent(v.currentVMCS) }

    /// `reinjectVectoredEvent` for the VMCS that exited.
    func reinjectVectoredEvent(_ vmcs: VMCS) {
        let info = vmcs.idtVectoring
        guard info.isValid else { return }
        vmcs.inject(info.asInjection, errorCode: UInt32(truncatingIfNeeded: vmcs[.idtVectoringErrorCode]),
                    instructionLength: UInt32(truncatingIfNeeded: vmcs[.exitInstructionLength]))
    }

    func setInterruptWindowExiting(_ v: VCPU, _ on: Bool) { setPrimaryControl(v, .interruptWindowExiting, on) }
    func setNMIWindowExiting(_ v: VCPU, _ on: Bool) { setPrimaryControl(v, .nmiWindowExiting, on) }

    /// Sets or clears an L0-owned primary processor-based control (SDM Vol. 3C §25.6.2
    /// Table 25-6) of the VMCS the vCPU next enters: VMCS01's field directly (outside L2 the
    /// current VMCS is VMCS01), written only when the bit changes; VMCS02's through nested VMX.
    @inline(__always)
    func setPrimaryControl(_ v: VCPU, _ control: PrimaryProcessorBasedControls, _ on: Bool) {
        if v.inL2, let vmx = v.vmx { return vmx.setL0Control(control, on) }
        setL0Control(control, on, l2: nil, vmcs01: v.vmcs01)
    }

    /// `setPrimaryControl` with the vCPU's level at hand: `l2` (nested VMX while L2 runs) or
    /// VMCS01.
    @inline(__always)
    func setL0Control(_ control: PrimaryProcessorBasedControls, _ on: Bool, l2: VirtualVMX?, vmcs01: VMCS) {
        if let vmx = l2 { return vmx.setL0Control(control, on) }
        let old = vmcs01.primary
        let new = on ? old.union(control) : old.subtracting(control)
        if new != old { vmcs01.primary = new }
    }
}
