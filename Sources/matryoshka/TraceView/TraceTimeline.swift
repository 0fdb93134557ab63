import Foundation

/// A Chrome/Perfetto trace-event file read back for drawing: its complete events ("ph":"X")
/// grouped into rows, one per (process, thread) — for `run --exit-trace`, one per vCPU and
/// level — named and ordered by the metadata events ("process_name", "thread_name", the sort
/// indexes). Any trace in that format loads; other event kinds are skipped.
struct TraceTimeline {
    struct Span {
        var name: String
        /// Microseconds.
        var start: Double
        var duration: Double
        /// The "cat" field (the level, "L0"/"L1"/"L2", in Matryoshka's traces).
        var category: String
        /// For L0's spans in Matryoshka's traces, which exit it handled ("L2 exit, reflected
        /// to L1", …: the "exit" argument).
        var exit: String?
        var end: Double { start + duration }
    }

    struct Row {
        var process: Int
        var thread: Int
        var label: String
        var spans: [Span]
    }

    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    var rows: [Row]
    /// The first start and last end over all spans (µs).
    var start: Double
    var end: Double

    init(json data: Data) throws {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) }
        catch { throw FormatError(description: "not JSON: \(error.localizedDescription)") }
        let list: [Any]
        if let object = root as? [String: Any] {
            guard let events = object["traceEvents"] as? [Any] else { throw FormatError(description: "no \"traceEvents\" array") }
            list = events
        } else if let events = root as? [Any] {
            list = events   // the format's bare-array form
        } else {
            throw FormatError(description: "neither an object with \"traceEvents\" nor an array of events")
        }
        var processNames: [Int: String] = [:], threadNames: [[Int]: String] = [:]
        var processOrder: [Int: Int] = [:], threadOrder: [[Int]: Int] = [:]
        var spans: [[Int]: [Span]] = [:]
        for case let e as [String: Any] in list {
            let pid = Self.int(e["pid"]) ?? 0, tid = Self.int(e["tid"]) ?? 0
            let args = e["args"] as? [String: Any] ?? [:]
            switch e["ph"] as? String {
            case "M":
                switch e["name"] as? String {
                case "process_name": processNames[pid] = args["name"] as? String
                case "thread_name": threadNames[[pid, tid]] = args["name"] as? String
                case "process_sort_index": processOrder[pid] = Self.int(args["sort_index"])
                case "thread_sort_index": threadOrder[[pid, tid]] = Self.int(args["sort_index"])
                default: break
                }
            case "X":
                guard let ts = Self.double(e["ts"]), let dur = Self.double(e["dur"]), dur >= 0 else {
                    throw FormatError(description: "a complete event without a numeric \"ts\" and \"dur\"")
                }
                spans[[pid, tid], default: []].append(Span(name: e["name"] as? String ?? "", start: ts, duration: dur,
                                                         category: e["cat"] as? String ?? "", exit: args["exit"] as? String))
            default: continue
            }
        }
        guard !spans.isEmpty else { throw FormatError(description: "no complete events (\"ph\":\"X\") to draw") }
        let keys = spans.keys.sorted {
            let a = (processOrder[$0[0]] ?? $0[0], $0[0], threadOrder[$0] ?? $0[1], $0[1])
            let b = (processOrder[$1[0]] ?? $1[0], $1[0], threadOrder[$1] ?? $1[1], $1[1])
            return a < b
        }
        rows = keys.map { k in
            let process = processNames[k[0]] ?? "process \(k[0])", thread = threadNames[k] ?? "thread \(k[1])"
            return Row(process: k[0], thread: k[1], label: "\(process) · \(thread)", spans: spans[k]!.sorted { $0.start < $1.start })
        }
        start = rows.map { $0.spans.first!.start }.min()!
        end = rows.flatMap { $0.spans.map(\.end) }.max()!
    }

    static func int(_ v: Any?) -> Int? {
        if let n = v as? NSNumber { return n.intValue }
        if let s = v as? String { return Int(s) }
        return nil
    }

    static func double(_ v: Any?) -> Double? {
        if let n = v as? NSNumber { return n.doubleValue }
        if let s = v as? String { return Double(s) }
        return nil
    }
}
