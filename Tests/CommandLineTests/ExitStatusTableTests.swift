import CommandLineSupport
import Foundation
import XCTest

/// The bad-input table of issue 19, row by row through the built binaries: each input gives
/// its documented status (`RunExitStatus` for `matryoshka run`, QEMU's for `matryoshka-qemu`)
/// and its one-line reason as the first line on stderr; none hangs, none succeeds silently.
final class ExitStatusTableTests: XCTestCase {
    struct Row {
        var arguments: [String]
        var status: Int32
        /// The first stderr line, "" for none.
        var firstErrorLine: String
        /// Expected standard output, when the row checks it.
        var stdout: String?
    }

    func check(_ program: String, _ rows: [Row], file: StaticString = #filePath, line: UInt = #line) throws {
        for row in rows {
            let r = try Executables.run(program, row.arguments)
            let what = "\(program) \(row.arguments.joined(separator: " ").prefix(120))"
            XCTAssertEqual(r.status, row.status, "status of \(what); stderr: \(r.stderr.prefix(300))", file: file, line: line)
            XCTAssertEqual(r.firstErrorLine, row.firstErrorLine, "stderr of \(what)", file: file, line: line)
            if let out = row.stdout { XCTAssertEqual(r.stdout, out, "stdout of \(what)", file: file, line: line) }
        }
    }

    func testRunGivesItsDocumentedStatusAndOneLineReason() throws {
        let s = try Scratch()
        let exit5 = try s.file("exit5.elf", TestGuests.exit(5))
        let exit0 = try s.file("exit0.elf", TestGuests.exit(0))
        let off = try s.file("poweroff.elf", TestGuests.powerOff())
        let triple = TestGuests.tripleFault(), tf = try s.file("triple.elf", triple.image)
        let cliHlt = TestGuests.haltWithInterruptsDisabled(), ch = try s.file("clihlt.elf", cliHlt.image)
        let masked = TestGuests.haltWithEveryInterruptMasked(), mh = try s.file("masked.elf", masked.image)
        let spin = try s.file("spin.elf", TestGuests.printThenSpin("x"))
        let idle = try s.file("idle.elf", TestGuests.idle())
        let bz = try s.file("half.bzImage", TestGuests.truncatedBzImage())
        let text = try s.file("notes.txt", Array("not a kernel".utf8))
        let empty = try s.file("empty", [])
        let plain = try s.file("plain.elf", TestGuests.plainELF())
        let missing = s.path("missing.elf"), noDir = s.path("no/such/dir/x")
        let usage = RunExitStatus.usageError.rawValue, image = RunExitStatus.imageError.rawValue
        let hint = "(matryoshka takes --long options; QEMU's flags go to matryoshka-qemu)"
        try check("matryoshka", [
            // How the guest ended.
            Row(arguments: ["run", exit5], status: 5, firstErrorLine: "matryoshka: the guest wrote 5 to isa-debug-exit"),
            Row(arguments: ["run", exit0], status: 0, firstErrorLine: "", stdout: ""),
            Row(arguments: ["run", off], status: 0, firstErrorLine: ""),
            Row(arguments: ["run", tf], status: 121, firstErrorLine: "matryoshka: vCPU 0 triple fault at RIP \(triple.rip): the machine shut down"),
            Row(arguments: ["run", ch, "--max-instructions", "1000"], status: 122,
                firstErrorLine: "matryoshka: deadlock: vCPU 0 halted at RIP \(cliHlt.rip) with interrupts disabled (RFLAGS.IF = 0) and no NMI or INIT source"),
            Row(arguments: ["run", mh], status: 122,
                firstErrorLine: "matryoshka: deadlock: vCPU 0 halted at RIP \(masked.rip) with no interrupt source left that could reach it"),
            Row(arguments: ["run", spin, "--max-instructions", "1000"], status: 124,
                firstErrorLine: "matryoshka: instruction limit reached: 1000 guest instructions retired (--max-instructions 1000)", stdout: "x"),
            Row(arguments: ["run", "--max-instructions", "1"], status: 124,
                firstErrorLine: "matryoshka: instruction limit reached: 1 guest instructions retired (--max-instructions 1)"),
            Row(arguments: ["run", idle, "--max-time", "50ms"], status: 124,
                firstErrorLine: "matryoshka: virtual-time limit reached: 50 ms of virtual time (--max-time 50 ms)"),
            // Sizes and features.
            Row(arguments: ["run", "-m", "-5"], status: usage, firstErrorLine: "matryoshka: invalid memory size '-5' (a number of MiB, or with a suffix: 512M, 2G)"),
            Row(arguments: ["run", exit0, "-m", "65536"], status: 0, firstErrorLine: ""),
            Row(arguments: ["run", exit0, "-m", "64G"], status: 0, firstErrorLine: ""),
            Row(arguments: ["run", exit0, "-m", "1.5G"], status: 0, firstErrorLine: ""),
            Row(arguments: ["run", "-m", "100G"], status: usage, firstErrorLine: "matryoshka: memory size '100G' is out of range (1 MiB ... 64 GiB)"),
            Row(arguments: ["run", "-m", "4"], status: usage, firstErrorLine: "matryoshka: the bundled guest hypervisor needs at least 5 MiB of RAM, not 4 MiB"),
            Row(arguments: ["run", "--smp", "0"], status: usage, firstErrorLine: "matryoshka: vCPU count 0 is out of range (1 ... 64)"),
            Row(arguments: ["run", "--cpu", "max,-lm"], status: usage,
                firstErrorLine: "matryoshka: --cpu max,-lm: CPU feature 'lm' cannot be removed: Matryoshka's processor reports it in every model"),
            Row(arguments: ["run", "--cpu", "max,-nonsense"], status: usage,
                firstErrorLine: "matryoshka: --cpu max,-nonsense: unknown CPU feature 'nonsense' (the CPU model 'help' lists them)"),
            Row(arguments: ["run", "--cpu", "max,+avx"], status: usage,
                firstErrorLine: "matryoshka: --cpu max,+avx: CPU feature 'avx' is not implemented by Matryoshka's processor"),
            Row(arguments: ["run", exit0, "--cpu", "max,-pcid,-avx"], status: 0, firstErrorLine: ""),
            Row(arguments: ["run", exit0, "--cpu", "max,+vmx"], status: 0, firstErrorLine: ""),
            Row(arguments: ["run", exit0, "--cpu", "max,+vmx,+vmx-pml"], status: usage,
                firstErrorLine: "matryoshka: --cpu max,+vmx,+vmx-pml: VMX capability 'vmx-pml' is not implemented by Matryoshka's nested VMX"),
            // Flags and values.
            Row(arguments: ["run", exit0, "-nographic"], status: usage, firstErrorLine: "matryoshka: unknown option '-nographic' \(hint)"),
            Row(arguments: ["run", exit0, "-nodefaults"], status: usage, firstErrorLine: "matryoshka: unknown option '-nodefaults' \(hint)"),
            Row(arguments: ["run", "--bogus"], status: usage, firstErrorLine: "matryoshka: Unknown option '--bogus'"),
            Row(arguments: [], status: usage, firstErrorLine: "matryoshka: a command is needed: run, bench, export-guest or trace-view (--help describes them)"),
            Row(arguments: ["run", "--max-instructions", "0"], status: usage,
                firstErrorLine: "matryoshka: --max-instructions must be a whole number of at least 1, not '0'"),
            Row(arguments: ["run", "--max-time", "soon"], status: usage,
                firstErrorLine: "matryoshka: invalid duration 'soon' (a number with ns, us, ms, s, m or h; seconds without)"),
            Row(arguments: ["run", "--clock", "wall"], status: usage, firstErrorLine: "matryoshka: --clock must be virtual or host, not 'wall'"),
            Row(arguments: ["run", "--profile-interval", "0"], status: usage,
                firstErrorLine: "matryoshka: --profile-interval must be between 1 and 1000000 µs, not 0"),
            Row(arguments: ["--version"], status: 0, firstErrorLine: "", stdout: "matryoshka \(ProductVersion.matryoshka)\n"),
            // Files: inputs (image errors), outputs checked before the run (usage errors).
            Row(arguments: ["run", missing], status: image, firstErrorLine: "matryoshka: cannot read kernel image '\(missing)': No such file or directory"),
            Row(arguments: ["run", s.url.path], status: image, firstErrorLine: "matryoshka: cannot read kernel image '\(s.url.path)': it is a directory"),
            Row(arguments: ["run", empty], status: image, firstErrorLine: "matryoshka: cannot read kernel image '\(empty)': the file is empty"),
            Row(arguments: ["run", text], status: image,
                firstErrorLine: "matryoshka: kernel '\(text)': unrecognised kernel image format (expected Multiboot ELF/a.out, an ELF with a PVH entry note, or a Linux bzImage)"),
            Row(arguments: ["run", plain], status: image, firstErrorLine: "matryoshka: kernel '\(plain)': unsupported ELF image: ELF image without a Multiboot header or a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"),
            Row(arguments: ["run", bz], status: image,
                firstErrorLine: "matryoshka: kernel '\(bz)': Linux image is truncated: its setup header (syssize) declares 65536 bytes of protected-mode kernel after the setup code, the file holds 4096"),
            Row(arguments: ["run", exit0, "--initrd", missing], status: image, firstErrorLine: "matryoshka: cannot read initrd '\(missing)': No such file or directory"),
            Row(arguments: ["run", exit0, "--append", String(repeating: "a", count: 100_000)], status: 0, firstErrorLine: ""),
            Row(arguments: ["run", spin, "--exit-trace", noDir], status: usage,
                firstErrorLine: "matryoshka: cannot create exit trace '\(noDir)': No such file or directory", stdout: ""),
            Row(arguments: ["export-guest", "-o", noDir], status: usage, firstErrorLine: "matryoshka: cannot create output file '\(noDir)': No such file or directory"),
        ])
    }

    /// `trace-view` draws a trace written by `run --exit-trace` (a run that printed "x" through
    /// one I/O exit) as an HTML page with a row per vCPU and level, and refuses what it cannot
    /// draw with one line: no file, no spans, a window that is not FROM < TO, a bad width.
    /// Issue 16: a VMCS01 field the VM-entry checks refuse makes `run` name the rule — its id,
    /// the field and value, the SDM section — not a generic error; bad `--vmcs01-write` input
    /// is a usage error.
    func testVMCS01WriteNamesTheEntryCheckItBreaks() throws {
        let s = try Scratch()
        let g = try s.file("exit0.elf", TestGuests.exit(0))
        let usage = RunExitStatus.usageError.rawValue, unresolved = RunExitStatus.unresolvedExit.rawValue
        let prefix = "matryoshka: L0 could not resolve a VM exit on vCPU 0: VMCS01 failed VM entry: "
        try check("matryoshka", [
            Row(arguments: ["run", g, "--vmcs01-write", "pin-based VM-execution controls=0xffffffff"], status: unresolved,
                firstErrorLine: prefix + "VMfailValid 7 (VM entry with invalid control field(s)) — check 'pin-based-controls-reserved': pin-based VM-execution controls (0x4000) = 0xffffffff; reserved pin-based controls set per IA32_VMX_TRUE_PINBASED_CTLS (SDM Vol. 3C §27.2.1.1) — with the fields --vmcs01-write set"),
            Row(arguments: ["run", g, "--vmcs01-write", "0x6800=0"], status: unresolved,
                firstErrorLine: prefix + "VM-entry failure, exit reason 33, qualification 0 — check 'cr0-fixed': guest CR0 (0x6800) = 0x0; CR0 has every bit fixed in VMX operation at its fixed value (PE/PG free with unrestricted guest) (SDM Vol. 3C §27.3.1.1) — with the fields --vmcs01-write set"),
            // A value the checks accept changes nothing visible.
            Row(arguments: ["run", g, "--vmcs01-write", "guest IA32_DEBUGCTL=0"], status: 0, firstErrorLine: ""),
            Row(arguments: ["run", g, "--vmcs01-write", "bogus=1"], status: usage,
                firstErrorLine: "matryoshka: --vmcs01-write: 'bogus' is not a VMCS field (an encoding such as 0x4000, or a name such as 'guest CR0')"),
            Row(arguments: ["run", g, "--vmcs01-write", "0x2=1"], status: usage,
                firstErrorLine: "matryoshka: --vmcs01-write: posted-interrupt notification vector (0x2) belongs to a feature this processor does not implement"),
            Row(arguments: ["run", g, "--vmcs01-write", "0x4000"], status: usage,
                firstErrorLine: "matryoshka: --vmcs01-write '0x4000': expected FIELD=VALUE (e.g. 0x4000=0x16)"),
            Row(arguments: ["run", g, "--vmcs01-write", "0x4000=banana"], status: usage,
                firstErrorLine: "matryoshka: --vmcs01-write: 'banana' is not a number (decimal, or hexadecimal with 0x)"),
        ])
    }

    func testTraceViewDrawsARunsTraceAndRefusesBadInput() throws {
        let s = try Scratch()
        let spin = try s.file("spin.elf", TestGuests.printThenSpin("x"))
        let trace = s.path("trace.json"), page = s.path("page.html"), missing = s.path("missing.json")
        let empty = try s.file("empty.json", Array("{\"traceEvents\":[]}".utf8))
        let usage = RunExitStatus.usageError.rawValue, image = RunExitStatus.imageError.rawValue
        try check("matryoshka", [
            Row(arguments: ["run", spin, "--max-instructions", "10000", "--exit-trace", trace], status: 124,
                firstErrorLine: "matryoshka: instruction limit reached: 10000 guest instructions retired (--max-instructions 10000)", stdout: "x"),
            Row(arguments: ["trace-view", trace, "-o", page, "--zoom", "0-5"], status: 0, firstErrorLine: "", stdout: ""),
            Row(arguments: ["trace-view", missing, "-o", page], status: image,
                firstErrorLine: "matryoshka: cannot read trace '\(missing)': No such file or directory"),
            Row(arguments: ["trace-view", empty, "-o", page], status: image,
                firstErrorLine: "matryoshka: trace '\(empty)': no complete events (\"ph\":\"X\") to draw"),
            Row(arguments: ["trace-view", trace, "-o", page, "--zoom", "5-3"], status: usage,
                firstErrorLine: "matryoshka: --zoom must be FROM-TO in microseconds with FROM < TO, not '5-3'"),
            Row(arguments: ["trace-view", trace, "-o", page, "--width", "10"], status: usage,
                firstErrorLine: "matryoshka: --width must be between 800 and 8000, not 10"),
        ])
        let html = try String(contentsOfFile: page, encoding: .utf8)
        for needle in ["vCPU 0 · L1 guest (hypervisor)", "vCPU 0 · L0 Matryoshka (exit handling)", "Zoom: 0.000 µs – 5.000 µs",
                       "L0: an L1 exit", "IO_INSTRUCTION"] {
            XCTAssertTrue(html.contains(needle), "no '\(needle)' in the page")
        }
        XCTAssertFalse(html.contains("L2 guests"), "a single-level run has no L2 row")
    }

    func testMatryoshkaQEMUKeepsQEMUsStatusesAndSaysWhy() throws {
        let s = try Scratch()
        let hello = try s.file("hello.elf", TestGuests.print("hi\n", exit: 0))
        let exit5 = try s.file("exit5.elf", TestGuests.exit(5))
        let triple = TestGuests.tripleFault(), tf = try s.file("triple.elf", triple.image)
        let cliHlt = TestGuests.haltWithInterruptsDisabled(), ch = try s.file("clihlt.elf", cliHlt.image)
        let log = s.path("serial.log"), noDir = s.path("no/such/dir/x")
        let debugExit = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x4"]
        try check("matryoshka-qemu", [
            Row(arguments: ["-kernel", exit5] + debugExit, status: 11, firstErrorLine: ""),
            Row(arguments: ["-kernel", hello] + debugExit + ["-serial", "stdio"], status: 1, firstErrorLine: "", stdout: "hi\n"),
            Row(arguments: ["-kernel", hello] + debugExit + ["-nographic"], status: 1, firstErrorLine: "", stdout: "hi\n"),
            Row(arguments: ["-kernel", hello] + debugExit + ["-serial", "mon:stdio"], status: 1, firstErrorLine: "", stdout: "hi\n"),
            Row(arguments: ["-kernel", hello] + debugExit, status: 1, firstErrorLine: "", stdout: "hi\n"),
            Row(arguments: ["-kernel", hello] + debugExit + ["-nodefaults"], status: 1, firstErrorLine: "", stdout: ""),
            Row(arguments: ["-kernel", hello] + debugExit + ["-nodefaults", "-nographic"], status: 1, firstErrorLine: "", stdout: "hi\n"),
            Row(arguments: ["-kernel", hello] + debugExit + ["-serial", "file:\(log)"], status: 1, firstErrorLine: "", stdout: ""),
            Row(arguments: ["-kernel", hello, "-serial", "file:\(noDir)"], status: 1,
                firstErrorLine: "matryoshka-qemu: could not open serial device 'file:\(noDir)': No such file or directory"),
            Row(arguments: ["-kernel", hello] + debugExit + ["-machine", "pc-i440fx-7.2,accel=tcg", "-no-shutdown"], status: 1, firstErrorLine: ""),
            Row(arguments: ["-kernel", hello] + debugExit + ["-M", "pc-q35-8.1", "-accel", "tcg", "-m", "2G"], status: 1, firstErrorLine: ""),
            Row(arguments: ["-kernel", hello] + debugExit + ["-machine", "accel=kvm:tcg"], status: 1, firstErrorLine: ""),
            Row(arguments: ["-kernel", tf, "-no-reboot"], status: 0, firstErrorLine: "matryoshka-qemu: vCPU 0 triple fault at RIP \(triple.rip): the machine shut down"),
            Row(arguments: ["-kernel", ch], status: 1,
                firstErrorLine: "matryoshka-qemu: deadlock: vCPU 0 halted at RIP \(cliHlt.rip) with interrupts disabled (RFLAGS.IF = 0) and no NMI or INIT source"),
            Row(arguments: ["-accel", "nonsense"], status: 1, firstErrorLine: "matryoshka-qemu: -accel nonsense: invalid accelerator nonsense"),
            Row(arguments: ["-accel", "kvm"], status: 1, firstErrorLine: "matryoshka-qemu: -accel kvm: not available: Matryoshka emulates the processor itself (use -accel tcg)"),
            Row(arguments: ["-enable-kvm"], status: 1, firstErrorLine: "matryoshka-qemu: -enable-kvm: KVM is not available: Matryoshka emulates the processor itself (use -accel tcg)"),
            Row(arguments: ["-machine", "pc-i440fx-seven"], status: 1,
                firstErrorLine: "matryoshka-qemu: -machine type 'pc-i440fx-seven' is not supported (pc, q35, pc-i440fx-X.Y, pc-q35-X.Y; -machine help)"),
            Row(arguments: ["-kernel", "_NO_FILE_4Uhere_"], status: 1, firstErrorLine: "matryoshka-qemu: could not load kernel '_NO_FILE_4Uhere_': No such file or directory"),
            Row(arguments: ["-kernel", s.url.path], status: 1, firstErrorLine: "matryoshka-qemu: could not load kernel '\(s.url.path)': it is a directory"),
            Row(arguments: ["-kernel", "_NO_FILE_4Uhere_", "-smp", "65"], status: 1,
                firstErrorLine: "matryoshka-qemu: Invalid SMP CPUs 65. The max CPUs supported by machine 'pc' is 64"),
            Row(arguments: ["-kernel", hello, "-cpu", "max,-lm"], status: 1,
                firstErrorLine: "matryoshka-qemu: CPU feature 'lm' cannot be removed: Matryoshka's processor reports it in every model"),
            Row(arguments: ["-kernel", hello] + debugExit + ["-cpu", "max,+vmx"], status: 1, firstErrorLine: ""),
            Row(arguments: ["-m", "-5"], status: 1, firstErrorLine: "matryoshka-qemu: invalid memory size '-5' (a number of MiB, or with a suffix: 512M, 2G)"),
            Row(arguments: ["-frobnicate"], status: 1, firstErrorLine: "matryoshka-qemu: unsupported option '-frobnicate' (-h lists the accepted ones)"),
            Row(arguments: ["--version"], status: 0, firstErrorLine: "", stdout: QEMUVersion.line + "\n"),
        ])
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "hi\n", "-serial file: holds COM1's output")
    }

    /// `-h` lists every accepted flag after the version line kvm-unit-tests reads.
    func testQEMUHelpListsEveryFlag() throws {
        let r = try Executables.run("matryoshka-qemu", ["-h"])
        XCTAssertEqual(r.status, 0)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, QEMUVersion.line)
        for flag in ["-kernel", "-initrd", "-append", "-m", "-smp", "-cpu", "-machine, -M", "-accel", "-enable-kvm", "-device",
                     "-serial", "-nographic", "-display", "-vga", "-monitor", "-name", "-no-reboot", "-no-shutdown",
                     "-nodefaults", "-no-user-config", "-global", "-h, -help", "-version"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix("  \(flag) ") }, "-h lists \(flag)")
        }
    }
}

/// The version line both `-h` and `--version` start with.
enum QEMUVersion {
    static let line = "QEMU emulator version \(ProductVersion.qemu) (Matryoshka \(ProductVersion.matryoshka) QEMU-compatible front end)"
}
