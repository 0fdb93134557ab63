import CPU

/// QEMU's `pc-testdev` as kvm-unit-tests' x86 framework uses it (QEMU hw/misc/pc-testdev.c
/// behaviour; kvm-unit-tests lib/x86/apic.c, x86/emulator.c, x86/realmode.c, x86/eventinj.c):
/// - ports 0xE0–0xE3: a scratch I/O register that reads back what was written, at any width;
/// - port 0xE4 (32-bit write): "flush page" — drop cached translations of that page so the
///   guest's later access re-walks its page tables;
/// - ports 0x2000–0x2017: drive ISA IRQ line (port − 0x2000) to the written level;
/// - MMIO 0xFF000000–0xFF00FFFF ("iomem"): memory-like device storage, so guests can test
///   instruction emulation against MMIO.
public final class PCTestDevice: PortIODevice, MMIODevice {
    public static let ioMemoryBase: UInt64 = 0xFF00_0000
    public static let ioMemorySize: UInt64 = 0x1_0000
    private var ioMemory = [UInt8](repeating: 0, count: Int(PCTestDevice.ioMemorySize))

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<size where offset + UInt64(k) < Self.ioMemorySize {
            v |= UInt64(ioMemory[Int(offset) + k]) << (8 * UInt64(k))
        }
        return v
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        for k in 0..<size where offset + UInt64(k) < Self.ioMemorySize {
            ioMemory[Int(offset) + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k)))
        }
    }

    public static let ioPorts: ClosedRange<UInt16> = 0xE0...0xE7
    public static let irqPorts: ClosedRange<UInt16> = 0x2000...0x2017

    private var scratch: UInt32 = 0
    public weak var interruptLines: InterruptLineSink?
    /// Invalidates cached translations for a linear page on every processor.
    public var flushPage: (UInt64) -> Void = { _ in }

    public init() {}

    public func ioRead(port: UInt16, size: Int) -> UInt32 {
        switch port {
        case 0xE0...0xE3:
            let shift = UInt32(port - 0xE0) * 8
            let mask: UInt32 = size == 4 ? 0xFFFF_FFFF : (1 << UInt32(8 * size)) - 1
            return (scratch >> shift) & mask
        default:
            return size == 4 ? 0xFFFF_FFFF : (1 << UInt32(8 * size)) - 1
        }
    }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        switch port {
        case 0xE0...0xE3:
            let shift = UInt32(port - 0xE0) * 8
            let mask: UInt32 = (size == 4 ? 0xFFFF_FFFF : (1 << UInt32(8 * size)) - 1) << shift
            scratch = (scratch & ~mask) | ((value << shift) & mask)
        case 0xE4:
            flushPage(UInt64(value))
        case Self.irqPorts:
            interruptLines?.setIRQ(Int(port - 0x2000), level: value & 1 != 0)
        default:
            break
        }
    }
}
