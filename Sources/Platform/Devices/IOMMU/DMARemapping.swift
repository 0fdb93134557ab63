/// DMA remapping in legacy mode (VT-d spec §3.4.2 "Legacy Mode Address Translation", §3.6
/// "Second-Level Translation"): the requester's bus selects a root entry, its device and
/// function a context entry, and the context entry's second-level page table (3 levels for
/// the 39-bit AGAW this unit supports) maps the request's address. No translation is cached,
/// so every invalidation request is already satisfied.
public enum DMARemapping {
    /// A successful translation: the host-physical address and how many bytes from it stay
    /// in the same page.
    public struct Translation: Equatable, Sendable {
        public var address: UInt64
        public var bytesLeftInPage: UInt64
    }

    /// A blocked request: the reason, and whether the context entry's FPD (Fault Processing
    /// Disable) says not to record it.
    public struct Failure: Error, Equatable, Sendable {
        public var reason: VTdFaultReason
        public var faultProcessingDisabled: Bool
    }

    /// Translation types of a context entry (§9.3, TT field).
    enum TranslationType: UInt64 {
        case multiLevel = 0, deviceTLB = 1, passThrough = 2, reserved = 3
    }

    /// Second-level entry bits (§9.8): read, write, page size.
    static let readBit: UInt64 = 1 << 0, writeBit: UInt64 = 1 << 1, pageSizeBit: UInt64 = 1 << 7
    /// Host address width: bits 51:39 of a paging entry's address are reserved.
    static let hostAddressMask: UInt64 = (1 << UInt64(VTdCapabilities.addressWidth)) - 1
    static let reservedBeyondHostWidth: UInt64 = ((1 << 52) - 1) & ~hostAddressMask
    /// SNP (11; no snoop control, ECAP.SC = 0) and TM (62; no ECAP.DT) are reserved too.
    static let reservedCommon: UInt64 = reservedBeyondHostWidth | 1 << 11 | 1 << 62

    /// Translates `address` for a read or write from `requester`, with the root table at
    /// `rootTable` (§3.4.2): root entry (§9.1) → context entry (§9.3) → second-level walk
    /// (§3.6, entries §9.8). Anything malformed fails with the fault reason §7 assigns.
    public static func translate(_ address: UInt64, write: Bool, requester: UInt16, rootTable: UInt64,
                                 ram: GuestRAM) -> Result<Translation, Failure> {
        func fail(_ r: VTdFaultReason, _ fpd: Bool = false) -> Result<Translation, Failure> {
            .failure(Failure(reason: r, faultProcessingDisabled: fpd))
        }
        let bus = UInt64(requester >> 8), devfn = UInt64(requester & 0xFF)
        // Root entry (§9.1): P 0, reserved 11:1, CTP 63:12; the upper 64 bits are reserved.
        guard let rootLow = ram.load64(rootTable, bus * 16), let rootHigh = ram.load64(rootTable, bus * 16 + 8) else {
            return fail(.rootTableInaccessible)
        }
        guard rootLow & 1 != 0 else { return fail(.rootEntryNotPresent) }
        guard rootLow & 0xFFE == 0, rootLow & ~hostAddressMask == 0, rootHigh == 0 else { return fail(.rootEntryReserved) }
        // Context entry (§9.3): P 0, FPD 1, TT 3:2, reserved 11:4, SLPTPTR 63:12; AW 66:64,
        // reserved 71, DID 87:72, reserved 127:88.
        let contextTable = rootLow & ~0xFFF
        guard let ctxLow = ram.load64(contextTable, devfn * 16), let ctxHigh = ram.load64(contextTable, devfn * 16 + 8) else {
            return fail(.contextTableInaccessible)
        }
        guard ctxLow & 1 != 0 else { return fail(.contextEntryNotPresent) }
        let fpd = ctxLow & 2 != 0
        guard ctxLow & 0xFF0 == 0, ctxLow & ~hostAddressMask == 0, ctxHigh & (1 << 7) == 0, ctxHigh >> 24 == 0 else {
            return fail(.contextEntryReserved, fpd)
        }
        let type = TranslationType(rawValue: ctxLow >> 2 & 3) ?? .reserved
        switch type {
        case .passThrough:
            // §3.9: untranslated requests pass through to the host-physical address.
            return .success(Translation(address: address, bytesLeftInPage: 0x1000 - (address & 0xFFF)))
        case .deviceTLB, .reserved:
            return fail(.contextEntryInvalid, fpd)     // ECAP.DT = 0: no device-TLB translation type
        case .multiLevel:
            break
        }
        // AW 001b: 39-bit AGAW, the only width SAGAW reports.
        guard ctxHigh & 7 == 1 else { return fail(.contextEntryInvalid, fpd) }
        guard address <= hostAddressMask else { return fail(.addressBeyondGuestWidth, fpd) }
        let access = write ? writeBit : readBit
        var table = ctxLow & ~0xFFF
        var level = 3
        while true {
            let shift = UInt64(12 + 9 * (level - 1))
            guard let entry = ram.load64(table, (address >> shift & 0x1FF) * 8) else {
                return fail(.pagingEntryInaccessible, fpd)
            }
            // R = W = 0: not present (§3.6) — a read or write permission fault.
            guard entry & (readBit | writeBit) != 0 else { return fail(write ? .writeNotPermitted : .readNotPermitted, fpd) }
            let leaf = level == 1 || entry & pageSizeBit != 0
            let pageMask: UInt64 = (1 << shift) - 1
            var reserved = reservedCommon
            if leaf && level > 1 { reserved |= pageMask & ~0xFFF }    // address bits below a large page
            guard entry & reserved == 0 else { return fail(.pagingEntryReserved, fpd) }
            guard entry & access != 0 else { return fail(write ? .writeNotPermitted : .readNotPermitted, fpd) }
            if leaf {
                let base = entry & hostAddressMask & ~pageMask
                let offset = address & pageMask
                // Report at most to the end of the 4-KiB page so callers re-translate per page.
                return .success(Translation(address: base | offset, bytesLeftInPage: 0x1000 - (address & 0xFFF)))
            }
            table = entry & hostAddressMask & ~0xFFF
            level -= 1
        }
    }
}
