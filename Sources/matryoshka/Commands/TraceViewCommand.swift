import ArgumentParser
import CommandLineSupport
import Foundation

/// `matryoshka trace-view TRACE -o PAGE`: draws a Chrome/Perfetto trace (`run --exit-trace`) as
/// a static HTML page — the whole run and enlarged windows, a row per vCPU and level — that
/// any browser shows offline (and headless Chromium turns into a picture: Tools/trace-view).
struct TraceViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace-view",
        abstract: "Draw a trace written by 'run --exit-trace' as a static HTML page of SVG timelines.")

    @Argument(help: "The trace: Chrome trace-event JSON, as 'run --exit-trace' writes it.")
    var trace: String

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Output file (HTML).")
    var output: String

    @Option(parsing: .unconditionalSingleValue, help: "A window to enlarge, in microseconds of virtual time: FROM-TO (repeatable). Default: the first switch between two L2 guests (else 20 µs from the first L2 span, else from the first span).")
    var zoom: [String] = []

    @Option(parsing: .unconditional, help: "The page's title.")
    var title: String = "Matryoshka: L0, L1 and L2 on each vCPU (virtual time)"

    @Option(parsing: .unconditional, help: "Page width in pixels (800 ... 8000).")
    var width: Int = 1600

    func run() throws {
        guard (800...8000).contains(width) else { throw CommandLineError.usage("--width must be between 800 and 8000, not \(width)") }
        let windows = try zoom.map(Self.window)
        let data = try InputFile.read(trace, what: "trace")
        let timeline: TraceTimeline
        do { timeline = try TraceTimeline(json: Data(data)) } catch { throw CommandLineError.image("trace '\(trace)': \(error)") }
        let file = try OutputFile.create(output, what: "output file")
        var page = TimelinePage(trace: timeline, title: title, zooms: windows.isEmpty ? Self.defaultWindows(timeline) : windows)
        page.width = width
        try file.write(Array(page.html().utf8))
        file.close()
    }

    /// "FROM-TO" in µs.
    static func window(_ text: String) throws -> ClosedRange<Double> {
        let parts = text.split(separator: "-", maxSplits: 1).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let a = parts[0], let b = parts[1], a.isFinite, b.isFinite, a >= 0, b > a else {
            throw CommandLineError.usage("--zoom must be FROM-TO in microseconds with FROM < TO, not '\(text)'")
        }
        return a...b
    }

    /// The first L2 exit reflected to L1 (from 1.5 µs before it to 6 µs after), and the first
    /// switch from one L2 guest to another on a row (from just before the exit that ended the
    /// first guest's span to a few µs into the next guest's); without either, 20 µs from the
    /// first span. Half-µs bounds.
    static func defaultWindows(_ t: TraceTimeline) -> [ClosedRange<Double>] {
        func window(_ a: Double, _ b: Double) -> ClosedRange<Double> { max((a * 2).rounded(.down) / 2, 0)...(b * 2).rounded(.up) / 2 }
        var windows: [ClosedRange<Double>] = []
        let reflected = t.rows.compactMap { $0.spans.first { $0.exit == "L2 exit, reflected to L1" }?.start }.min()
        if let r = reflected { windows.append(window(r - 1.5, r + 6)) }
        for row in t.rows {
            let l2 = row.spans.filter { $0.category == "L2" }
            if let k = l2.indices.dropFirst().first(where: { l2[$0].name != l2[$0 - 1].name }) {
                windows.append(window(l2[k - 1].end - 1.5, l2[k].start + 4.5))
                break
            }
        }
        return windows.isEmpty ? [window(t.start, t.start + 20)] : windows.sorted { $0.lowerBound < $1.lowerBound }
    }
}
