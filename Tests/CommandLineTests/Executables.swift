import Foundation
import XCTest

/// The built `matryoshka` and `matryoshka-qemu`, run as a user or a test harness runs them.
enum Executables {
    /// The build products directory: where the test bundle sits (SwiftPM builds every product
    /// there with the tests).
    static var productsDirectory: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        #endif
        return Bundle.main.bundleURL
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The first line of stderr, "" without one.
        var firstErrorLine: String { stderr.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "" }
    }

    /// Runs `program` to its end; `timeout` seconds later it is killed and the test fails
    /// (a hang is a result the command line must never give).
    static func run(_ program: String, _ arguments: [String], timeout: Double = 60,
                    file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let p = try start(program, arguments)
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { usleep(2_000) }
        if p.process.isRunning {
            p.process.terminate()
            XCTFail("\(program) \(arguments.joined(separator: " ")) did not end within \(timeout) s", file: file, line: line)
        }
        p.process.waitUntilExit()
        return p.result()
    }

    /// A started process whose output goes to files.
    final class Running {
        let process: Process
        let out: URL, err: URL
        init(process: Process, out: URL, err: URL) { self.process = process; self.out = out; self.err = err }
        var stdout: String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }
        func result() -> Result {
            defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
            return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
        }
        /// Waits until stdout or stderr contains `text`.
        func waitFor(_ text: String, inStderr: Bool = false, timeout: Double = 30) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if (inStderr ? stderr : stdout).contains(text) { return true }
                usleep(5_000)
            }
            return false
        }
    }

    static func start(_ program: String, _ arguments: [String]) throws -> Running {
        let url = productsDirectory.appendingPathComponent(program)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw NotBuilt(path: url.path)
        }
        let tmp = FileManager.default.temporaryDirectory
        let out = tmp.appendingPathComponent("cli-\(UUID().uuidString).out")
        let err = tmp.appendingPathComponent("cli-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = url
        p.arguments = arguments
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        return Running(process: p, out: out, err: err)
    }
}

struct NotBuilt: Error, CustomStringConvertible {
    let path: String
    var description: String { "\(path) is not built (swift build -c release -Xswiftc -enable-testing --build-tests builds it)" }
}

/// A temporary directory with the test guests written into it.
final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("matryoshka-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `bytes` as `name` and returns its path.
    @discardableResult
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
