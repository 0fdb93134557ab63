/// `matryoshka run`'s exit statuses: the guest's own isa-debug-exit value passes through, and
/// Matryoshka's statuses sit where guests rarely exit (sysexits.h for the command line's own
/// errors, 121–124 for how the guest ended, 128 + N for signal N as shells report it), each
/// with one line on stderr. The README's table and `run --help` are generated from `rows`.
public enum RunExitStatus: Int32, CaseIterable, Sendable {
    /// The guest wrote 0 to isa-debug-exit, or powered off through ACPI (S5).
    case success = 0
    /// Bad flags or values, an output file that cannot be created (EX_USAGE).
    case usageError = 64
    /// A kernel, initrd or symbol file that is missing, unreadable or malformed (EX_DATAERR).
    case imageError = 65
    /// A VM exit L0 could not resolve (EX_SOFTWARE: an L0 limitation or bug).
    case unresolvedExit = 70
    /// A vCPU triple-faulted: the machine shut down.
    case tripleFault = 121
    /// Every vCPU waits and nothing can wake one.
    case deadlock = 122
    /// `--max-instructions` or `--max-time` was reached (124, as timeout(1)).
    case limitReached = 124

    /// Signal `n` (SIGINT, SIGTERM, SIGHUP) ended the run: 128 + n, after the summary, trace
    /// and the last serial bytes are written.
    public static func signal(_ n: Int32) -> Int32 { 128 + n }

    /// The table for documentation: status, meaning.
    public static let rows: [(status: String, meaning: String)] = [
        ("0", "the guest wrote 0 to isa-debug-exit, or powered off (ACPI S5)"),
        ("N", "the guest wrote N (1–255, low 8 bits) to isa-debug-exit"),
        ("64", "usage error: a bad flag or value, an output file it cannot create"),
        ("65", "image error: a kernel, initrd or symbol file missing or malformed"),
        ("70", "a VM exit L0 could not resolve"),
        ("121", "a vCPU triple-faulted (shutdown)"),
        ("122", "deadlock: every vCPU waits and nothing can wake one"),
        ("124", "--max-instructions or --max-time reached"),
        ("128+N", "signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP)"),
    ]
}
