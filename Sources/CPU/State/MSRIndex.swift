/// Model-specific register addresses the processor implements
/// (SDM Vol. 4, Table 2-2 "IA-32 Architectural MSRs").
public enum MSRIndex {
    public static let tsc: UInt32 = 0x10
    public static let platformID: UInt32 = 0x17
    public static let apicBase: UInt32 = 0x1B
    public static let featureControl: UInt32 = 0x3A
    public static let tscAdjust: UInt32 = 0x3B
    public static let specCtrl: UInt32 = 0x48
    public static let predCmd: UInt32 = 0x49
    public static let biosSignID: UInt32 = 0x8B
    public static let mtrrCap: UInt32 = 0xFE
    public static let archCapabilities: UInt32 = 0x10A
    public static let sysenterCS: UInt32 = 0x174
    public static let sysenterESP: UInt32 = 0x175
    public static let sysenterEIP: UInt32 = 0x176
    public static let mcgCap: UInt32 = 0x179
    public static let mcgStatus: UInt32 = 0x17A
    public static let miscEnable: UInt32 = 0x1A0
    public static let debugCtl: UInt32 = 0x1D9
    public static let mtrrDefType: UInt32 = 0x2FF
    public static let pat: UInt32 = 0x277
    public static let vmxBasic: UInt32 = 0x480
    public static let x2apicBase: UInt32 = 0x800
    public static let x2apicLast: UInt32 = 0x8FF
    public static let xss: UInt32 = 0xDA0
    public static let pkrs: UInt32 = 0x6E1
    public static let tscDeadline: UInt32 = 0x6E0
    public static let efer: UInt32 = 0xC000_0080
    public static let star: UInt32 = 0xC000_0081
    public static let lstar: UInt32 = 0xC000_0082
    public static let cstar: UInt32 = 0xC000_0083
    public static let sfmask: UInt32 = 0xC000_0084
    public static let fsBase: UInt32 = 0xC000_0100
    public static let gsBase: UInt32 = 0xC000_0101
    public static let kernelGSBase: UInt32 = 0xC000_0102
    public static let tscAux: UInt32 = 0xC000_0103
}
