import CommandLineSupport
import Foundation
import XCTest

/// SIGINT and SIGTERM end a run cleanly: the last serial bytes (a line without its newline),
/// the summary and the exit trace are written, and the status says which signal.
final class SignalTests: XCTestCase {
    func testSIGINTEndsRunWithSummaryTraceAndLastSerialBytes() throws {
        let s = try Scratch()
        let spin = try s.file("spin.elf", TestGuests.printThenSpin("partial line"))
        let trace = s.path("exits.json")
        let p = try Executables.start("matryoshka", ["run", spin, "--summary", "--exit-trace", trace])
        // The serial line is still buffered (no newline), so wait for the guest's I/O exits
        // to be under way by time instead of by output.
        usleep(300_000)
        kill(p.process.processIdentifier, SIGINT)
        p.process.waitUntilExit()
        let r = p.result()
        XCTAssertEqual(r.status, RunExitStatus.signal(SIGINT))
        XCTAssertEqual(r.stdout, "partial line")
        XCTAssertTrue(r.firstErrorLine.hasPrefix("matryoshka: stopped by SIGINT after "), r.firstErrorLine)
        XCTAssertTrue(r.stderr.contains("matryoshka: stopped by SIGINT — "), "the summary follows")
        let json = try String(contentsOfFile: trace, encoding: .utf8)
        XCTAssertTrue(json.contains("IO_INSTRUCTION"), "the trace holds the guest's port writes: \(json.prefix(200))")
    }

    func testSIGTERMEndsMatryoshkaQEMUAsQEMUDoes() throws {
        let s = try Scratch()
        let spin = try s.file("spin.elf", TestGuests.printThenSpin("x"))
        let p = try Executables.start("matryoshka-qemu", ["-kernel", spin, "-serial", "stdio"])
        usleep(300_000)
        kill(p.process.processIdentifier, SIGTERM)
        p.process.waitUntilExit()
        let r = p.result()
        // QEMU exits 0 and says "terminating on signal 15"; kvm-unit-tests turns that into 128 + 15.
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.firstErrorLine, "matryoshka-qemu: terminating on signal 15")
        XCTAssertEqual(r.stdout, "x")
    }

    func testNoShutdownWaitsForASignal() throws {
        let s = try Scratch()
        let tf = try s.file("triple.elf", TestGuests.tripleFault().image)
        let p = try Executables.start("matryoshka-qemu", ["-kernel", tf, "-no-reboot", "-no-shutdown"])
        XCTAssertTrue(p.waitFor("waiting for a signal", inStderr: true), p.stderr)
        XCTAssertTrue(p.process.isRunning, "the stopped machine stays until a signal")
        kill(p.process.processIdentifier, SIGTERM)
        p.process.waitUntilExit()
        let r = p.result()
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stderr.split(separator: "\n").last.map(String.init), "matryoshka-qemu: terminating on signal 15")
    }
}
