#if canImport(Glibc)
import Glibc
private let libcRead = Glibc.read, libcWrite = Glibc.write, libcClose = Glibc.close
#elseif canImport(Darwin)
import Darwin
private let libcRead = Darwin.read, libcWrite = Darwin.write, libcClose = Darwin.close
#endif

/// The C library's read/write/close under names that do not clash with methods of the
/// same name in the types that use them.
enum POSIX {
    static func read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { libcRead(fd, p, n) }
    static func write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { libcWrite(fd, p, n) }
    static func close(_ fd: Int32) -> Int32 { libcClose(fd) }
}
