#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a file the user named (kernel, initrd, symbol file): a missing, unreadable or
/// non-regular path fails with the system's reason, which each front end words its own way.
public enum InputFile {
    /// Why `path` could not be read.
    public struct ReadError: Error, Equatable {
        public let path: String
        public let reason: String
    }

    /// The whole file.
    public static func read(_ path: String) throws -> [UInt8] {
        func fail(_ reason: String) -> ReadError { ReadError(path: path, reason: reason) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw fail(reason(errno)) }
        defer { _ = POSIX.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail(reason(errno)) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw fail("it is a directory")
        default: throw fail("not a regular file")
        }
        guard st.st_size > 0 else { throw fail("the file is empty") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { POSIX.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw fail(n == 0 ? "the file shrank while being read" : reason(errno)) }
            done += n
        }
        return bytes
    }

    /// `matryoshka run`'s wording: an image error "cannot read <what> '<path>': <reason>".
    public static func read(_ path: String, what: String) throws -> [UInt8] {
        do { return try read(path) } catch let e as ReadError {
            throw CommandLineError.image("cannot read \(what) '\(path)': \(e.reason)")
        }
    }

    /// strerror's text for `code`.
    public static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// A file the run writes (exit trace, export, serial log), created before the run so a bad
/// path is a usage error at once rather than after the guest has run.
public final class OutputFile {
    public let path: String
    public private(set) var fileDescriptor: Int32

    /// Why `path` could not be created.
    public struct CreateError: Error, Equatable {
        public let path: String
        public let reason: String
    }

    /// Creates (or truncates) `path`.
    public init(_ path: String) throws {
        self.path = path
        fileDescriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fileDescriptor >= 0 else { throw CreateError(path: path, reason: InputFile.reason(errno)) }
    }

    /// `matryoshka`'s wording: a usage error "cannot create <what> '<path>': <reason>".
    public static func create(_ path: String, what: String) throws -> OutputFile {
        do { return try OutputFile(path) } catch let e as CreateError {
            throw CommandLineError.usage("cannot create \(what) '\(path)': \(e.reason)")
        }
    }

    deinit { if fileDescriptor >= 0 { _ = POSIX.close(fileDescriptor) } }

    /// Writes all of `bytes`; a failure (disk full) is reported with the path.
    public func write(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { POSIX.write(fileDescriptor, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw CommandLineError.usage("cannot write '\(path)': \(InputFile.reason(errno))") }
            done += n
        }
    }

    /// Closes the file (further writes fail).
    public func close() {
        if fileDescriptor >= 0 { _ = POSIX.close(fileDescriptor) }
        fileDescriptor = -1
    }
}
