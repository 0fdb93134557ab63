import ArgumentParser

/// The `matryoshka` command line.
struct Matryoshka: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matryoshka",
        abstract: "A hypervisor that gives its guests a virtualized Intel VT-x on any x86-64 or ARM host.",
        subcommands: [BenchCommand.self, ExportGuestCommand.self])
}

Matryoshka.main()
