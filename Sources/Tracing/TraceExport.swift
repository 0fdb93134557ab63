import CPU

/// Text and Chrome/Perfetto trace exports of an `ExitTrace`.
public enum TraceExport {
    /// A table of exit counts per level and reason, with each reason's share of all exits.
    public static func statisticsTable(_ t: ExitTrace) -> String {
        let rows = t.statistics
        var total: UInt64 = 0
        for r in rows { total += r.count }
        var out = "level  reason                                   count     share\n"
        for r in rows {
            let name: String = "\(r.reason) (\(r.reason.rawValue))"
            let share: Double = total == 0 ? 0 : Double(r.count) * 100 / Double(total)
            let level: String = "L\(r.level.rawValue)     "
            let counted: String = String(r.count).leftPadded(9)
            let percent: String = format1(share).leftPadded(6)
            out += level + name.rightPadded(40) + " " + counted + "  " + percent + "%\n"
        }
        out += "total  " + "".rightPadded(40) + " " + String(total).leftPadded(9) + "\n"
        return out
    }

    /// The retained events in the Chrome trace-event JSON format (loads in Perfetto and
    /// chrome://tracing): one complete event ("ph":"X") per exit, on a track per vCPU and level,
    /// timestamps in microseconds of virtual time.
    public static func chromeTrace(_ t: ExitTrace) -> String {
        var parts: [String] = []
        for e in t.events {
            let ts = Double(e.time) / 1000
            let dur = Double(max(e.handlingTime, 1)) / 1000
            let q: String = String(e.qualification, radix: 16)
            let rip: String = String(e.guestRIP, radix: 16)
            let disposition: String = e.disposition == .handledByL0 ? "L0" : "reflected to L1"
            let failure: String = e.entryFailure ? ",\"entryFailure\":true" : ""
            let args: String = "{\"qualification\":\"0x\(q)\",\"rip\":\"0x\(rip)\",\"disposition\":\"\(disposition)\"\(failure)}"
            let head: String = "{\"name\":\"\(e.reason)\",\"cat\":\"L\(e.level.rawValue)\",\"ph\":\"X\",\"ts\":\(ts),\"dur\":\(dur),"
            parts.append(head + "\"pid\":\(e.cpu),\"tid\":\(e.level.rawValue),\"args\":\(args)}")
        }
        return "{\"traceEvents\":[\n" + parts.joined(separator: ",\n") + "\n],\"displayTimeUnit\":\"ns\"}\n"
    }

    static func format1(_ v: Double) -> String {
        let scaled = (v * 10).rounded()
        return "\(Int(scaled) / 10).\(Int(scaled) % 10)"
    }
}

extension String {
    func rightPadded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
