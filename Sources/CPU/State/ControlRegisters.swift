/// CR0 bits (SDM Vol. 3A §2.5, Figure 2-7).
public enum CR0 {
    public static let pe: UInt64 = 1 << 0
    public static let mp: UInt64 = 1 << 1
    public static let em: UInt64 = 1 << 2
    public static let ts: UInt64 = 1 << 3
    public static let et: UInt64 = 1 << 4
    public static let ne: UInt64 = 1 << 5
    public static let wp: UInt64 = 1 << 16
    public static let am: UInt64 = 1 << 18
    public static let nw: UInt64 = 1 << 29
    public static let cd: UInt64 = 1 << 30
    public static let pg: UInt64 = 1 << 31
    /// Bits that software may set; the rest are reserved (MOV to CR0 with a reserved
    /// bit in 63:32 set raises #GP, SDM Vol. 3A §2.5).
    public static let defined: UInt64 = pe | mp | em | ts | et | ne | wp | am | nw | cd | pg
    public static let resetValue: UInt64 = et | cd | nw
}

/// CR4 bits (SDM Vol. 3A §2.5, Figure 2-7).
public enum CR4 {
    public static let vme: UInt64 = 1 << 0
    public static let pvi: UInt64 = 1 << 1
    public static let tsd: UInt64 = 1 << 2
    public static let de: UInt64 = 1 << 3
    public static let pse: UInt64 = 1 << 4
    public static let pae: UInt64 = 1 << 5
    public static let mce: UInt64 = 1 << 6
    public static let pge: UInt64 = 1 << 7
    public static let pce: UInt64 = 1 << 8
    public static let osfxsr: UInt64 = 1 << 9
    public static let osxmmexcpt: UInt64 = 1 << 10
    public static let umip: UInt64 = 1 << 11
    public static let la57: UInt64 = 1 << 12
    public static let vmxe: UInt64 = 1 << 13
    public static let smxe: UInt64 = 1 << 14
    public static let fsgsbase: UInt64 = 1 << 16
    public static let pcide: UInt64 = 1 << 17
    public static let osxsave: UInt64 = 1 << 18
    public static let smep: UInt64 = 1 << 20
    public static let smap: UInt64 = 1 << 21
    public static let pke: UInt64 = 1 << 22
    public static let cet: UInt64 = 1 << 23
    public static let pks: UInt64 = 1 << 24
}

/// IA32_EFER bits (SDM Vol. 3A §2.2.1, Table 2-1 / Figure 2-8).
public enum EFER {
    public static let sce: UInt64 = 1 << 0
    public static let lme: UInt64 = 1 << 8
    public static let lma: UInt64 = 1 << 10
    public static let nxe: UInt64 = 1 << 11
}

/// RFLAGS bits (SDM Vol. 1 §3.4.3, Figure 3-8).
public enum RFLAGS {
    public static let cf: UInt64 = 1 << 0
    public static let fixed1: UInt64 = 1 << 1
    public static let pf: UInt64 = 1 << 2
    public static let af: UInt64 = 1 << 4
    public static let zf: UInt64 = 1 << 6
    public static let sf: UInt64 = 1 << 7
    public static let tf: UInt64 = 1 << 8
    public static let `if`: UInt64 = 1 << 9
    public static let df: UInt64 = 1 << 10
    public static let of: UInt64 = 1 << 11
    public static let iopl: UInt64 = 3 << 12
    public static let nt: UInt64 = 1 << 14
    public static let rf: UInt64 = 1 << 16
    public static let vm: UInt64 = 1 << 17
    public static let ac: UInt64 = 1 << 18
    public static let vif: UInt64 = 1 << 19
    public static let vip: UInt64 = 1 << 20
    public static let id: UInt64 = 1 << 21
    /// The six status flags computed lazily by the interpreter.
    public static let arithmetic: UInt64 = cf | pf | af | zf | sf | of
    /// Every bit software can change on this processor.
    public static let writable: UInt64 = arithmetic | tf | `if` | df | iopl | nt | rf | vm | ac | vif | vip | id
}
