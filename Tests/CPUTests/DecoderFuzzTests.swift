import Foundation
import XCTest
@testable import CPU
@testable import TestSupport

/// Random bytes never crash the decoder or the processor: every 16-byte string decodes to an
/// instruction of 1–15 bytes or to "too long" (#GP), and executing random code in a machine
/// ends in faults, halts or budget exhaustion only. MATRYOSHKA_FUZZ_CASES scales it.
final class DecoderFuzzTests: XCTestCase {
    func testRandomBytesDecodeToValidLengths() {
        let count = Int(ProcessInfo.processInfo.environment["MATRYOSHKA_FUZZ_CASES"] ?? "") ?? 200_000
        var rng = DifferentialTests.Rng(s: 0xDEC0_DE00_F022)
        var bytes = [UInt8](repeating: 0, count: 16)
        var instructions = 0, tooLong = 0
        for _ in 0..<count {
            for k in 0..<16 { bytes[k] = UInt8(truncatingIfNeeded: rng.next()) }
            for codeSize: UInt8 in [2, 4, 8] {
                switch Decoder.decode(bytes, codeSize: codeSize) {
                case .instruction(let i):
                    XCTAssertTrue((1...15).contains(Int(i.length)), "length \(i.length) for \(bytes)")
                    instructions += 1
                case .tooLong: tooLong += 1
                case .needMoreBytes: XCTFail("16 bytes always suffice: \(bytes)")
                }
            }
        }
        XCTAssertGreaterThan(instructions, 0)
        print("DECODER FUZZ: \(count * 3) decodes, \(instructions) instructions, \(tooLong) too long")
    }

    func testRandomCodeNeverCrashesTheProcessor() {
        var rng = DifferentialTests.Rng(s: 0xF022_0000_0001)
        let m = TestMachine(memorySize: 4 << 20)
        for round in 0..<300 {
            let code = (0..<256).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            try! m.memory.write(code, at: 0x10_0000)
            if round % 2 == 0 { m.enterLong64(entry: 0x10_0000, stack: 0x8_0000) }
            else { m.enterProtected32(entry: 0x10_0000, stack: 0x8_0000) }
            m.cpu.idtr = DescriptorTableRegister(base: 0, limit: 0)   // every fault ends in shutdown
            let stop = m.run(budget: 2000)
            XCTAssertTrue([.halted, .shutdown, .budgetExhausted].contains(stop), "\(stop)")
        }
    }
}
