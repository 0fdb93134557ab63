import CPU

/// What `VirtualMachine` builds: the PC's size and the processor model.
public struct MachineConfiguration: Sendable {
    /// Guest RAM in bytes (QEMU's default is 128 MiB).
    public var memoryBytes: UInt64 = 128 << 20
    public var cpuCount: Int = 1
    public var cpuModel: CPUModel = .default
    public var clock: VirtualClock.Source = .virtual
    /// `-no-reboot`: a triple fault ends the run instead of resetting the machine.
    public var noReboot = true
    /// Slice of guest instructions each vCPU runs before the scheduler moves on (deterministic
    /// round robin between vCPUs).
    public var sliceInstructions: UInt64 = 100_000
    /// The slice while more than one vCPU is runnable: a vCPU spinning on another's progress
    /// (without PAUSE, which exits) waits at most this long for it. Short slices cost an
    /// entry/exit pair per slice (~4 µs against ~11 µs of guest work here) while vCPUs are
    /// busy at once; kvm-unit-tests' xapic runs 80 s with 10k, 52 s with 2k, 48 s with 1k.
    public var sharedSliceInstructions: UInt64 = 1_000
    /// The slice of a vCPU that is entered to take an NMI or interrupt while other vCPUs are
    /// runnable: long enough for a handler, short enough that an IPI's sender — often
    /// spinning on the handler's effect — soon runs again.
    public var eventSliceInstructions: UInt64 = 500
    /// L0's policy for nested VMX, like KVM's `enable_shadow_vmcs`: shadow the current vmcs12
    /// in VMCS01 so L1's VMREAD/VMWRITE of supported fields do not exit (SDM Vol. 3C §25.10).
    /// Off, every VMREAD/VMWRITE of L1 exits to L0; L1 sees the same capabilities either way.
    public var shadowsVMCS12 = true

    public static let memoryRange: ClosedRange<UInt64> = (1 << 20)...(64 << 30)
    public static let maxCPUs = 64

    /// RAM below 4 GiB ends at 3 GiB, where the PCI hole starts; the rest lies above 4 GiB
    /// (`MemoryRegion.pcMap`, the layout QEMU's `pc` machine uses).
    public static let lowRAMLimit: UInt64 = 0xC000_0000

    /// The guest-physical address where RAM ends: `memoryBytes`, plus the 1-GiB PCI hole
    /// when RAM continues above 4 GiB.
    public var ramTop: UInt64 {
        memoryBytes <= Self.lowRAMLimit ? memoryBytes : memoryBytes + (1 << 32) - Self.lowRAMLimit
    }

    /// The PCI hole below the device windows (3 GiB to FEA00000H) when RAM continues above
    /// 4 GiB: not RAM, so the guest sees exactly the memory map's RAM.
    public var ramHoleBelow4G: Range<UInt64>? {
        memoryBytes > Self.lowRAMLimit ? Self.lowRAMLimit..<0xFEA0_0000 : nil
    }

    public init() {}

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case memoryOutOfRange(UInt64)
        case cpuCountOutOfRange(Int)
        public var description: String {
            switch self {
            case .memoryOutOfRange(let b):
                return "memory size \(MachineConfiguration.describe(bytes: b)) is out of range (1 MiB ... 64 GiB)"
            case .cpuCountOutOfRange(let n):
                return "vCPU count \(n) is out of range (1 ... \(MachineConfiguration.maxCPUs))"
            }
        }
    }

    /// `b` bytes as the user would write them: whole GiB or MiB where exact, else bytes.
    public static func describe(bytes b: UInt64) -> String {
        if b >= 1 << 30 && b & ((1 << 30) - 1) == 0 { return "\(b >> 30) GiB" }
        if b & ((1 << 20) - 1) == 0 { return "\(b >> 20) MiB" }
        return "\(b) bytes"
    }

    public func validate() throws {
        guard Self.memoryRange.contains(memoryBytes) else { throw Error.memoryOutOfRange(memoryBytes) }
        guard (1...Self.maxCPUs).contains(cpuCount) else { throw Error.cpuCountOutOfRange(cpuCount) }
    }
}
