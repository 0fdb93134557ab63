/// An interrupt message on the APIC bus (an IPI from a local APIC's ICR, or an I/O APIC
/// redirection), SDM Vol. 3A §12.6.1 "Interrupt Command Register (ICR)".
public struct APICMessage: Equatable, Sendable {
    /// Delivery mode, ICR bits 10:8 (same encoding in I/O APIC redirection entries).
    public enum DeliveryMode: UInt8, Sendable {
        case fixed = 0, lowestPriority = 1, smi = 2, nmi = 4, initialize = 5, startup = 6, extINT = 7
    }
    /// Destination shorthand, ICR bits 19:18.
    public enum Shorthand: UInt8, Sendable {
        case none = 0, toSelf = 1, allIncludingSelf = 2, allExcludingSelf = 3
    }

    public var vector: UInt8
    public var deliveryMode: DeliveryMode
    /// Logical (true) or physical (false) destination mode, ICR bit 11.
    public var logicalDestination: Bool
    /// Level-triggered (true) or edge (false), ICR bit 15.
    public var levelTriggered: Bool
    /// Level assert (1) or de-assert (0), ICR bit 14 — an INIT level de-assert is ignored.
    public var assert: Bool
    public var shorthand: Shorthand
    /// APIC ID (physical) or logical destination; 8 bits in xAPIC mode, 32 bits in x2APIC mode.
    public var destination: UInt32
    /// Local APIC that sent the message (for shorthands), nil for the I/O APIC.
    public var source: Int?

    public init(vector: UInt8, deliveryMode: DeliveryMode, logicalDestination: Bool = false,
                levelTriggered: Bool = false, assert: Bool = true, shorthand: Shorthand = .none,
                destination: UInt32, source: Int? = nil) {
        self.vector = vector
        self.deliveryMode = deliveryMode
        self.logicalDestination = logicalDestination
        self.levelTriggered = levelTriggered
        self.assert = assert
        self.shorthand = shorthand
        self.destination = destination
        self.source = source
    }
}

/// What a local APIC asks of the processor it belongs to (the hypervisor's vCPU implements it).
public protocol LocalAPICHost: AnyObject {
    /// The APIC may now have a deliverable interrupt: leave HLT, re-check the interrupt window.
    func apicInterruptPending()
    /// An NMI was accepted.
    func apicNMI()
    /// An INIT was accepted (SDM Vol. 3A §9.4 / §12.6.1 "INIT").
    func apicINIT()
    /// A start-up IPI with this vector was accepted (the processor starts at vector × 4096).
    func apicStartup(vector: UInt8)
}
