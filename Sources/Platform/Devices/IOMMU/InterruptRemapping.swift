/// Interrupt remapping of remappable-format requests (VT-d spec §5.1.2.2 "Interrupt
/// Requests in Remappable Format", §5.1.4 "Interrupt-Remapping Hardware Operation"): the
/// request's handle (plus subhandle with SHV) indexes the interrupt-remapping table, whose
/// entry (IRTE, §9.10) gives the interrupt the APIC bus carries. No entry is cached, so
/// interrupt-entry-cache invalidations are already satisfied.
public enum InterruptRemapping {
    /// A blocked request: the reason, whether the IRTE's FPD says not to record it, and the
    /// interrupt index (for the fault record).
    public struct Failure: Error, Equatable, Sendable {
        public var reason: VTdFaultReason
        public var faultProcessingDisabled: Bool
        public var index: UInt64
    }

    /// The table as the Interrupt Remapping Table Address register latched it: base, entry
    /// count 2^(S+1), and extended interrupt mode (x2APIC destinations).
    public struct Table: Equatable, Sendable {
        public var base: UInt64
        public var entries: UInt64
        public var extendedInterruptMode: Bool

        /// From the register's value: IRTA 63:12, EIME 11, S 3:0.
        public init(register v: UInt64, eimSupported: Bool) {
            base = v & ~0xFFF
            entries = 1 << ((v & 0xF) + 1)
            extendedInterruptMode = eimSupported && v & (1 << 11) != 0
        }
    }

    /// Remaps a remappable-format request from `requester` (nil: the source carries no
    /// source-id, so none is verified).
    public static func remap(_ request: MSIMessage, requester: UInt16?, table: Table,
                             ram: GuestRAM) -> Result<APICMessage, Failure> {
        // Address (§5.1.2.2): handle[14:0] 19:5, interrupt format 4, SHV 3, handle[15] 2.
        let handle = request.address >> 5 & 0x7FFF | (request.address >> 2 & 1) << 15
        let shv = request.address & (1 << 3) != 0
        let index = shv ? handle + UInt64(request.data & 0xFFFF) : handle
        func fail(_ r: VTdFaultReason, _ fpd: Bool = false) -> Result<APICMessage, Failure> {
            .failure(Failure(reason: r, faultProcessingDisabled: fpd, index: index))
        }
        // Data bits 31:16 are reserved in the remappable format.
        guard request.data >> 16 == 0 else { return fail(.interruptRequestReserved) }
        guard index < table.entries else { return fail(.interruptIndexBeyondTable) }
        guard let low = ram.load64(table.base, index * 16), let high = ram.load64(table.base, index * 16 + 8) else {
            return fail(.interruptTableInaccessible)
        }
        // IRTE (§9.10): P 0, FPD 1, DM 2, RH 3, TM 4, DLM 7:5, AVAIL 11:8, reserved 14:12,
        // IM 15 (1 = posted: not supported), V 23:16, reserved 31:24, DST 63:32; SID 79:64,
        // SQ 81:80, SVT 83:82, reserved 127:84.
        let fpd = low & 2 != 0
        guard low & 1 != 0 else { return fail(.interruptEntryNotPresent, fpd) }
        var reservedLow: UInt64 = 0x7000 | 1 << 15 | 0xFF00_0000
        if !table.extendedInterruptMode { reservedLow |= 0xFFFF_0000_0000_0000 | 0xFF_0000_0000 }  // xAPIC: DST 15:8 only
        guard low & reservedLow == 0, high >> 20 == 0 else { return fail(.interruptEntryReserved, fpd) }
        guard let mode = APICMessage.DeliveryMode(rawValue: UInt8(low >> 5 & 7)) else {
            return fail(.interruptEntryReserved, fpd)
        }
        if let sid = requester {
            let expected = UInt16(high & 0xFFFF), qualifier = high >> 16 & 3
            switch high >> 18 & 3 {
            case 0: break                                           // no verification
            case 1:
                // Full source-id, ignoring function bits as SQ says.
                let ignore: UInt16 = [0, 0b100, 0b110, 0b111][Int(qualifier)]
                guard sid & ~ignore == expected & ~ignore else { return fail(.interruptSourceMismatch, fpd) }
            case 2:
                // Bus range: SID 15:8 start bus, 7:0 end bus.
                let bus = sid >> 8
                guard bus >= expected >> 8, bus <= expected & 0xFF else { return fail(.interruptSourceMismatch, fpd) }
            default:
                return fail(.interruptEntryReserved, fpd)
            }
        }
        let destination = table.extendedInterruptMode ? UInt32(low >> 32) : UInt32(low >> 40 & 0xFF)
        return .success(APICMessage(vector: UInt8(low >> 16 & 0xFF), deliveryMode: mode,
                                    logicalDestination: low & (1 << 2) != 0, levelTriggered: low & (1 << 4) != 0,
                                    destination: destination))
    }
}
