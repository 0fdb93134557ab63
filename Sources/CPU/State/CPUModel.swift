/// What the emulated processor is: vendor, signature, physical-address width and the
/// optional features it implements. CPUID reports exactly these (SDM Vol. 2A, CPUID).
public struct CPUModel: Sendable {
    public var vendor: String = "GenuineIntel"
    /// CPUID.1:EAX — family 6, model 0x55 (Skylake-SP / Cascade Lake) stepping 7.
    public var signature: UInt32 = 0x0005_0657
    public var brand: String = "Matryoshka emulated x86-64 processor"
    /// MAXPHYADDR (CPUID.80000008H:EAX[7:0]).
    public var physicalAddressBits: Int = 40
    /// Linear-address width: 48 (4-level) or 57 (5-level paging).
    public var linearAddressBits: Int = 48
    public var features = Features.default
    /// Virtual TSC frequency in kHz; the virtual clock advances the TSC by
    /// `tscPerInstruction` per retired instruction (a 1 GIPS processor with a 2 GHz TSC).
    public var tscKHz: UInt64 = 2_000_000
    public var tscPerInstruction: UInt64 = 2
    /// PAUSE's latency in instruction times (1 ns each): 70, i.e. 140 TSC cycles — the
    /// Skylake-generation latency (Intel Optimization Reference Manual: "as many as 140
    /// cycles", up from about 10). A spin loop's TSC advances by it per PAUSE.
    public var pauseLatency: UInt64 = 70
    /// The latency of reading one paging-structure entry in a page walk, in instruction times:
    /// 6, i.e. 12 core cycles — the L2 hit latency of the Skylake-SP core this model reports
    /// (11–13 cycles measured; page-walk reads are served from the cache hierarchy). A TLB
    /// miss thus costs virtual time, as on hardware, so code that flushes the TLB in a loop
    /// (MOV to CR4 toggling PGE) sees refills cost what they cost there.
    public var pagingEntryLatency: UInt64 = 6
    /// The EPT features of the VMX implementation (IA32_VMX_EPT_VPID_CAP).
    public var eptFeatures = EPTFeatures()
    /// With `.vmx`: the VMX capabilities withheld from the guest (nested VMX offers the rest).
    public var vmxWithheld = VMXFeatureMask()

    public init() {}
    public static let `default` = CPUModel()

    /// Optional architectural features, each gating its instructions, CR4 bits and CPUID bit.
    public struct Features: OptionSet, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let pcid = Features(rawValue: 1 << 0)
        public static let invpcid = Features(rawValue: 1 << 1)
        public static let smep = Features(rawValue: 1 << 2)
        public static let smap = Features(rawValue: 1 << 3)
        public static let umip = Features(rawValue: 1 << 4)
        public static let x2apic = Features(rawValue: 1 << 5)
        public static let tscDeadline = Features(rawValue: 1 << 6)
        public static let pages1G = Features(rawValue: 1 << 7)
        public static let nx = Features(rawValue: 1 << 8)
        public static let rdtscp = Features(rawValue: 1 << 9)
        public static let fsgsbase = Features(rawValue: 1 << 10)
        /// VMX offered to the guest (CPUID.1:ECX.VMX, nested VMX); not in the default model.
        public static let vmx = Features(rawValue: 1 << 11)
        public static let la57 = Features(rawValue: 1 << 12)
        public static let popcnt = Features(rawValue: 1 << 13)
        public static let lzcnt = Features(rawValue: 1 << 14)
        public static let bmi1 = Features(rawValue: 1 << 15)
        public static let movbe = Features(rawValue: 1 << 16)
        public static let cx16 = Features(rawValue: 1 << 17)
        public static let syscall = Features(rawValue: 1 << 18)
        public static let rdpid = Features(rawValue: 1 << 19)
        public static let x87 = Features(rawValue: 1 << 20)
        public static let sse = Features(rawValue: 1 << 21)
        public static let xsave = Features(rawValue: 1 << 22)
        public static let rdrand = Features(rawValue: 1 << 23)
        public static let pku = Features(rawValue: 1 << 24)
        /// Protection keys for supervisor-mode pages (CR4.PKS, IA32_PKRS).
        public static let pks = Features(rawValue: 1 << 25)
        /// IA32_ARCH_CAPABILITIES (CPUID.(EAX=7,ECX=0):EDX[29]), reporting which speculative
        /// and buffer-sampling issues the processor does not have.
        public static let archCapabilities = Features(rawValue: 1 << 26)

        public static let `default`: Features = [.pcid, .invpcid, .smep, .smap, .umip, .x2apic, .tscDeadline,
                                                 .pages1G, .nx, .rdtscp, .fsgsbase, .popcnt, .lzcnt,
                                                 .bmi1, .movbe, .cx16, .syscall, .rdpid, .x87, .sse, .archCapabilities]
    }

    public func has(_ f: Features) -> Bool { features.contains(f) }

    /// An AMD-vendor model ("AuthenticAMD"): AMD's SYSCALL/SYSENTER rules and legacy PMU.
    public var isAMD: Bool { vendor == "AuthenticAMD" }

    /// Mask of physical-address bits an entry may set (bits MAXPHYADDR-1:12 of a frame).
    public var physicalAddressMask: UInt64 { (UInt64(1) << UInt64(physicalAddressBits)) &- 1 }
}
