import CPU

/// One VM exit as a hypervisor developer wants to see it: when, on which vCPU, at which
/// nesting level, why (reason and qualification, SDM Vol. 3C §28.2.1), where (guest RIP), and
/// how it was resolved (handled by L0 or reflected to L1).
public struct ExitEvent: Equatable, Sendable {
    /// The guest level the exit came from: 1 = L1 under VMCS01, 2 = L2 under VMCS02.
    public enum Level: UInt8, Sendable { case l1 = 1, l2 = 2 }
    public enum Disposition: UInt8, Sendable {
        /// L0 handled the exit and resumed the same guest.
        case handledByL0
        /// L0 reflected it to L1 as a virtual VM exit.
        case reflectedToL1
    }

    /// Virtual nanoseconds since reset.
    public var time: UInt64
    public var cpu: UInt16
    public var level: Level
    public var reason: ExitReason
    /// Bit 31 of the exit reason: VM-entry failure.
    public var entryFailure: Bool
    public var qualification: UInt64
    public var guestRIP: UInt64
    public var disposition: Disposition
    /// Virtual nanoseconds L0 spent before resuming a guest.
    public var handlingTime: UInt64

    public init(time: UInt64, cpu: UInt16, level: Level, reason: ExitReason, entryFailure: Bool = false,
                qualification: UInt64 = 0, guestRIP: UInt64 = 0, disposition: Disposition = .handledByL0,
                handlingTime: UInt64 = 0) {
        self.time = time
        self.cpu = cpu
        self.level = level
        self.reason = reason
        self.entryFailure = entryFailure
        self.qualification = qualification
        self.guestRIP = guestRIP
        self.disposition = disposition
        self.handlingTime = handlingTime
    }
}
