/// QEMU's isa-debug-exit device, which kvm-unit-tests uses to end a test with a status: a
/// write of value v to its port window ends the machine with exit status (v << 1) | 1
/// (QEMU hw/misc/debugexit.c behaviour, the documented `-device isa-debug-exit` contract).
public final class DebugExit: PortIODevice {
    public let base: UInt16
    public let size: UInt16
    /// Called with the exit status.
    public var onExit: (Int32) -> Void

    public init(base: UInt16 = 0x501, size: UInt16 = 2, onExit: @escaping (Int32) -> Void) {
        self.base = base
        self.size = max(size, 1)
        self.onExit = onExit
    }

    public var ports: ClosedRange<UInt16> { base...(base &+ size &- 1) }

    public func ioRead(port: UInt16, size: Int) -> UInt32 { 0xFFFF_FFFF >> UInt32(32 - 8 * size) }

    public func ioWrite(port: UInt16, size: Int, value: UInt32) {
        onExit(Int32(truncatingIfNeeded: (value << 1) | 1))
    }
}
