import CPU
import NestedVMX
import Platform
import Tracing

/// L0's side of an exit L2 makes (nested VMX): nested VMX routes it (`VirtualVMX.route`); an
/// exit L1 asked for becomes a virtual VM exit, the others L0 resolves as it does L1's own —
/// port I/O and MSRs on L0's devices, L1's device windows by emulation — and resumes L2.
extension VirtualMachine {
    func handleL2Exit(_ reason: ExitReason, on v: VCPU) -> L1ExitResolution {
        guard let vmx = v.vmx else { return .end(.l0Failure(cpu: v.index, message: "an L2 exit without nested VMX")) }
        let v02 = v.currentVMCS
        clock.chargeVMExit()
        if reason == .externalInterrupt { acknowledgeInterruptExit(v, vmx) }
        let route = vmx.route(reason)
        exitTrace.record(ExitEvent(time: clock.nanoseconds, cpu: UInt16(v.index), level: .l2, reason: v02.exitReasonField.reason ?? reason,
                                   qualification: v02[.exitQualification], guestRIP: v02[.guestRIP],
                                   disposition: route == .reflect ? .reflectedToL1 : .handledByL0))
        switch route {
        case .reflect:
            switch vmx.reflect() {
            case .toL1:
                v.state = .running
                // An NMI presented to L2 and not taken (L2 blocked it) stays pending across the
                // VM exit, for L1 now (SDM Vol. 3C §28.1: a VM exit does not clear it): L0
                // injects it into L1 as it does its own.
                if v.processor.nmiPresented {
                    v.processor.withdrawNMI()
                    v.nmiPending = true
                }
                return .resume
            case .vmxAbort:
                return l1Shutdown(v)
            }
        case .l0IO:
            reinjectVectoredEvent(v02)
            return handleIO(v, qualification: v02[.exitQualification], vmcs: v02, inL2: true)
        case .l0MSR:
            return emulate(v, because: reason)
        case .l0Resume:
            reinjectVectoredEvent(v)
        case .l0DeviceAccess(let physical):
            if v02.idtVectoring.isValid {
                return .end(.l0Failure(cpu: v.index, message: "L2's event delivery (\(v02.idtVectoring)) touches L1-physical 0x\(String(physical, radix: 16)), which is not RAM"))
            }
            let gpa = v02[.guestPhysicalAddress]
            return emulate(v, because: reason, through: PageTranslatingBus(bus, page: gpa & ~0xFFF, to: physical & ~0xFFF))
        case .l0Pause:
            skipInstruction(v)
        case .l0InterruptWindow:
            vmx.setL0Control(.interruptWindowExiting, false)
        case .l0NMIWindow:
            vmx.setL0Control(.nmiWindowExiting, false)
        }
        return .resume
    }

    /// SDM Vol. 3C §28.2.2: an external-interrupt exit with "acknowledge interrupt on exit"
    /// took the interrupt — L0's controller is acknowledged for the vector the exit reports
    /// (the local APIC's, or the 8259's through ExtINT); without it the interrupt stays pending
    /// for L1 to take once it enables interrupts.
    func acknowledgeInterruptExit(_ v: VCPU, _ vmx: VirtualVMX) {
        v.processor.withdrawExternalInterrupt()
        guard v.currentVMCS.exitInterruption.isValid else { return }
        // (An 8259 interrupt was acknowledged when it was presented: its vector comes from INTA.)
        if v.lapic.pendingVector == v.currentVMCS.exitInterruption.vector { _ = v.lapic.acknowledge() }
    }
}

/// The platform bus as an instruction L0 emulates for L2 sees it: accesses to one L2-physical
/// page go to the L1-physical page EPT12 maps it to (one of L1's device windows).
final class PageTranslatingBus: DeviceBus {
    let base: DeviceBus
    let page: UInt64, target: UInt64

    init(_ base: DeviceBus, page: UInt64, to target: UInt64) {
        self.base = base
        self.page = page
        self.target = target
    }

    func translate(_ a: UInt64) -> UInt64 { a & ~0xFFF == page ? target | (a & 0xFFF) : a }
    func ioRead(port: UInt16, size: Int) -> UInt32 { base.ioRead(port: port, size: size) }
    func ioWrite(port: UInt16, size: Int, value: UInt32) { base.ioWrite(port: port, size: size, value: value) }
    func mmioRead(address: UInt64, size: Int) -> UInt64? { base.mmioRead(address: translate(address), size: size) }
    func mmioWrite(address: UInt64, size: Int, value: UInt64) -> Bool {
        base.mmioWrite(address: translate(address), size: size, value: value)
    }
}
