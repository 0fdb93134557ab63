/// The processor mode an L2 guest starts in.
enum GuestMode {
    /// Real-address mode, through "unrestricted guest" (SDM Vol. 3C §26.6).
    case realMode
    /// 64-bit mode with the guest's own 4-level paging.
    case longMode
}

/// What an L2 guest is: its name, mode, image and guest-physical memory. Memory below
/// `mappedBytes` is mapped when the guest is created; [`lazyStart`, `lazyEnd`) is mapped a page
/// at a time on EPT violations; anything else is outside the guest's memory.
struct GuestDefinition {
    var name: StaticString
    var mode: GuestMode
    var image: Int32
    var mappedBytes: UInt64
    var lazyStart: UInt64
    var lazyEnd: UInt64

    static let count = 2

    static func definition(_ index: Int) -> GuestDefinition {
        index == 0
            ? GuestDefinition(name: "collatz16", mode: .realMode, image: 0, mappedBytes: 0x1_0000, lazyStart: 0, lazyEnd: 0)
            : GuestDefinition(name: "sieve64", mode: .longMode, image: 1, mappedBytes: 0x10_0000,
                              lazyStart: 0x40_0000, lazyEnd: 0xA0_0000)
    }
}
