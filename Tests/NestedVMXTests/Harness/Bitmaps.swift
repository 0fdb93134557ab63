import X86Assembler

/// The I/O and MSR bitmaps L1 gives its guests (SDM Vol. 3C §25.6.4 "I/O-Bitmap Addresses",
/// §25.6.9 "MSR-Bitmap Address"): L1 writes them in its memory before VM entry.
extension L1Program {
    /// Zeroes the 4-KByte page at `address`.
    func zeroPage(_ address: UInt64) {
        a.mov(rdi, Int64(address)); a.xor(eax, eax); a.mov(ecx, 512); a.cld(); a.rep(); a.stos(8)
    }

    /// Sets bit `bit` of the bitmap at `base`.
    func setBit(_ base: UInt64, _ bit: UInt64) {
        a.or(byte[Int64(base + bit / 8)], Int64(1 << (bit % 8)))
    }

    /// I/O bitmap A covers ports 0000H–7FFFH, B 8000H–FFFFH: the port's access exits.
    func exitOnPort(_ port: UInt16) {
        if port < 0x8000 { setBit(area.ioBitmapA, UInt64(port)) } else { setBit(area.ioBitmapB, UInt64(port) - 0x8000) }
    }

    /// The MSR bitmap's four 1-KByte parts: read low (00000000H–00001FFFH), read high
    /// (C0000000H–C0001FFFH), write low, write high.
    func exitOnMSR(_ index: UInt32, write: Bool) {
        let high = index >= 0xC000_0000
        let offset: UInt64 = (write ? 0x800 : 0) + (high ? 0x400 : 0)
        setBit(area.msrBitmap + offset, UInt64(index & 0x1FFF))
    }

    /// Zeroes this processor's I/O and MSR bitmaps.
    func clearBitmaps() {
        zeroPage(area.ioBitmapA); zeroPage(area.ioBitmapB); zeroPage(area.msrBitmap)
    }
}
