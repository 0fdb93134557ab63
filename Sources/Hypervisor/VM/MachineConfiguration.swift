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

    public static let memoryRange: ClosedRange<UInt64> = (1 << 20)...(64 << 30)
    public static let maxCPUs = 64

    public init() {}

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case memoryOutOfRange(UInt64)
        case cpuCountOutOfRange(Int)
        public var description: String {
            switch self {
            case .memoryOutOfRange(let b):
                return "memory size \(b >> 20) MiB is out of range (1 MiB ... 64 GiB)"
            case .cpuCountOutOfRange(let n):
                return "vCPU count \(n) is out of range (1 ... \(MachineConfiguration.maxCPUs))"
            }
        }
    }

    public func validate() throws {
        guard Self.memoryRange.contains(memoryBytes) else { throw Error.memoryOutOfRange(memoryBytes) }
        guard (1...Self.maxCPUs).contains(cpuCount) else { throw Error.cpuCountOutOfRange(cpuCount) }
    }
}
