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

    /// The retained timeline in the Chrome trace-event JSON format (loads in Perfetto and
    /// chrome://tracing): a process per vCPU with a thread per level — L2 running, L1 running,
    /// L0 handling an exit — and a complete event ("ph":"X") per span, so the switches between
    /// the levels read as a timeline. L0's spans are named by the exit they handled, with its
    /// level, disposition, qualification and guest RIP. Timestamps are microseconds of virtual
    /// time, written exactly from integer nanoseconds: the same run gives the same file.
    public static func chromeTrace(_ t: ExitTrace) -> String {
        let spans = t.timeline.spans
        var parts: [String] = []
        var cpus = Set<UInt16>()
        for s in spans { cpus.insert(s.cpu) }
        for cpu in cpus.sorted() {
            let pid = Int(cpu) + 1
            parts.append("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":\(pid),\"args\":{\"name\":\"vCPU \(cpu)\"}}")
            parts.append("{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":\(pid),\"args\":{\"sort_index\":\(pid)}}")
            for track in LevelTimeline.Track.allCases.reversed() {
                let tid = threadID(cpu: cpu, track: track)
                parts.append("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":\(pid),\"tid\":\(tid),\"args\":{\"name\":\"\(trackName(track))\"}}")
                parts.append("{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":\(pid),\"tid\":\(tid),\"args\":{\"sort_index\":\(2 - Int(track.rawValue))}}")
            }
        }
        for s in spans {
            var args = "\"level\":\"L\(s.track.rawValue)\""
            var name: String
            switch s.track {
            case .l1: name = "L1"
            case .l2:
                name = s.guestVPID == 0 ? "L2" : "L2 VPID \(s.guestVPID)"
                args += ",\"vpid12\":\(s.guestVPID)"
            case .l0:
                name = "L0"
                if let e = s.exit {
                    name = "\(e.reason)"
                    let disposition = e.level == .l1 ? "L1 exit, handled by L0"
                        : (e.disposition == .handledByL0 ? "L2 exit, handled by L0 alone" : "L2 exit, reflected to L1")
                    args += ",\"exit\":\"\(disposition)\",\"reason\":\(e.reason.rawValue),\"qualification\":\"0x\(String(e.qualification, radix: 16))\""
                        + ",\"rip\":\"0x\(String(e.guestRIP, radix: 16))\"" + (e.entryFailure ? ",\"entryFailure\":true" : "")
                }
                if s.virtualEntry { args += ",\"virtualEntry\":true" }
            }
            parts.append("{\"name\":\"\(name)\",\"cat\":\"L\(s.track.rawValue)\",\"ph\":\"X\",\"ts\":\(microseconds(s.start)),"
                + "\"dur\":\(microseconds(s.duration)),\"pid\":\(Int(s.cpu) + 1),\"tid\":\(threadID(cpu: s.cpu, track: s.track)),\"args\":{\(args)}}")
        }
        let note = "\"otherData\":{\"clock\":\"virtual nanoseconds\",\"spansRecorded\":\(t.timeline.recorded),\"spansKept\":\(spans.count)}"
        return "{\"traceEvents\":[\n" + parts.joined(separator: ",\n") + "\n],\"displayTimeUnit\":\"ns\",\(note)}\n"
    }

    /// Thread ids unique across vCPUs (Perfetto keys threads by tid), never 0 (the idle task's).
    static func threadID(cpu: UInt16, track: LevelTimeline.Track) -> Int { Int(cpu) * 10 + Int(track.rawValue) + 1 }

    static func trackName(_ track: LevelTimeline.Track) -> String {
        switch track {
        case .l0: return "L0 Matryoshka (exit handling)"
        case .l1: return "L1 guest (hypervisor)"
        case .l2: return "L2 guests"
        }
    }

    /// Nanoseconds as microseconds with three decimals, exactly ("1.500").
    static func microseconds(_ ns: UInt64) -> String {
        let frac = String(ns % 1000)
        return "\(ns / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
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
