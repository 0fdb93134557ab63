/// A sampling profile of where guest code spends virtual time: at every sampling period
/// each vCPU contributes its RIP (or an idle sample while it waits: HLT, wait-for-SIPI, or the
/// machine asleep). Samples are taken by the VM between slices, so the interpreter's hot path
/// carries no cost; virtual time advances with retired instructions, so the profile counts
/// instructions (and modelled stalls), not host time, and is reproducible.
public final class GuestProfile {
    /// Virtual nanoseconds between samples.
    public let intervalNanoseconds: UInt64
    /// Samples per RIP.
    public private(set) var byAddress: [UInt64: Int] = [:]
    /// Samples while a vCPU was not executing.
    public private(set) var idle = 0
    public private(set) var total = 0

    public init(intervalNanoseconds: UInt64) {
        precondition(intervalNanoseconds > 0)
        self.intervalNanoseconds = intervalNanoseconds
    }

    /// `weight` sampling periods at `rip` (nil: idle). A weight above one covers intervals
    /// that passed before the sample could be taken.
    public func record(rip: UInt64?, weight: Int = 1) {
        total += weight
        if let rip { byAddress[rip, default: 0] += weight } else { idle += weight }
    }

    /// A symbol for an address: the name and the offset into it.
    public typealias Symbolizer = (UInt64) -> (name: String, offset: UInt64)?

    public struct Row: Equatable, Sendable {
        /// A function name, or a hexadecimal address when there is no symbol for it.
        public var label: String
        public var samples: Int
        /// The RIP with the most samples in this row.
        public var hottest: UInt64
    }

    /// The busiest functions (addresses without a symbol stay on their own), most samples
    /// first; ties by label.
    public func rows(symbols: Symbolizer?) -> [Row] {
        var rows: [String: Row] = [:]
        for (rip, n) in byAddress {
            let label = symbols?(rip).map(\.name) ?? "0x" + String(rip, radix: 16)
            var row = rows[label] ?? Row(label: label, samples: 0, hottest: rip)
            // More samples wins, then the lower address (`hottest` is always a sampled RIP).
            if (n, row.hottest) > (byAddress[row.hottest]!, rip) { row.hottest = rip }
            row.samples += n
            rows[label] = row
        }
        return rows.values.sorted { ($1.samples, $0.label) < ($0.samples, $1.label) }
    }

    /// The table `matryoshka run --profile` prints: share, samples, function and its hottest
    /// address (as symbol+offset), the `top` busiest rows, then idle and the rest.
    public func report(symbols: Symbolizer?, top: Int = 20) -> String {
        let us = Double(intervalNanoseconds) / 1000
        var out = "guest profile: \(total) samples, one per vCPU every \(TraceExport.format1(us)) µs of virtual time\n"
        guard total > 0 else { return out }
        func pct(_ n: Int) -> String { TraceExport.format1(Double(n) * 100 / Double(total)) + "%" }
        out += "  share    samples  function                          hottest RIP\n"
        let all = rows(symbols: symbols)
        for r in all.prefix(top) {
            let at = symbols?(r.hottest).map { "\($0.name)+0x\(String($0.offset, radix: 16))" } ?? ""
            out += "  " + pct(r.samples).leftPadded(6) + " " + String(r.samples).leftPadded(10) + "  "
                + r.label.rightPadded(32) + "  0x" + String(r.hottest, radix: 16) + (at.isEmpty ? "" : " (\(at))") + "\n"
        }
        let rest = all.dropFirst(top).reduce(0) { $0 + $1.samples }
        if rest > 0 { out += "  " + pct(rest).leftPadded(6) + " " + String(rest).leftPadded(10) + "  (\(all.count - top) more)\n" }
        if idle > 0 { out += "  " + pct(idle).leftPadded(6) + " " + String(idle).leftPadded(10) + "  (idle: halted, waiting for SIPI or asleep)\n" }
        return out
    }
}
