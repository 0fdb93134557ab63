/// The I/O bitmaps and the MSR bitmap as pure lookups (SDM Vol. 3C §25.6.4 "I/O-Bitmap
/// Addresses", §25.6.9 "MSR-Bitmap Address", §26.1.3 "Instructions That Cause VM Exits
/// Conditionally"). The processor consults them for the VMCS it runs; nested VMX asks the same
/// questions of a guest hypervisor's bitmaps (read from its memory by `readByte`) when it
/// routes an exit, without executing anything. An unreadable byte counts as all ones (exit).
public enum IOBitmaps {
    /// Whether IN/INS/OUT/OUTS of `size` bytes at `port` exits (§26.1.3): with "use I/O
    /// bitmaps" the bit of each port touched decides (bitmap A holds ports 0000H–7FFFH, B
    /// 8000H–FFFFH) and an access wrapping past FFFFH exits; otherwise "unconditional I/O
    /// exiting" does.
    public static func accessExits(port: UInt16, size: Int, controls: PrimaryProcessorBasedControls,
                                   bitmapA: UInt64, bitmapB: UInt64, readByte: (UInt64) -> UInt8?) -> Bool {
        guard controls.contains(.useIOBitmaps) else { return controls.contains(.unconditionalIOExiting) }
        for k in 0..<size {
            let p = UInt32(port) &+ UInt32(k)
            if p > 0xFFFF { return true }
            let base = p < 0x8000 ? bitmapA : bitmapB
            let byte = readByte(base &+ UInt64((p & 0x7FFF) >> 3)) ?? 0xFF
            if byte & (1 << (p & 7)) != 0 { return true }
        }
        return false
    }
}

public enum MSRBitmap {
    /// The byte offset within the 4-KByte MSR bitmap of the bit for `index`, or nil for an MSR
    /// outside the two ranges it covers (§25.6.9): read-low 0, read-high 400H, write-low 800H,
    /// write-high C00H; low = 00000000H–00001FFFH, high = C0000000H–C0001FFFH.
    public static func bitLocation(index: UInt32, write: Bool) -> (byte: UInt64, bit: UInt8)? {
        let half: UInt64
        if index <= 0x1FFF { half = write ? 0x800 : 0 }
        else if index >= 0xC000_0000 && index <= 0xC000_1FFF { half = write ? 0xC00 : 0x400 }
        else { return nil }
        let n = UInt64(index & 0x1FFF)
        return (half + (n >> 3), UInt8(n & 7))
    }

    /// Whether RDMSR (`write` false) or WRMSR of `index` exits (§26.1.3): always without "use
    /// MSR bitmaps" and for MSRs outside the bitmap's ranges; otherwise when the bit is 1.
    public static func accessExits(index: UInt32, write: Bool, controls: PrimaryProcessorBasedControls,
                                   bitmap: UInt64, readByte: (UInt64) -> UInt8?) -> Bool {
        guard controls.contains(.useMSRBitmaps), let at = bitLocation(index: index, write: write) else { return true }
        let byte = readByte(bitmap &+ at.byte) ?? 0xFF
        return byte & (1 << at.bit) != 0
    }
}
