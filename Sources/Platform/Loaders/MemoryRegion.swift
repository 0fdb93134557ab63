/// One entry of the guest-physical memory map handed to firmware interfaces (E820 types:
/// 1 usable RAM, 2 reserved; ACPI 6.4 §15 "System Address Map Interfaces").
public struct MemoryRegion: Equatable, Sendable {
    public var base: UInt64
    public var length: UInt64
    public var type: UInt32
    public init(base: UInt64, length: UInt64, type: UInt32) {
        self.base = base
        self.length = length
        self.type = type
    }

    /// The PC map for `ramSize` bytes: conventional memory to 639 KiB, the legacy video/BIOS
    /// hole reserved, RAM from 1 MiB (below the PCI hole at 3 GiB and again above 4 GiB).
    public static func pcMap(ramSize: UInt64) -> [MemoryRegion] {
        var map = [MemoryRegion(base: 0, length: 0x9_FC00, type: 1),
                   MemoryRegion(base: 0x9_FC00, length: 0x400, type: 2),
                   MemoryRegion(base: 0xF_0000, length: 0x1_0000, type: 2)]
        let below4G = min(ramSize, 0xC000_0000)
        if below4G > 0x10_0000 { map.append(MemoryRegion(base: 0x10_0000, length: below4G - 0x10_0000, type: 1)) }
        if ramSize > 0xC000_0000 { map.append(MemoryRegion(base: 0x1_0000_0000, length: ramSize - 0xC000_0000, type: 1)) }
        return map
    }
}
