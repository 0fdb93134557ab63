#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reserves `size` bytes of zeroed, page-aligned host memory committed on first touch.
func hostAllocateZeroed(_ size: Int) -> UnsafeMutableRawPointer? {
    let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    if p == MAP_FAILED { return nil }
    return p
}

func hostFree(_ p: UnsafeMutableRawPointer, _ size: Int) {
    munmap(p, size)
}
