/// Constants shared with the assembly (Assembly/Layout.h).
enum Layout {
    static let kernelCS64: UInt16 = 0x18
    static let kernelDS: UInt16 = 0x10
    static let firstTSSSelector: UInt16 = 0x20
    static let maxCPUs = 8
    static let apTrampoline: UInt64 = 0x8000
}
