/// The Multiboot 1 boot information (Multiboot Specification 0.6.96 §3.3): L1 needs only how
/// much memory there is.
enum Multiboot {
    static let bootloaderMagic: UInt32 = 0x2BAD_B002

    /// The end of the RAM that starts at 1 MiB: mem_upper (flags bit 0) is KiB above 1 MiB.
    /// Without it (or when not booted by Multiboot), 32 MiB is assumed.
    static func memoryTop(magic: UInt32, information: UInt32) -> UInt64 {
        guard magic == bootloaderMagic, information != 0 else { return 32 << 20 }
        let flags = Physical.read32(UInt64(information))
        guard flags & 1 != 0 else { return 32 << 20 }
        let upperKiB = UInt64(Physical.read32(UInt64(information) + 8))
        // L1 identity-maps 4 GiB and keeps away from the top gigabyte's MMIO.
        return min((1 << 20) + upperKiB << 10, 0xC000_0000)
    }
}
