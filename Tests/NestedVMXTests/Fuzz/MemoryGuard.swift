import Foundation
@testable import CPU
@testable import NestedVMX
@testable import Hypervisor

/// Memory no L2 access (and no hostile L1 pointer) may change, compared with a snapshot taken
/// after boot: L0's region above L1's RAM that nested VMX does not write by design — EPT01's
/// tables, the VMREAD/VMWRITE shadow bitmaps, the link-pointer page beyond the revision word
/// L0 writes there — and L1's own constant memory (its image; its page tables, whose accessed
/// and dirty flags the processor sets). The EPT02 pool is checked by walking it
/// (`EPT02Invariants`); the bitmap copies and the scratch page are written by design.
/// L1's memory is L2's to write where L1 lets it — an L2 without EPT (EPT01 maps all of L1's
/// RAM), or one that rewrote its own EPT12 (for as long as its entries stay) — so the fuzz
/// judges L1's regions only for cases without either (`HostileL1Fuzz.fullCheck`); the EPT12
/// the fuzz writes never lets L2 write them (`FuzzEPT12.confined`).
struct MemoryGuard {
    struct Region {
        let name: String
        let range: Range<UInt64>
        /// Bits of each qword that may change (accessed/dirty flags).
        let ignored: UInt64
        /// L0's memory (any change is a violation), or L1's.
        let l0: Bool
        var snapshot: [UInt64]
    }
    private(set) var regions: [Region] = []

    init(machine m: FuzzMachine) {
        let ramTop = m.vm.configuration.ramTop
        let vmx = m.vmx
        func add(_ name: String, _ range: Range<UInt64>, ignored: UInt64 = 0) {
            regions.append(Region(name: name, range: range, ignored: ignored, l0: range.lowerBound >= ramTop,
                                  snapshot: Self.read(m.memory, range)))
        }
        add("EPT01's tables and L0's region before nested VMX's pages", ramTop..<(ramTop + EPT01.reservedBytes))
        let shared = m.nested.pages.fixed(0)
        add("nested VMX's VMREAD/VMWRITE shadow bitmaps", shared..<(shared + UInt64(NestedVMX.sharedPages) * 4096))
        add("the link-pointer page L0 registers vmcs12 at (beyond its revision word)", (vmx.pages.shadowLink + 8)..<(vmx.pages.shadowLink + 4096))
        // L1's image; its GDT apart: loading a segment sets a descriptor's accessed flag (bit 40),
        // LTR its busy flag (41).
        let image = m.layout.imageRange, gdt = m.layout.gdt..<(m.layout.gdt + 0x40)
        add("L1's image", (image.lowerBound & ~7)..<gdt.lowerBound)
        add("L1's GDT", gdt, ignored: 3 << 40)
        add("L1's image after its GDT", gdt.upperBound..<((image.upperBound + 7) & ~7))
        add("L1's page tables", L1Layout.pml4..<(L1Layout.pageDirectories + 4 * 4096), ignored: 0x60)
    }

    static func read(_ memory: PhysicalMemory, _ range: Range<UInt64>) -> [UInt64] {
        let p = memory.base.advanced(by: Int(range.lowerBound)).assumingMemoryBound(to: UInt64.self)
        return Array(UnsafeBufferPointer(start: p, count: Int(range.count / 8)))
    }

    /// L1's regions as they are now (after a change L1 allowed).
    mutating func resnapshotL1(_ memory: PhysicalMemory) {
        for k in regions.indices where !regions[k].l0 { regions[k].snapshot = Self.read(memory, regions[k].range) }
    }

    /// The regions that changed (first differing address in each), L0's first.
    func changes(_ memory: PhysicalMemory) -> [(l0: Bool, what: String)] {
        var out: [(l0: Bool, what: String)] = []
        for region in regions {
            let p = memory.base.advanced(by: Int(region.range.lowerBound)).assumingMemoryBound(to: UInt64.self)
            if region.ignored == 0 {
                let same = region.snapshot.withUnsafeBytes { memcmp($0.baseAddress!, p, $0.count) == 0 }
                if same { continue }
            }
            for k in region.snapshot.indices where (region.snapshot[k] ^ p[k]) & ~region.ignored != 0 {
                out.append((region.l0, "\(region.name) changed at 0x\(String(region.range.lowerBound + UInt64(k) * 8, radix: 16)): 0x\(String(region.snapshot[k], radix: 16)) → 0x\(String(p[k], radix: 16))"))
                break
            }
        }
        return out
    }
}
