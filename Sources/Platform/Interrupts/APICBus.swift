/// Routes interrupt messages between the local APICs and from the I/O APIC
/// (SDM Vol. 3A §12.6.2 "Determining IPI Destination", §12.6.3 "IPI Delivery and Acceptance").
public final class APICBus {
    public private(set) var localAPICs: [LocalAPIC] = []
    /// Receivers of EOI broadcasts for level-triggered vectors (the I/O APICs).
    private var eoiListeners: [(UInt8) -> Void] = []

    public init() {}

    func attach(_ apic: LocalAPIC) -> Int {
        localAPICs.append(apic)
        return localAPICs.count - 1
    }

    public func onEOI(_ listener: @escaping (UInt8) -> Void) { eoiListeners.append(listener) }

    func broadcastEOI(vector: UInt8) {
        for l in eoiListeners { l(vector) }
    }

    /// The local APICs a message is addressed to.
    public func destinations(of m: APICMessage) -> [LocalAPIC] {
        switch m.shorthand {
        case .toSelf:
            return m.source.map { [localAPICs[$0]] } ?? []
        case .allIncludingSelf:
            return localAPICs
        case .allExcludingSelf:
            return localAPICs.enumerated().filter { $0.offset != m.source }.map(\.element)
        case .none:
            let targets = localAPICs.filter { $0.matches(destination: m.destination, logical: m.logicalDestination) }
            if m.deliveryMode == .lowestPriority, let first = targets.min(by: { $0.arbitrationPriority < $1.arbitrationPriority }) {
                // Lowest-priority delivery: the APIC with the lowest arbitration priority
                // (ties resolve to the lowest index — deterministic).
                return [first]
            }
            return targets
        }
    }

    /// Delivers `m` to the local APIC whose APIC ID is `id` regardless of its destination
    /// format (a hypervisor-directed IPI); false when no APIC has that ID.
    @discardableResult
    public func deliver(_ m: APICMessage, toAPICID id: UInt32) -> Bool {
        guard let apic = localAPICs.first(where: { $0.apicID == id && $0.globallyEnabled }) else { return false }
        apic.receive(m)
        return true
    }

    /// Delivers a message to every destination APIC.
    public func send(_ m: APICMessage) {
        for apic in destinations(of: m) { apic.receive(m) }
    }
}
