/// The local APIC in xAPIC mode, through its MMIO page (SDM Vol. 3A §10.4.1, default base
/// FEE00000H, or the MADT's address): the ID register and the interrupt command register.
enum LocalAPIC {
    static let idRegister: UInt64 = 0x20
    static let icrLow: UInt64 = 0x300
    static let icrHigh: UInt64 = 0x310
    static let deliveryPending: UInt32 = 1 << 12

    static var base: UInt64 { readMSR(0x1B) & 0xF_FFFF_F000 }           // IA32_APIC_BASE

    static func currentID() -> UInt8 { UInt8(truncatingIfNeeded: Physical.read32(base + idRegister) >> 24) }

    /// SDM Vol. 3A §10.6.1, "Interrupt Command Register (ICR)": destination in bits 63:56 (ICR
    /// high), delivery mode 10:8, level 14, trigger 15; the write to the low half sends it. Waits
    /// for the delivery status (bit 12) to clear.
    static func sendIPI(to apicID: UInt8, low: UInt32) {
        Physical.write32(base + icrHigh, UInt32(apicID) << 24)
        Physical.write32(base + icrLow, low)
        var spins = 0
        while Physical.read32(base + icrLow) & deliveryPending != 0 && spins < 1_000_000 { cpuPause(); spins += 1 }
    }

    /// INIT: delivery mode 101B, level assert, edge.
    static func sendINIT(to apicID: UInt8) { sendIPI(to: apicID, low: 0x0000_4500) }

    /// Start-up: delivery mode 110B with the vector = start page number.
    static func sendStartup(to apicID: UInt8, page: UInt8) { sendIPI(to: apicID, low: 0x0000_4600 | UInt32(page)) }
}
