/// A sampling profile of where guest code spends virtual time: at every sampling period
/// each vCPU contributes its RIP at the level it runs (L1 under VMCS01, or L2 under a VMCS02
/// while L1 has a nested guest running), or an idle sample while it waits (HLT,
/// wait-for-SIPI, or the machine asleep). Samples are taken by the VM between slices, so the
/// interpreter's hot path carries no cost; virtual time advances with retired instructions,
/// so the profile counts instructions (and modelled stalls), not host time, and is
/// reproducible.
public final class GuestProfile {
    public typealias Level = ExitEvent.Level

    /// Virtual nanoseconds between samples.
    public let intervalNanoseconds: UInt64
    /// Samples per RIP of L1.
    public private(set) var l1ByAddress: [UInt64: Int] = [:]
    /// Samples per RIP of L2 (every L2 guest's RIPs together: L0 does not know which of L1's
    /// guests shares an address space with which).
    public private(set) var l2ByAddress: [UInt64: Int] = [:]
    /// Samples while a vCPU was not executing.
    public private(set) var idle = 0
    public private(set) var total = 0

    public init(intervalNanoseconds: UInt64) {
        precondition(intervalNanoseconds > 0)
        self.intervalNanoseconds = intervalNanoseconds
    }

    /// `weight` sampling periods at `rip` of `level` (nil: idle). A weight above one covers
    /// intervals that passed before the sample could be taken.
    public func record(rip: UInt64?, level: Level = .l1, weight: Int = 1) {
        total += weight
        guard let rip else { idle += weight; return }
        switch level {
        case .l1: l1ByAddress[rip, default: 0] += weight
        case .l2: l2ByAddress[rip, default: 0] += weight
        }
    }

    /// Samples per RIP at `level`.
    public func byAddress(_ level: Level) -> [UInt64: Int] {
        level == .l1 ? l1ByAddress : l2ByAddress
    }

    /// Samples taken while a vCPU ran at `level`.
    public func samples(_ level: Level) -> Int {
        byAddress(level).values.reduce(0, +)
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

    /// The busiest functions of `level` (addresses without a symbol stay on their own), most
    /// samples first; ties by label.
    public func rows(_ level: Level = .l1, symbols: Symbolizer?) -> [Row] {
        let counts = byAddress(level)
        var rows: [String: Row] = [:]
        for (rip, n) in counts {
            let label = symbols?(rip).map(\.name) ?? "0x" + String(rip, radix: 16)
            var row = rows[label] ?? Row(label: label, samples: 0, hottest: rip)
            // More samples wins, then the lower address (`hottest` is always a sampled RIP).
            if (n, row.hottest) > (counts[row.hottest]!, rip) { row.hottest = rip }
            row.samples += n
            rows[label] = row
        }
        return rows.values.sorted { ($1.samples, $0.label) < ($0.samples, $1.label) }
    }

    /// The table `matryoshka run --profile` prints: share of all samples, samples, function and
    /// its hottest address (as symbol+offset), the `top` busiest rows, then idle and the rest.
    /// When L2 ran, the first line gives each level's share and L1's and L2's rows follow in
    /// two sections, L2's named by `l2Symbols` (L2 runs its own kernel, not L1's).
    public func report(symbols: Symbolizer?, l2Symbols: Symbolizer? = nil, top: Int = 20) -> String {
        let us = Double(intervalNanoseconds) / 1000
        var out = "guest profile: \(total) samples, one per vCPU every \(TraceExport.format1(us)) µs of virtual time"
        guard total > 0 else { return out + "\n" }
        func pct(_ n: Int) -> String { TraceExport.format1(Double(n) * 100 / Double(total)) + "%" }
        let nested = !l2ByAddress.isEmpty
        if nested {
            out += ": L1 \(pct(samples(.l1))), L2 \(pct(samples(.l2))), idle \(pct(idle))"
        }
        out += "\n"
        func section(_ level: Level, _ symbols: Symbolizer?) {
            out += "  share    samples  function                          hottest RIP\n"
            let all = rows(level, symbols: symbols)
            for r in all.prefix(top) {
                let at = symbols?(r.hottest).map { "\($0.name)+0x\(String($0.offset, radix: 16))" } ?? ""
                out += "  " + pct(r.samples).leftPadded(6) + " " + String(r.samples).leftPadded(10) + "  "
                    + r.label.rightPadded(32) + "  0x" + String(r.hottest, radix: 16) + (at.isEmpty ? "" : " (\(at))") + "\n"
            }
            let rest = all.dropFirst(top).reduce(0) { $0 + $1.samples }
            if rest > 0 { out += "  " + pct(rest).leftPadded(6) + " " + String(rest).leftPadded(10) + "  (\(all.count - top) more)\n" }
        }
        if nested { out += "L1:\n" }
        section(.l1, symbols)
        if nested {
            out += "L2 (every L2 guest's RIPs together):\n"
            section(.l2, l2Symbols)
        }
        if idle > 0 { out += "  " + pct(idle).leftPadded(6) + " " + String(idle).leftPadded(10) + "  (idle: halted, waiting for SIPI or asleep)\n" }
        return out
    }
}
