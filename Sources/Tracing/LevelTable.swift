import CPU

/// The per-level table of a nested run: what each level retired and how long it ran, the L2
/// exits L0 handled alone and those it reflected to L1, L1's own exits, by reason, and the
/// virtual VM entries.
extension TraceExport {
    /// What the machine as a whole measured, beside the trace's own counters.
    public struct RunTotals: Sendable {
        /// Instructions retired by all vCPUs.
        public var instructions: UInt64
        /// The machine's virtual time at the end, and the part skipped while every vCPU waited.
        public var nanoseconds: UInt64
        public var idleNanoseconds: UInt64
        /// Host seconds the run took, when the caller measured them.
        public var wallSeconds: Double?

        public init(instructions: UInt64, nanoseconds: UInt64, idleNanoseconds: UInt64, wallSeconds: Double? = nil) {
            self.instructions = instructions
            self.nanoseconds = nanoseconds
            self.idleNanoseconds = idleNanoseconds
            self.wallSeconds = wallSeconds
        }
    }

    /// Reason rows: name, then L2 exits handled by L0 alone, L2 exits reflected to L1, L1 exits.
    static func reasonRows(_ t: ExitTrace) -> [(name: String, counts: [UInt64])] {
        var rows: [(String, [UInt64])] = []
        for r in ExitReason.allCases {
            let c = [t.count(r, level: .l2, disposition: .handledByL0), t.count(r, level: .l2, disposition: .reflectedToL1),
                     t.count(r, level: .l1)]
            if c.contains(where: { $0 > 0 }) { rows.append(("\(r) (\(r.rawValue))", c)) }
        }
        return rows
    }

    /// The table `matryoshka run` prints after a nested run (the guest hypervisor by default).
    public static func levelTable(_ t: ExitTrace, totals: RunTotals) -> String {
        let tl = t.timeline
        let reasons = reasonRows(t)
        var sums: [UInt64] = [0, 0, 0]
        for r in reasons { for k in 0..<3 { sums[k] &+= r.counts[k] } }
        let l2Exits = sums[0] &+ sums[1]
        var out = "per level — L0: Matryoshka; L1: the guest hypervisor (VMCS01); L2: its guests (VMCS02)\n"
        out += "level  " + "instructions".leftPadded(16) + "  " + "virtual time".leftPadded(13) + "  VM exits\n"
        out += "L2     " + grouped(tl.instructionsRetired(.l2)).leftPadded(16) + "  " + milliseconds(tl.virtualTime(.l2)).leftPadded(13)
            + "  \(grouped(l2Exits)): \(grouped(sums[0])) handled by L0 alone, \(grouped(sums[1])) reflected to L1\n"
        out += "L1     " + grouped(tl.instructionsRetired(.l1)).leftPadded(16) + "  " + milliseconds(tl.virtualTime(.l1)).leftPadded(13)
            + "  \(grouped(sums[2])) to L0\n"
        out += "L0     " + "—".leftPadded(16) + "  " + milliseconds(tl.virtualTime(.l0)).leftPadded(13)
            + "  \(grouped(l2Exits &+ sums[2])) handled; \(grouped(t.virtualEntries)) virtual VM entries (L1 → L2)\n"
        out += "idle   " + "".leftPadded(16) + "  " + milliseconds(totals.idleNanoseconds).leftPadded(13) + "  (every vCPU waiting)\n"
        out += "all    " + grouped(totals.instructions).leftPadded(16) + "  " + milliseconds(totals.nanoseconds).leftPadded(13)
        if let w = totals.wallSeconds {
            out += "  wall time \(format2(w)) s (\(format1(Double(totals.instructions) / max(w, 1e-6) / 1e6)) MIPS)"
        }
        out += "\n"
        let headers = ["L2, L0 alone", "L2 → L1", "L1 → L0"]
        out += "VM exits by reason".rightPadded(40) + headers.map { $0.leftPadded(14) }.joined() + "\n"
        for r in reasons + [("total", sums)] {
            out += "  " + r.name.rightPadded(38) + r.counts.map { grouped($0).leftPadded(14) }.joined() + "\n"
        }
        return out
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: UInt64) -> String {
        let digits = Array(String(n))
        var out = ""
        for (k, d) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out += "," }
            out.append(d)
        }
        return out
    }

    /// Nanoseconds as milliseconds with three decimals ("12.345 ms"), exactly.
    static func milliseconds(_ ns: UInt64) -> String {
        let us = (ns + 500) / 1000
        let frac = String(us % 1000)
        return "\(us / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac + " ms"
    }

    static func format2(_ v: Double) -> String {
        let scaled = Int((v * 100).rounded())
        let frac = String(scaled % 100)
        return "\(scaled / 100)." + (frac.count < 2 ? "0" : "") + frac
    }
}
