import CPU

/// EPT01: the extended page tables L0 builds to map L1's guest-physical address space onto
/// the machine's memory (SDM Vol. 3C §29.3 "The Extended Page Table Mechanism").
///
/// L1 RAM is identity-mapped read/write/execute, write-back, with 2-MByte pages where a whole
/// 2-MByte region is RAM and 4-KByte pages elsewhere (§29.3.2, Tables 29-4/29-5). Device
/// windows (the I/O APIC and local APIC pages), addresses beyond RAM and L0's own region are
/// left unmapped, so every access to them is an EPT violation that L0 resolves with its
/// devices (§29.3.3.2). The tables themselves live in L0's region above L1's RAM, which EPT01
/// does not map: L1 can neither read nor change them.
public struct EPT01 {
    /// Bytes L0 keeps above L1's RAM for the EPT01 structures.
    public static let reservedBytes: UInt64 = 1 << 20

    /// The EPT pointer to put in VMCS01 (4-level, write-back, no A/D flags).
    public let pointer: EPTPointer
    /// Paging-structure pages used.
    public let tablePages: Int

    public enum Error: Swift.Error, CustomStringConvertible {
        case regionTooSmall(needed: Int)
        public var description: String {
            switch self {
            case .regionTooSmall(let n): return "EPT01 needs \(n) table pages, more than L0's region holds"
            }
        }
    }

    // EPT entry bits (Tables 29-1 … 29-6).
    static let readWriteExecute: UInt64 = 0b111
    static let writeBack: UInt64 = 6 << 3
    static let largePage: UInt64 = 1 << 7

    /// Builds EPT01 for the RAM of `memory` below `ramTop`, with structures placed from
    /// `regionBase` (4-KByte aligned, `reservedBytes` long).
    public init(memory: PhysicalMemory, ramTop: UInt64, regionBase: UInt64) throws {
        var next = regionBase
        let limit = regionBase + Self.reservedBytes
        var used = 0
        func allocate() throws -> UInt64 {
            guard next + 4096 <= limit else { throw Error.regionTooSmall(needed: used + 1) }
            let page = next
            next += 4096
            used += 1
            try memory.write([UInt8](repeating: 0, count: 4096), at: page)
            return page
        }
        func isRAM(_ a: UInt64) -> Bool { a < ramTop && memory.isRAM(a) }
        func store(_ table: UInt64, _ index: UInt64, _ entry: UInt64) throws {
            try memory.store(entry, at: table + index * 8)
        }
        let pml4 = try allocate()
        var pdpts: [UInt64: UInt64] = [:]
        var pds: [UInt64: UInt64] = [:]
        let twoMiB: UInt64 = 1 << 21
        var region: UInt64 = 0
        while region < ramTop {
            let l4 = region >> 39, l3 = (region >> 30) & 0x1FF, l2 = (region >> 21) & 0x1FF
            let pdptKey = l4
            let pdpt: UInt64
            if let t = pdpts[pdptKey] { pdpt = t } else {
                pdpt = try allocate()
                pdpts[pdptKey] = pdpt
                try store(pml4, l4, pdpt | Self.readWriteExecute)
            }
            let pdKey = region >> 30
            let pd: UInt64
            if let t = pds[pdKey] { pd = t } else {
                pd = try allocate()
                pds[pdKey] = pd
                try store(pdpt, l3, pd | Self.readWriteExecute)
            }
            let pages = (0..<UInt64(512)).map { region + $0 << 12 }
            let ramPages = pages.filter(isRAM)
            if ramPages.count == 512 {
                try store(pd, l2, region | Self.readWriteExecute | Self.writeBack | Self.largePage)
            } else if !ramPages.isEmpty {
                let pt = try allocate()
                try store(pd, l2, pt | Self.readWriteExecute)
                for p in ramPages {
                    try store(pt, (p >> 12) & 0x1FF, p | Self.readWriteExecute | Self.writeBack)
                }
            }
            region += twoMiB
        }
        pointer = EPTPointer.make(root: pml4)
        tablePages = used
    }
}
