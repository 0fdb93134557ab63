/// Durations of virtual time for `--max-time`: a number (fractions allowed) with a unit ns,
/// us, ms, s, m or h; a bare number is seconds, as for timeout(1): `500ms`, `2.5s`, `10`, `1m`.
public enum VirtualDuration {
    static let units: [(suffix: String, nanoseconds: UInt64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// Nanoseconds for `text`, or a `CommandLineError.usage` that quotes it.
    public static func parse(_ text: String) throws -> UInt64 {
        var number = Substring(text)
        var unit: UInt64 = 1_000_000_000
        // Longest suffix first: "ms" before "s", "ns" before "s".
        for u in units.sorted(by: { $0.suffix.count > $1.suffix.count }) where number.hasSuffix(u.suffix) {
            unit = u.nanoseconds
            number = number.dropLast(u.suffix.count)
            break
        }
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !number.isEmpty, !parts[0].isEmpty, parts.count == 1 || (1...9).contains(parts[1].count),
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
            throw CommandLineError.usage("invalid duration '\(text)' (a number with ns, us, ms, s, m or h; seconds without)")
        }
        guard let whole = UInt64(parts[0]) else { throw tooLong(text) }
        var (ns, overflow) = whole.multipliedReportingOverflow(by: unit)
        if parts.count == 2, !overflow {
            let scale = (0..<parts[1].count).reduce(UInt64(1)) { p, _ in p * 10 }
            let (f, o) = UInt64(parts[1])!.multipliedReportingOverflow(by: unit)
            guard !o else { throw tooLong(text) }
            (ns, overflow) = ns.addingReportingOverflow(f / scale)
        }
        guard !overflow, ns < UInt64.max else { throw tooLong(text) }
        guard ns > 0 else { throw CommandLineError.usage("duration '\(text)' must be more than 0") }
        return ns
    }

    static func tooLong(_ text: String) -> CommandLineError { .usage("duration '\(text)' is too long") }

    /// `ns` for a message: the largest unit that keeps it readable.
    public static func describe(_ ns: UInt64) -> String {
        if ns >= 1_000_000_000 { return formatted(Double(ns) / 1e9) + " s" }
        if ns >= 1_000_000 { return formatted(Double(ns) / 1e6) + " ms" }
        if ns >= 1_000 { return formatted(Double(ns) / 1e3) + " µs" }
        return "\(ns) ns"
    }

    static func formatted(_ v: Double) -> String {
        let rounded = (v * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    }
}
