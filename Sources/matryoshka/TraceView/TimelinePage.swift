import Foundation

/// A static HTML page with SVG timelines of a trace (`matryoshka trace-view`): one panel for the
/// whole trace and one per zoom window, a row per (vCPU, level). A pixel column shows how much of
/// its time the row's spans cover (opacity), so a 100-ms overview stays true to where time went
/// however short the spans are; spans wide enough carry their name (the exit reason, for L0).
struct TimelinePage {
    let trace: TraceTimeline
    let title: String
    /// Zoom windows, microseconds.
    let zooms: [ClosedRange<Double>]
    var width = 1600

    static let labelWidth = 250.0, rowHeight = 24.0, rowGap = 4.0, axisHeight = 30.0, panelGap = 34.0

    func html() -> String {
        var heights = 0.0
        var panels = [panel(trace.start...trace.end, heading: "Whole run", marks: zooms)]
        for z in zooms { panels.append(panel(z, heading: "Zoom", marks: [])) }
        heights = Double(zooms.count + 1) * (panelHeight + 40)
        var legend = ""
        for (name, color) in legendEntries() {
            legend += "<span class=\"key\"><span class=\"swatch\" style=\"background:\(color)\"></span>\(Self.escape(name))</span>"
        }
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><meta name="page-height" content="\(Int(heights) + 150)"><title>\(Self.escape(title))</title>
            <style>
            body { font-family: 'DejaVu Sans', sans-serif; margin: 16px 20px; color: #222; background: #fff; width: \(width)px; }
            h1 { font-size: 20px; margin: 0 0 4px 0; }
            p { margin: 2px 0 10px 0; font-size: 13px; color: #444; }
            .key { margin-right: 18px; font-size: 13px; white-space: nowrap; }
            .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; }
            svg text { font-family: 'DejaVu Sans', sans-serif; }
            </style></head><body>
            <h1>\(Self.escape(title))</h1>
            <p>\(trace.rows.count) tracks, \(trace.rows.reduce(0) { $0 + $1.spans.count }) spans, \(Self.time(trace.start)) – \(Self.time(trace.end)) of virtual time. A column's opacity is the share of its time the track's spans cover.</p>
            <p>\(legend)</p>
            \(panels.joined(separator: "\n"))
            </body></html>

            """
    }

    /// The colour of a span: by level in Matryoshka's traces (L2's guests told apart by VPID),
    /// else by category.
    func color(_ s: TraceTimeline.Span) -> String {
        switch s.category {
        case "L0":
            switch s.exit {
            case "L2 exit, reflected to L1": return "#7b1113"
            case "L2 exit, handled by L0 alone": return "#e7298a"
            default: return "#d62728"
            }
        case "L1": return "#ff7f0e"
        case "L2":
            let palette = ["#2ca02c", "#1f77b4", "#9467bd", "#17becf", "#8c564b", "#bcbd22"]
            let vpid = Int(s.name.split(separator: " ").last ?? "") ?? 0
            return palette[(vpid + palette.count - 1) % palette.count]
        default:
            let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"]
            return palette[s.category.unicodeScalars.reduce(0) { ($0 &* 31 &+ Int($1.value)) & 0xFFFF } % palette.count]
        }
    }

    func legendEntries() -> [(String, String)] {
        var seen: [String: String] = [:], order: [String] = []
        for row in trace.rows {
            for s in row.spans {
                let key: String
                switch (s.category, s.exit) {
                case ("L0", "L2 exit, reflected to L1"): key = "L0: an L2 exit it reflects to L1"
                case ("L0", "L2 exit, handled by L0 alone"): key = "L0: an L2 exit it handles alone"
                case ("L0", _): key = "L0: an L1 exit"
                case ("L1", _): key = "L1 running"
                case ("L2", _): key = "\(s.name) running"
                default: key = s.category
                }
                if seen[key] == nil { seen[key] = color(s); order.append(key) }
            }
        }
        return order.sorted().map { ($0, seen[$0]!) }
    }

    var panelHeight: Double { Self.axisHeight + Double(trace.rows.count) * (Self.rowHeight + Self.rowGap) + 8 }

    func panel(_ window: ClosedRange<Double>, heading: String, marks: [ClosedRange<Double>]) -> String {
        let plot = Double(width) - Self.labelWidth - 10
        let span = max(window.upperBound - window.lowerBound, 1e-9)
        func x(_ t: Double) -> Double { Self.labelWidth + (t - window.lowerBound) / span * plot }
        let height = panelHeight
        var svg = "<h2 style=\"font-size:15px;margin:14px 0 4px 0\">\(heading): \(Self.time(window.lowerBound)) – \(Self.time(window.upperBound)) (\(Self.time(span)))</h2>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\(Self.q(height))>\n"
        // Axis: a tick every 1, 2 or 5 × 10^k µs, about 10 across.
        let step = Self.niceStep(span / 10)
        var t = (window.lowerBound / step).rounded(.up) * step
        while t <= window.upperBound + step * 1e-9 {
            let px = x(t)
            svg += "<line x1=\(Self.q(px)) y1=\"18\" x2=\(Self.q(px)) y2=\(Self.q(height - 4)) stroke=\"#ddd\"/>"
            let anchor = px > Double(width) - 40 ? "end" : "middle"
            svg += "<text x=\(Self.q(px)) y=\"13\" font-size=\"11\" text-anchor=\"\(anchor)\" fill=\"#555\">\(Self.time(t, step: step))</text>\n"
            t += step
        }
        for (k, row) in trace.rows.enumerated() {
            let y = Self.axisHeight + Double(k) * (Self.rowHeight + Self.rowGap)
            svg += "<rect x=\"0\" y=\(Self.q(y)) width=\"\(width)\" height=\(Self.q(Self.rowHeight)) fill=\"\(k % 2 == 0 ? "#f7f7f7" : "#fdfdfd")\"/>"
            svg += "<text x=\"6\" y=\(Self.q(y + 16)) font-size=\"12\" fill=\"#222\">\(Self.escape(row.label))</text>\n"
            svg += coverage(row, window: window, plot: plot, y: y)
            svg += labels(row, window: window, x: x, y: y)
        }
        for m in marks {
            let x0 = x(max(m.lowerBound, window.lowerBound)), x1 = max(x(min(m.upperBound, window.upperBound)), x0 + 2)
            svg += "<rect x=\(Self.q(x0 - 1)) y=\"18\" width=\(Self.q(x1 - x0 + 2)) height=\(Self.q(height - 20)) fill=\"none\" stroke=\"#000\" stroke-dasharray=\"3,2\"/>\n"
        }
        return svg + "</svg>"
    }

    /// Per colour, the share of each pixel column the row's spans cover, drawn as runs of
    /// columns with the same opacity (tenths; any coverage shows at least 0.2).
    func coverage(_ row: TraceTimeline.Row, window: ClosedRange<Double>, plot: Double, y: Double) -> String {
        let columns = Int(plot.rounded(.up))
        let perColumn = (window.upperBound - window.lowerBound) / plot
        var byColor: [String: [Double]] = [:]
        for s in row.spans where s.end > window.lowerBound && s.start < window.upperBound {
            let a = (max(s.start, window.lowerBound) - window.lowerBound) / perColumn
            let b = (min(s.end, window.upperBound) - window.lowerBound) / perColumn
            let key = color(s)
            if byColor[key] == nil { byColor[key] = Array(repeating: 0, count: columns + 1) }
            var c = Int(a)
            while c <= min(Int(b), columns) {
                byColor[key]![c] += max(0, min(b, Double(c + 1)) - max(a, Double(c)))
                c += 1
            }
        }
        var out = ""
        for (fill, cells) in byColor.sorted(by: { $0.key < $1.key }) {
            var c = 0
            while c < cells.count {
                let level = Self.opacity(cells[c])
                guard level > 0 else { c += 1; continue }
                var e = c + 1
                while e < cells.count && Self.opacity(cells[e]) == level { e += 1 }
                out += "<rect x=\(Self.q(Self.labelWidth + Double(c))) y=\(Self.q(y + 2)) width=\"\(e - c)\" height=\(Self.q(Self.rowHeight - 4)) fill=\"\(fill)\" fill-opacity=\"\(Double(level) / 10)\"/>"
                c = e
            }
        }
        return out + "\n"
    }

    static func opacity(_ covered: Double) -> Int {
        covered <= 1e-9 ? 0 : max(2, min(10, Int((covered * 10).rounded())))
    }

    /// Where spans wide enough to tell apart begin (a white line), and the names of those wide
    /// enough to hold them.
    func labels(_ row: TraceTimeline.Row, window: ClosedRange<Double>, x: (Double) -> Double, y: Double) -> String {
        var out = ""
        for s in row.spans where s.end > window.lowerBound && s.start < window.upperBound {
            let x0 = x(max(s.start, window.lowerBound)), x1 = x(min(s.end, window.upperBound))
            if x1 - x0 >= 4 && s.start > window.lowerBound {
                out += "<line x1=\(Self.q(x0)) y1=\(Self.q(y + 2)) x2=\(Self.q(x0)) y2=\(Self.q(y + Self.rowHeight - 2)) stroke=\"#fff\" stroke-width=\"1.5\"/>"
            }
            guard x1 - x0 >= Double(s.name.count) * 7 + 6 else { continue }
            out += "<text x=\(Self.q((x0 + x1) / 2)) y=\(Self.q(y + 16)) font-size=\"11\" text-anchor=\"middle\" fill=\"#fff\">\(Self.escape(s.name))</text>"
        }
        return out.isEmpty ? "" : out + "\n"
    }

    static func niceStep(_ raw: Double) -> Double {
        let p = pow(10, floor(log10(max(raw, 1e-9))))
        for m in [1.0, 2, 5, 10] where raw <= m * p { return m * p }
        return 10 * p
    }

    /// Microseconds in the unit that reads best (ms from 1000 µs on).
    static func time(_ us: Double, step: Double? = nil) -> String {
        let unitMs = (step ?? us) >= 1000
        let v = unitMs ? us / 1000 : us
        var decimals = 3
        if let step, step > 0 {
            let s = unitMs ? step / 1000 : step
            decimals = s >= 1 ? 0 : min(3, Int((-log10(s)).rounded(.up)))
        }
        return String(format: "%.\(decimals)f", v) + (unitMs ? " ms" : " µs")
    }

    static func q(_ v: Double) -> String { "\"" + String(format: "%.1f", v) + "\"" }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
