@testable import CPU
@testable import Hypervisor
@testable import NestedVMX

/// Why an L2 that L0 sent the watchdog NMI to still never came back to L1, from the state the
/// processor and L0 hold: a legitimate end of the case (L2 blocks the NMI and can never leave
/// its state, or took it through an IDT that does not lead back), or — when the NMI is still
/// pending for an L2 that nothing stops from taking it — L0 lost it (a violation).
enum FuzzStuckL2 {
    enum Verdict {
        case explained(String)
        case lostNMI(String)
    }

    /// SDM Vol. 3C §27.7.1 (blocking by NMI without "virtual NMIs" lasts to the next IRET),
    /// §27.7.4 (wait-for-SIPI blocks NMIs), Vol. 3A §6.7.1, §6.8.3 (MOV SS).
    static func verdict(vcpu v: VCPU) -> Verdict {
        let p = v.processor
        let what = v.state == .halted ? "halted" : "running"
        if p.activity == .waitForSIPI { return .explained("waits for a SIPI, which blocks NMIs (§27.7.4)") }
        let pin = PinBasedControls(rawValue: UInt32(truncatingIfNeeded: v.currentVMCS[.pinBasedControls]))
        let pending = v.nmiPending || p.nmiPresented
        guard pending else {
            return .explained("\(what); the NMI went through L2's IDT (no NMI exiting) and L2 did not come back")
        }
        if p.nmiBlocked && !pin.contains(.virtualNMIs) {
            return .explained("\(what) with NMIs blocked until an IRET that never comes (no virtual NMIs, §27.7.1)")
        }
        if p.interruptShadow.contains(.movSS) { return .explained("\(what) in a MOV-SS shadow") }
        return .lostNMI("L2 is \(what) (activity \(p.activity)) with the watchdog NMI still pending and nothing blocking it: L0 did not deliver it")
    }
}
