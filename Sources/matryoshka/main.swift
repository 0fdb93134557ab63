import ArgumentParser
import Foundation

/// The `matryoshka` command line.
struct Matryoshka: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matryoshka",
        abstract: "A hypervisor that gives its guests a virtualized Intel VT-x on any x86-64 or ARM host.",
        subcommands: [RunCommand.self, BenchCommand.self, ExportGuestCommand.self])
}

do {
    var command = try Matryoshka.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    // `run` ends with the guest's status (isa-debug-exit) as an ExitCode.
    exit(code.rawValue)
} catch let f as Failure {
    FileHandle.standardError.write(Data("matryoshka: \(f.description)\n".utf8))
    exit(2)
} catch {
    // --help and --version print and exit 0 as ArgumentParser does; any other parse or
    // validation error (an unknown flag, a bad value) is one line and exit status 2, like a
    // bad image.
    if Matryoshka.exitCode(for: error) == .success { Matryoshka.exit(withError: error) }
    let message = Matryoshka.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    FileHandle.standardError.write(Data("matryoshka: \(message)\n".utf8))
    exit(2)
}
