/// The model-specific registers the processor keeps as state (SDM Vol. 4 Table 2-2).
/// FS.base and GS.base live in the segment registers; EFER in `Processor.efer`.
public struct MSRFile: Sendable {
    public var star: UInt64 = 0
    public var lstar: UInt64 = 0
    public var cstar: UInt64 = 0
    public var sfmask: UInt64 = 0
    public var kernelGSBase: UInt64 = 0
    public var sysenterCS: UInt64 = 0
    public var sysenterESP: UInt64 = 0
    public var sysenterEIP: UInt64 = 0
    /// IA32_PAT power-on value (SDM Vol. 3A §13.12.4).
    public var pat: UInt64 = 0x0007_0406_0007_0406
    public var tscAux: UInt64 = 0
    public var apicBase: UInt64 = 0xFEE0_0900
    /// IA32_MISC_ENABLE: fast strings (bit 0) as firmware leaves it; BTS and PEBS
    /// unavailable (bits 11, 12), no performance monitoring (bit 7 clear).
    public var miscEnable: UInt64 = 0x1801
    public var featureControl: UInt64 = 0
    public var debugCtl: UInt64 = 0
    public var mtrrDefType: UInt64 = 0
    public var tscAdjust: UInt64 = 0
    public var specCtrl: UInt64 = 0
    /// Offset added to the virtual time-stamp counter by WRMSR to IA32_TSC.
    public var tscOffset: Int64 = 0
    public var xss: UInt64 = 0
    public var tscDeadline: UInt64 = 0
    public var mcgStatus: UInt64 = 0
    /// IA32_PKRS (SDM Vol. 3A §4.6.2): PKRU's layout, for supervisor-mode addresses.
    public var pkrs: UInt64 = 0
    /// AMD's legacy performance counters (PerfEvtSel0–3, PerfCtr0–3 at 0xC0010000–7): present
    /// on every AMD64 processor, so an AuthenticAMD model has them; no event is counted.
    public var legacyPerformance = [UInt64](repeating: 0, count: 8)
    public init() {}
}
