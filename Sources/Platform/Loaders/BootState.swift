/// The processor state a loader asks for at the kernel's entry, as plain values the
/// hypervisor applies to the boot vCPU.
public struct BootState: Equatable, Sendable {
    public enum Mode: Equatable, Sendable {
        /// 32-bit protected mode, flat 4 GiB CS/DS/ES/SS, paging off (Multiboot §3.2, PVH entry).
        case protected32
        /// 64-bit mode with identity paging (Linux 64-bit boot protocol).
        case long64(pageTableRoot: UInt64, gdtBase: UInt64, gdtLimit: UInt16, codeSelector: UInt16, dataSelector: UInt16)
    }
    public var mode: Mode
    public var entry: UInt64
    public var rax: UInt64 = 0
    public var rbx: UInt64 = 0
    public var rsi: UInt64 = 0

    public init(mode: Mode, entry: UInt64, rax: UInt64 = 0, rbx: UInt64 = 0, rsi: UInt64 = 0) {
        self.mode = mode
        self.entry = entry
        self.rax = rax
        self.rbx = rbx
        self.rsi = rsi
    }

    public static func multiboot(entry: UInt64, infoAddress: UInt64) -> BootState {
        BootState(mode: .protected32, entry: entry, rax: UInt64(MultibootLoader.bootloaderMagic), rbx: infoAddress)
    }
}
