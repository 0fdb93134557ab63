/// Each processor's task-state segment. VM exits need one: HOST_TR_SELECTOR may not be 0
/// (SDM Vol. 3C §27.2.3, "Checks on Host Segment and Descriptor-Table Registers"), and LTR marks
/// a descriptor busy, so every CPU has its own descriptor in the GDT.
enum TaskState {
    static let size: UInt64 = 104
    nonisolated(unsafe) static var segments: UInt64 = 0

    static func base(cpu: Int) -> UInt64 { segments + UInt64(cpu) * size }
    static func selector(cpu: Int) -> UInt16 { Layout.firstTSSSelector + UInt16(cpu) * 16 }

    /// BSP, once: room for every CPU's TSS.
    static func allocate() { segments = PageAllocator.allocate() }

    /// Writes this CPU's 16-byte TSS descriptor (SDM Vol. 3A §7.2.3, "TSS Descriptor in 64-bit
    /// Mode": limit 67H, type 9 = available 64-bit TSS, present) and loads TR.
    static func load(cpu: Int) {
        let b = base(cpu: cpu)
        let d = Physical.pointer(gdtrBase() + UInt64(selector(cpu: cpu)), as: UInt64.self)
        d[0] = (size - 1) | (b & 0xFF_FFFF) << 16 | 0x89 << 40 | ((b >> 24) & 0xFF) << 56
        d[1] = b >> 32
        loadTaskRegister(selector(cpu: cpu))
    }
}
