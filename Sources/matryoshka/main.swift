import ArgumentParser
import CommandLineSupport
import Foundation

/// The `matryoshka` command line.
struct Matryoshka: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matryoshka",
        abstract: "A hypervisor that gives its guests a virtualized Intel VT-x on any x86-64 or ARM host.",
        version: "matryoshka \(ProductVersion.matryoshka)",
        subcommands: [RunCommand.self, BenchCommand.self, ExportGuestCommand.self, TraceViewCommand.self])
}

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("matryoshka: \(message)\n".utf8))
    exit(status)
}

/// A single-dash word (`-nographic`): QEMU's spelling, which ArgumentParser would read as a
/// bundle of short flags (one of them -h).
func isQEMUStyleFlag(_ a: String) -> Bool {
    a.count > 2 && a.hasPrefix("-") && !a.hasPrefix("--") && a.dropFirst().first!.isLetter
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    var command = try Matryoshka.parseAsRoot(arguments)
    try command.run()
} catch let e as CommandLineError {
    fail(e.description, status: e.runStatus)
} catch let e as ExitCode {
    exit(e.rawValue)
} catch {
    // --help and --version print and exit 0 as ArgumentParser does, when they were asked for;
    // any other parse or validation error (an unknown flag, a bad value) is one line and the
    // usage-error status.
    let asked = arguments.contains { ["-h", "--help", "--version"].contains($0) } || arguments.first == "help"
    if Matryoshka.exitCode(for: error) == .success && asked { Matryoshka.exit(withError: error) }
    if let qemuStyle = arguments.first(where: isQEMUStyleFlag) {
        fail("unknown option '\(qemuStyle)' (matryoshka takes --long options; QEMU's flags go to matryoshka-qemu)",
             status: RunExitStatus.usageError.rawValue)
    }
    if Matryoshka.exitCode(for: error) == .success {
        fail("a command is needed: run, bench, export-guest or trace-view (--help describes them)", status: RunExitStatus.usageError.rawValue)
    }
    let message = Matryoshka.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    fail(message, status: RunExitStatus.usageError.rawValue)
}
