/// A message-signalled interrupt request: a DWORD write of `data` to `address` in the
/// interrupt address range FEExxxxxH (SDM Vol. 3A §12.11 "Message Signalled Interrupts").
/// PCI devices send these (MSI), and an I/O APIC behind a remapping unit turns its
/// redirection entries into them (VT-d spec §5.1.5.1 "I/OxAPIC Programming").
public struct MSIMessage: Equatable, Sendable {
    public var address: UInt64
    public var data: UInt32

    public init(address: UInt64, data: UInt32) {
        self.address = address
        self.data = data
    }

    /// Bits 31:20 of an interrupt request's address (SDM §12.11.1).
    public static let interruptAddressPrefix: UInt64 = 0xFEE

    /// True when the write targets the interrupt address range (otherwise it is plain DMA).
    public var isInterruptRequest: Bool { address >> 20 & 0xFFF == Self.interruptAddressPrefix && address >> 32 == 0 }

    /// Address bit 4: 1 = remappable format (VT-d spec §5.1.2.2), 0 = compatibility format.
    public var isRemappable: Bool { address & (1 << 4) != 0 }

    /// The interrupt a compatibility-format request describes (SDM §12.11.1, §12.11.2):
    /// destination ID address 19:12, redirection hint 3, destination mode 2; vector data
    /// 7:0, delivery mode 10:8, level 14, trigger mode 15.
    public var compatibilityInterrupt: APICMessage? {
        guard let mode = APICMessage.DeliveryMode(rawValue: UInt8(data >> 8 & 7)) else { return nil }
        let redirectionHint = address & (1 << 3) != 0
        // RH = 1 with DM = 1 selects lowest priority among the destinations (§12.11.1).
        let lowest = redirectionHint && address & (1 << 2) != 0 && mode == .fixed
        return APICMessage(vector: UInt8(truncatingIfNeeded: data), deliveryMode: lowest ? .lowestPriority : mode,
                           logicalDestination: address & (1 << 2) != 0, levelTriggered: data & (1 << 15) != 0,
                           destination: UInt32(address >> 12 & 0xFF))
    }

    /// The request an I/O APIC redirection entry produces. A remappable-format entry (VT-d
    /// spec §5.1.5.1: bit 48 interrupt format, 63:49 handle[14:0], 11 handle[15]) becomes a
    /// remappable request with that handle and SHV = 0; a compatibility-format entry becomes
    /// the equivalent compatibility request (destination 63:56, mode 11, vector, delivery
    /// mode, trigger mode 15).
    public init(ioapicRedirectionEntry e: UInt64) {
        let levelTriggered = e & (1 << 15) != 0
        let data = UInt32(e & 0xFF) | UInt32(e & 0x700) | (levelTriggered ? 1 << 15 | 1 << 14 : 0)
        if e & (1 << 48) != 0 {
            let handle = (e >> 49) & 0x7FFF | (e >> 11 & 1) << 15
            self.init(address: Self.interruptAddressPrefix << 20 | (handle & 0x7FFF) << 5 | 1 << 4 | (handle >> 15) << 2,
                      data: data)
        } else {
            self.init(address: Self.interruptAddressPrefix << 20 | (e >> 56) << 12 | (e >> 11 & 1) << 2, data: data)
        }
    }
}

/// Translates interrupt requests before they reach the APIC bus (an interrupt-remapping
/// unit, VT-d spec ch. 5). `requester` is the PCI source-id of the device (bus 15:8,
/// device 7:3, function 2:0), nil when the source carries none. nil result: blocked.
public protocol InterruptRemapper: AnyObject {
    func remap(_ request: MSIMessage, requester: UInt16?) -> APICMessage?
}

/// Where PCI devices send their MSIs: through the remapping unit when there is one, straight
/// to the APIC bus otherwise.
public final class MSIDelivery {
    let bus: APICBus
    public weak var remapper: InterruptRemapper?

    public init(bus: APICBus) { self.bus = bus }

    /// Delivers `m` from `requester`; a write outside the interrupt address range or a
    /// malformed request is dropped (master abort).
    public func signal(_ m: MSIMessage, requester: UInt16) {
        guard m.isInterruptRequest else { return }
        let interrupt = remapper.map { $0.remap(m, requester: requester) } ?? m.compatibilityInterrupt
        if let i = interrupt { bus.send(i) }
    }
}
