@_extern(c, "l2_image_bounds") func l2ImageBounds(_ index: Int32, _ out: UnsafeMutablePointer<UInt64>)

/// An L2 guest's image as linked into L1 (L2/*.S): the bytes, and the header at their start
/// that says where they go in guest-physical memory and how the guest starts.
struct L2Image {
    var start: UInt64 = 0, size: UInt64 = 0
    var load: UInt64 = 0, entry: UInt64 = 0, stack: UInt64 = 0, cr3: UInt64 = 0
    var gdtBase: UInt64 = 0, gdtLimit: UInt64 = 0, idtBase: UInt64 = 0, idtLimit: UInt64 = 0
    var trBase: UInt64 = 0

    init() {}

    init(index: Int32) {
        var bounds: (UInt64, UInt64) = (0, 0)
        withUnsafeMutablePointer(to: &bounds) { $0.withMemoryRebound(to: UInt64.self, capacity: 2) { l2ImageBounds(index, $0) } }
        start = bounds.0
        size = bounds.1 - bounds.0
        let h = Physical.pointer(start, as: UInt64.self)
        (load, entry, stack, cr3) = (h[0], h[1], h[2], h[3])
        (gdtBase, gdtLimit, idtBase, idtLimit, trBase) = (h[4], h[5], h[6], h[7], h[8])
    }
}
