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
} catch let f as Failure {
    FileHandle.standardError.write(Data("matryoshka: \(f.description)\n".utf8))
    exit(2)
} catch {
    Matryoshka.exit(withError: error)
}
