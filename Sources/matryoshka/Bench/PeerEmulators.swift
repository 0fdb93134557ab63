import Foundation

/// Runs a Multiboot image on a reference emulator installed from Debian packages and times it.
///
/// Wall time includes each peer's start-up and boot (BIOS, GRUB for Bochs), so the benchmark
/// measures a run with the workload and one with zero iterations and uses the difference.
protocol PeerEmulator {
    var name: String { get }
    /// Why the peer cannot run here (binary or firmware missing), or nil when it can.
    func unavailableReason() -> String?
    /// Boots `elf` and returns the wall-clock seconds until the emulator exited.
    func run(elf: [UInt8], workDirectory: URL) throws -> Double
}

struct PeerError: Error, CustomStringConvertible {
    let description: String
}

/// Locates an executable on PATH.
func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// A peer's loop time (the run less the one-iteration run), or nil after saying it is lost in
/// the peer's boot-time variation (Bochs's boot alone varies by a second).
func loopSeconds(_ peer: PeerEmulator, run: Double, baseline: Double) -> Double? {
    if run > baseline { return run - baseline }
    print(String(format: "%@: not measurable — the run took %.2f s, the one-iteration run %.2f s; more iterations would resolve it",
                 peer.name as NSString, run, baseline))
    return nil
}

/// Runs a process to completion with stdin from `input`, discarding its output (or writing its
/// standard output to `output`); returns seconds.
func timedRun(_ executable: String, _ arguments: [String], input: String? = nil,
              in directory: URL, timeout: Double = 600, output: URL? = nil) throws -> Double {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.currentDirectoryURL = directory
    let devNull = FileHandle(forWritingAtPath: "/dev/null")
    if let output {
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: output)
    } else {
        p.standardOutput = devNull
    }
    p.standardError = devNull
    let stdin = Pipe()
    p.standardInput = stdin
    let start = Date()
    try p.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try? stdin.fileHandleForWriting.close()
    while p.isRunning {
        if Date().timeIntervalSince(start) > timeout {
            p.terminate()
            throw PeerError(description: "\(executable) did not finish within \(Int(timeout)) s")
        }
        usleep(2000)
    }
    return Date().timeIntervalSince(start)
}

/// QEMU TCG: `qemu-system-x86_64 -kernel image.elf` (QEMU's Multiboot loader), exit through
/// isa-debug-exit.
struct QEMUPeer: PeerEmulator {
    let name = "QEMU TCG"
    let binary = findExecutable("qemu-system-x86_64")

    func unavailableReason() -> String? {
        binary == nil ? "qemu-system-x86_64 not found (apt-get install qemu-system-x86)" : nil
    }

    func run(elf: [UInt8], workDirectory: URL) throws -> Double {
        guard let binary else { throw PeerError(description: unavailableReason() ?? "") }
        let image = workDirectory.appendingPathComponent("qemu-kernel.elf")
        try Data(elf).write(to: image)
        return try timedRun(binary, [
            "-machine", "pc,accel=tcg", "-m", "\(BenchmarkGuest.memoryMiB)", "-display", "none",
            "-nodefaults", "-no-reboot", "-kernel", image.path,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
        ], in: workDirectory)
    }
}

/// Debian's Bochs: boots a GRUB rescue ISO (grub-mkrescue) whose menu loads the image with
/// `multiboot`; the guest ends the simulation through port 0x8900 ("Shutdown").
struct BochsPeer: PeerEmulator {
    let name = "Bochs"
    let binary = findExecutable("bochs")
    let mkrescue = findExecutable("grub-mkrescue")
    static let bios = "/usr/share/bochs/BIOS-bochs-latest"
    static let vgaBIOS = "/usr/share/vgabios/vgabios.bin"
    /// Bochs's `cpu: model=` (nil: its default, which has no VMX).
    var cpuModel: String?
    /// Where Bochs's standard output goes, with the port E9H console on (nil: discarded).
    var consoleOutput: URL?
    /// A model whose VMX (Bochs built with --enable-vmx=2, as Debian's is) runs the nested
    /// benchmark's guest hypervisor.
    static let vmxModel = "corei7_skylake_x"

    func withCPUModel(_ model: String, consoleOutput: URL) -> BochsPeer {
        var p = self
        p.cpuModel = model
        p.consoleOutput = consoleOutput
        return p
    }

    func unavailableReason() -> String? {
        if binary == nil { return "bochs not found (apt-get install bochs bochsbios vgabios bochs-term)" }
        if mkrescue == nil { return "grub-mkrescue not found (apt-get install grub-pc-bin xorriso mtools)" }
        for f in [Self.bios, Self.vgaBIOS] where !FileManager.default.fileExists(atPath: f) {
            return "\(f) not found"
        }
        return nil
    }

    func run(elf: [UInt8], workDirectory: URL) throws -> Double {
        guard let binary, let mkrescue else { throw PeerError(description: unavailableReason() ?? "") }
        let fm = FileManager.default
        let root = workDirectory.appendingPathComponent("iso-root")
        try? fm.removeItem(at: root)
        try fm.createDirectory(at: root.appendingPathComponent("boot/grub"), withIntermediateDirectories: true)
        try Data(elf).write(to: root.appendingPathComponent("boot/kernel.elf"))
        try Data("set timeout=0\nset default=0\nmenuentry \"bench\" {\n multiboot /boot/kernel.elf\n boot\n}\n".utf8)
            .write(to: root.appendingPathComponent("boot/grub/grub.cfg"))
        let iso = workDirectory.appendingPathComponent("bench.iso")
        _ = try timedRun(mkrescue, ["-o", iso.path, root.path], in: workDirectory)
        guard fm.fileExists(atPath: iso.path) else { throw PeerError(description: "grub-mkrescue produced no ISO") }
        let rc = """
        megs: \(BenchmarkGuest.memoryMiB)
        romimage: file=\(Self.bios)
        vgaromimage: file=\(Self.vgaBIOS)
        ata0-master: type=cdrom, path=\(iso.path), status=inserted
        boot: cdrom
        display_library: term
        log: /dev/null
        """ + (cpuModel.map { "\ncpu: model=\($0)" } ?? "") + (consoleOutput == nil ? "" : "\nport_e9_hack: enabled=1")
        let rcFile = workDirectory.appendingPathComponent("bochsrc")
        try Data(rc.utf8).write(to: rcFile)
        // Debian's Bochs has its debugger compiled in: continue, then quit when the guest stops.
        return try timedRun(binary, ["-q", "-f", rcFile.path], input: "c\nquit\n", in: workDirectory,
                            output: consoleOutput)
    }
}
