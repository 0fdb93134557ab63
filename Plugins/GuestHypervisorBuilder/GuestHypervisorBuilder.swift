import Foundation
import PackagePlugin

/// Builds the bundled guest hypervisor (Guests/Hypervisor) from source as part of the package
/// build, with the toolchain's own swiftc (Embedded Swift for x86_64-unknown-none-elf), clang
/// (the assembly stubs) and ld.lld, into a Swift source of the target it is applied to
/// (GuestImages) — so the image is inside the matryoshka executable. GuestHypervisorBuildTool
/// does the steps; this declares them to SwiftPM with every guest source as an input.
@main
struct GuestHypervisorBuilder: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let guest = context.package.directoryURL.appending(path: "Guests/Hypervisor")
        let work = context.pluginWorkDirectoryURL
        let sources = try files(under: guest, extensions: ["swift", "S"])
        let headers = try files(under: guest, extensions: ["h"])
        let linkerScript = guest.appending(path: "linker.ld")
        let generated = work.appending(path: "HypervisorGuestImage.swift")
        return [.buildCommand(
            displayName: "Building the guest hypervisor (Embedded Swift, assembly, ld.lld)",
            executable: try context.tool(named: "GuestHypervisorBuildTool").url,
            arguments: [
                "--swiftc", try context.tool(named: "swiftc").url.path,
                "--clang", try context.tool(named: "clang").url.path,
                "--ld", try context.tool(named: "ld.lld").url.path,
                "--work", work.appending(path: "objects").path,
                "--linker-script", linkerScript.path,
                "--output", generated.path,
            ] + sources.map(\.path),
            inputFiles: sources + headers + [linkerScript],
            outputFiles: [generated])]
    }

    /// The files below `directory` with one of `extensions`, sorted so the build is reproducible.
    func files(under directory: URL, extensions: Set<String>) throws -> [URL] {
        guard let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else {
            throw GuestBuildError(description: "cannot list \(directory.path)")
        }
        return walk.compactMap { $0 as? URL }.filter { extensions.contains($0.pathExtension) }
            .sorted { $0.path < $1.path }
    }
}

struct GuestBuildError: Error, CustomStringConvertible {
    let description: String
}
