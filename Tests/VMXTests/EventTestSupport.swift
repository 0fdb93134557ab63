import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Descriptor tables and interrupt handlers for test guests that take events through their IDT
/// (SDM Vol. 3A §6.14.1 64-bit IDT gates).
extension VMXTestGuest {
    static let gdtBase: UInt64 = 0x5000
    static let idtBase: UInt64 = 0x6000
    static let handlers: UInt64 = 0x11_0000

    /// A GDT (null, 64-bit code at 8, data at 0x10) and an IDT whose gates for `vectors` point
    /// at handler k = `handlerAddress(k)`; each handler is built by `handler`.
    func installDescriptorTables(_ v: VMCS, vectors: [UInt8], handler: (Assembler, UInt8) -> Void = { a, _ in a.hlt() }) throws {
        try memory.store(UInt64(0), at: Self.gdtBase)
        try memory.store(UInt64(0x00AF_9B00_0000_FFFF), at: Self.gdtBase + 8)
        try memory.store(UInt64(0x00CF_9300_0000_FFFF), at: Self.gdtBase + 16)
        v[.guestGDTRBase] = Self.gdtBase; v[.guestGDTRLimit] = 0x17
        v[.guestIDTRBase] = Self.idtBase; v[.guestIDTRLimit] = 0xFFF
        try memory.write([UInt8](repeating: 0, count: 4096), at: Self.idtBase)
        for vector in vectors {
            let target = Self.handlerAddress(vector)
            let a = Assembler(mode: .bits64, origin: target)
            handler(a, vector)
            try memory.write(a.assemble(), at: target)
            let low = (target & 0xFFFF) | (8 << 16) | (UInt64(0x8E) << 40) | ((target >> 16) & 0xFFFF) << 48
            try memory.store(low, at: Self.idtBase + UInt64(vector) * 16)
            try memory.store(target >> 32, at: Self.idtBase + UInt64(vector) * 16 + 8)
        }
    }

    static func handlerAddress(_ vector: UInt8) -> UInt64 { handlers + UInt64(vector) * 0x40 }
}

typealias Pin = PinBasedControls
typealias Primary = PrimaryProcessorBasedControls
typealias ExitControls = VMExitControls

extension VMCS {
    func enable(_ p: Pin) { self[.pinBasedControls] |= UInt64(p.rawValue) }
    func enable(_ p: Primary) { self[.primaryProcessorBasedControls] |= UInt64(p.rawValue) }
    func enable(_ e: ExitControls) { self[.exitControls] |= UInt64(e.rawValue) }
    func enable(_ s: SecondaryProcessorBasedControls) {
        enable(Primary.activateSecondaryControls)
        self[.secondaryProcessorBasedControls] |= UInt64(s.rawValue)
    }
}
