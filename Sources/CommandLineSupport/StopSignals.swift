#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT, SIGTERM and SIGHUP end a run cleanly: the handler only records the signal, the
/// VM's run loop sees it between slices (`RunLimits.interruption`) and returns, and the front
/// end then writes its summary, trace and last serial bytes. The handler disarms itself, so
/// a second signal of the same kind terminates at once.
public enum StopSignals {
    public static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handlers.
    public static func install() {
        for s in handled { _ = signal(s, recordSignal) }
    }

    /// The first signal received since `install`, if any.
    public static var received: Int32? { receivedSignal == 0 ? nil : receivedSignal }

    /// For `RunLimits.interruption`.
    public static let interruption: @Sendable () -> Int32? = { received }

    /// SIGINT, SIGTERM, SIGHUP by name, else "signal N".
    public static func name(_ s: Int32) -> String {
        switch s {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(s)"
        }
    }
}

/// Written only by the handler (a plain store is async-signal-safe), read between slices.
nonisolated(unsafe) private var receivedSignal: Int32 = 0

private func recordSignal(_ s: Int32) {
    if receivedSignal == 0 { receivedSignal = s }
    _ = signal(s, SIG_DFL)
}
