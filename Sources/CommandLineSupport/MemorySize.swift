/// Guest RAM sizes as both front ends take them, in QEMU's `-m` syntax: a number of MiB, or
/// a number (fractions allowed) with a binary suffix B, K, M, G or T in either case, with an
/// optional `size=` key: `256`, `512M`, `2G`, `1.5g`, `size=1G`. The size must be a whole
/// number of MiB within `range`.
public enum MemorySize {
    public static let range: ClosedRange<UInt64> = (1 << 20)...(64 << 30)

    static let units: [Character: UInt64] = ["b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40]

    /// Bytes for `text`, or a `CommandLineError.usage` that quotes it.
    public static func parse(_ text: String) throws -> UInt64 {
        var s = Substring(text.lowercased())
        if s.hasPrefix("size=") { s = s.dropFirst(5) }
        if let comma = s.firstIndex(of: ",") {
            throw CommandLineError.usage("memory option '\(text[comma...].dropFirst())' is not supported (no memory hot-plug: only a size)")
        }
        var unit: UInt64 = 1 << 20
        if let last = s.last, let u = units[last] { unit = u; s = s.dropLast() }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !s.isEmpty, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              !parts[0].isEmpty, parts.count == 1 || !parts[1].isEmpty, parts.count == 1 || parts[1].count <= 9 else {
            throw CommandLineError.usage("invalid memory size '\(text)' (a number of MiB, or with a suffix: 512M, 2G)")
        }
        guard let whole = UInt64(parts[0]) else { throw outOfRange(text) }
        var (bytes, overflow) = whole.multipliedReportingOverflow(by: unit)
        if parts.count == 2, !overflow {
            let scale = (0..<parts[1].count).reduce(UInt64(1)) { p, _ in p * 10 }
            let fraction = UInt64(parts[1])!
            let (scaled, o1) = fraction.multipliedReportingOverflow(by: unit)
            guard !o1, scaled % scale == 0 else {
                throw CommandLineError.usage("memory size '\(text)' is not a whole number of bytes")
            }
            (bytes, overflow) = bytes.addingReportingOverflow(scaled / scale)
        }
        guard !overflow, bytes <= range.upperBound else { throw outOfRange(text) }
        guard bytes >= range.lowerBound else {
            throw CommandLineError.usage(bytes == 0 ? "invalid memory size '\(text)' (at least 1 MiB)" : "memory size '\(text)' is below 1 MiB")
        }
        guard bytes & ((1 << 20) - 1) == 0 else {
            throw CommandLineError.usage("memory size '\(text)' is not a whole number of MiB")
        }
        return bytes
    }

    static func outOfRange(_ text: String) -> CommandLineError {
        .usage("memory size '\(text)' is out of range (1 MiB ... 64 GiB)")
    }
}
