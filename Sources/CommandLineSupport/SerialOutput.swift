#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// COM1's bytes on their way to a file descriptor (stdout, or `-serial file:`): written a line
/// at a time (or every 4 KiB), and whatever is left when the run ends — a prompt, the last
/// line before a signal — with `flush`.
public final class SerialOutput {
    private let fd: Int32
    private var pending: [UInt8] = []

    public init(fileDescriptor: Int32) {
        fd = fileDescriptor
        pending.reserveCapacity(4096)
    }

    public func put(_ byte: UInt8) {
        pending.append(byte)
        if byte == 10 || pending.count >= 4096 { flush() }
    }

    public func flush() {
        var done = 0
        while done < pending.count {
            let n = pending.withUnsafeBytes { POSIX.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }    // a closed stdout: the guest's output has nowhere to go
            done += n
        }
        pending.removeAll(keepingCapacity: true)
    }
}
