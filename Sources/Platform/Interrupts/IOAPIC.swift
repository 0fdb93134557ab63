/// The I/O APIC (Intel 82093AA I/O Advanced Programmable Interrupt Controller datasheet,
/// §3 "Register Description"): indirect register access through IOREGSEL/IOWIN, 24
/// redirection entries, edge and level (remote IRR) semantics, and the EOI broadcast.
public final class IOAPIC: MMIODevice {
    public static let defaultBase: UInt64 = 0xFEC0_0000
    public static let pinCount = 24

    let bus: APICBus
    public let id: UInt32
    private var select: UInt32 = 0
    private var idRegister: UInt32
    /// Redirection entries (datasheet §3.2.4): vector 7:0, delivery mode 10:8, destination
    /// mode 11, delivery status 12 (RO), polarity 13, remote IRR 14 (RO), trigger mode 15,
    /// mask 16, destination 63:56.
    private var redirection = [UInt64](repeating: 1 << 16, count: IOAPIC.pinCount)
    /// Input pin levels as driven by devices (before polarity).
    private var level = [Bool](repeating: false, count: IOAPIC.pinCount)
    /// An interrupt-remapping unit in front of the APIC bus: each redirection is sent to it
    /// as an interrupt request (VT-d spec §5.1.5.1). This I/O APIC's requests carry no
    /// source-id (as QEMU's q35 I/O APIC), so the unit does not verify one.
    public weak var remapper: InterruptRemapper?

    public init(id: UInt32 = 0, bus: APICBus) {
        self.id = id
        self.bus = bus
        idRegister = id << 24
        bus.onEOI { [unowned self] vector in self.endOfInterrupt(vector: vector) }
    }

    /// Version register: version 0x20, maximum redirection entry 23.
    static let version: UInt32 = 0x0017_0020

    // MARK: MMIO: IOREGSEL at 0x00, IOWIN at 0x10, EOI at 0x40 (version 0x20)

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        switch offset {
        case 0x00: return UInt64(select)
        case 0x10: return UInt64(readRegister(select))
        default: return 0
        }
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        let v = UInt32(truncatingIfNeeded: value)
        switch offset {
        case 0x00: select = v & 0xFF
        case 0x10: writeRegister(select, v)
        case 0x40: endOfInterrupt(vector: UInt8(v & 0xFF))
        default: break
        }
    }

    func readRegister(_ index: UInt32) -> UInt32 {
        switch index {
        case 0x00: return idRegister
        case 0x01: return Self.version
        case 0x02: return idRegister   // arbitration ID
        case 0x10..<(0x10 + UInt32(2 * Self.pinCount)):
            let e = redirection[Int(index - 0x10) / 2]
            return index & 1 == 0 ? UInt32(truncatingIfNeeded: e) : UInt32(truncatingIfNeeded: e >> 32)
        default: return 0xFFFF_FFFF
        }
    }

    func writeRegister(_ index: UInt32, _ v: UInt32) {
        switch index {
        case 0x00: idRegister = v & 0x0F00_0000
        case 0x10..<(0x10 + UInt32(2 * Self.pinCount)):
            let pin = Int(index - 0x10) / 2
            var e = redirection[pin]
            if index & 1 == 0 {
                // Delivery status (12) and remote IRR (14) are read-only.
                let ro: UInt64 = (1 << 12) | (1 << 14)
                e = (e & ~0xFFFF_FFFF) | (e & ro) | (UInt64(v) & 0x1_AFFF)
                if e & (1 << 15) == 0 { e &= ~(1 << 14) }   // edge mode: no remote IRR
            } else {
                // Destination 63:56, and 55:48, which hold the remappable format's interrupt
                // format bit (48) and handle (63:49) when a remapping unit is present (VT-d
                // spec §5.1.5.1); reserved otherwise and kept as written.
                e = (e & 0xFFFF_FFFF) | (UInt64(v & 0xFFFF_0000) << 32)
            }
            redirection[pin] = e
            service(pin)
        default: break
        }
    }

    /// A device drives input `pin` (before the polarity bit is applied).
    public func setPin(_ pin: Int, level high: Bool) {
        guard pin >= 0 && pin < Self.pinCount else { return }
        let was = asserted(pin)
        level[pin] = high
        let now = asserted(pin)
        let e = redirection[pin]
        if e & (1 << 15) == 0 {
            if now && !was { deliver(pin) }          // edge: on the assertion edge
        } else {
            service(pin)
        }
    }

    private func asserted(_ pin: Int) -> Bool {
        let activeLow = redirection[pin] & (1 << 13) != 0
        return level[pin] != activeLow
    }

    /// Level-triggered pins deliver while asserted and no remote IRR is outstanding.
    private func service(_ pin: Int) {
        let e = redirection[pin]
        guard e & (1 << 15) != 0, asserted(pin), e & (1 << 14) == 0, e & (1 << 16) == 0 else { return }
        deliver(pin)
    }

    private func deliver(_ pin: Int) {
        var e = redirection[pin]
        guard e & (1 << 16) == 0 else { return }
        let levelTriggered = e & (1 << 15) != 0
        if levelTriggered { e |= 1 << 14; redirection[pin] = e }
        if let r = remapper {
            if let m = r.remap(MSIMessage(ioapicRedirectionEntry: e), requester: nil) { bus.send(m) }
            return
        }
        let mode = APICMessage.DeliveryMode(rawValue: UInt8((e >> 8) & 7)) ?? .fixed
        bus.send(APICMessage(vector: UInt8(e & 0xFF), deliveryMode: mode,
                             logicalDestination: e & (1 << 11) != 0, levelTriggered: levelTriggered,
                             destination: UInt32(e >> 56)))
    }

    /// EOI for `vector` from a local APIC (or the EOI register): clears remote IRR of the
    /// level-triggered entries with that vector and re-delivers if the line is still asserted.
    func endOfInterrupt(vector: UInt8) {
        for pin in 0..<Self.pinCount {
            let e = redirection[pin]
            if e & (1 << 14) != 0 && UInt8(e & 0xFF) == vector {
                redirection[pin] = e & ~(1 << 14)
                service(pin)
            }
        }
    }

    /// Redirection entry of `pin` (for tests and the monitor).
    public func redirectionEntry(_ pin: Int) -> UInt64 { redirection[pin] }

    /// The message a new assertion of `pin` would send now (datasheet §3.2.4), or nil: the
    /// entry is masked, an edge-triggered pin is already asserted (no new edge), or a
    /// level-triggered entry waits for its EOI (remote IRR). With a `remapper` the message
    /// is the one before remapping.
    public func messageOnAssertion(of pin: Int) -> APICMessage? {
        guard pin >= 0 && pin < Self.pinCount else { return nil }
        let e = redirection[pin], levelTriggered = e & (1 << 15) != 0
        guard e & (1 << 16) == 0, levelTriggered ? e & (1 << 14) == 0 : !asserted(pin) else { return nil }
        let mode = APICMessage.DeliveryMode(rawValue: UInt8((e >> 8) & 7)) ?? .fixed
        return APICMessage(vector: UInt8(e & 0xFF), deliveryMode: mode, logicalDestination: e & (1 << 11) != 0,
                           levelTriggered: levelTriggered, destination: UInt32(e >> 56))
    }
}
