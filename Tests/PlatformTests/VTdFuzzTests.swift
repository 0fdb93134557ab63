import Foundation
import XCTest
@testable import CPU
@testable import Platform
import TestSupport

/// Whatever a guest writes — registers, tables, requests — the remapping unit and edu end in
/// a translation, a fault record or a dropped request, never a trap. MATRYOSHKA_FUZZ_CASES
/// scales it.
final class VTdFuzzTests: XCTestCase {
    func testRandomGuestInputNeverTraps() throws {
        let cases = Int(ProcessInfo.processInfo.environment["MATRYOSHKA_FUZZ_CASES"] ?? "") ?? 20_000
        var rng = SplitMix64(seed: 0x1D7E_2026)
        let t = try VTdTestBed()
        let msi = MSIDelivery(bus: t.bus)
        msi.remapper = t.unit
        let edu = EduDevice(requesterID: 0x0008, dma: t.unit, msi: msi) { _ in }
        edu.function.write(offset: PCIFunction.Header.command, size: 2, value: 0x7)
        let tables: ClosedRange<UInt64> = 0x10_0000...0x10_FFF8
        // Interesting addresses: table pages, RAM's end, beyond RAM, near 2^64.
        func address(_ rng: inout SplitMix64) -> UInt64 {
            switch rng.next() % 5 {
            case 0: return UInt64.random(in: tables, using: &rng) & ~7
            case 1: return VTdTestBed.ramSize - UInt64.random(in: 0...16, using: &rng)
            case 2: return ~UInt64.random(in: 0...0x2000, using: &rng)
            case 3: return UInt64.random(in: 0...(1 << 40), using: &rng)
            default: return rng.next()
            }
        }
        let sizes = [1, 2, 4, 8]
        for _ in 0..<cases {
            switch rng.next() % 8 {
            case 0:
                // Tables: random entries, often with the present bit.
                t.store(rng.next() & (rng.next() % 2 == 0 ? 0x10_F003 : ~0) | 1, at: UInt64.random(in: tables, using: &rng) & ~7)
            case 1:
                let r = VTdRegister.allCases.randomElement(using: &rng)!
                // Table bases in the table pages, near 2^64 (base + index must not trap), or anything.
                let v = [UInt64.random(in: tables, using: &rng) & ~0xFFF, ~(rng.next() % 0x10_0000) & ~0xFF0,
                         rng.next()].randomElement(using: &rng)!
                t.unit.mmioWrite(offset: UInt64(r.offset), size: sizes.randomElement(using: &rng)!, value: v)
            case 2:
                t.unit.mmioWrite(offset: UInt64.random(in: 0...0x1010, using: &rng), size: sizes.randomElement(using: &rng)!, value: rng.next())
                _ = t.unit.mmioRead(offset: UInt64.random(in: 0...0x1010, using: &rng), size: sizes.randomElement(using: &rng)!)
            case 3:
                _ = t.unit.dmaRead(address(&rng), count: Int.random(in: 0...9000, using: &rng), requester: UInt16(truncatingIfNeeded: rng.next()))
            case 4:
                _ = t.unit.dmaWrite([UInt8](repeating: 0xA5, count: Int.random(in: 0...5000, using: &rng)), at: address(&rng),
                                    requester: UInt16(truncatingIfNeeded: rng.next()))
            case 5:
                let m = MSIMessage(address: rng.next() % 2 == 0 ? 0xFEE0_0000 | rng.next() & 0xF_FFFF : rng.next(),
                                   data: UInt32(truncatingIfNeeded: rng.next()))
                msi.signal(m, requester: UInt16(truncatingIfNeeded: rng.next()))
                _ = t.unit.remap(m, requester: rng.next() % 2 == 0 ? nil : UInt16(truncatingIfNeeded: rng.next()))
            case 6:
                let pin = Int.random(in: 0..<IOAPIC.pinCount, using: &rng)
                t.ioapic.mmioWrite(offset: 0, size: 4, value: UInt64(0x10 + 2 * pin + Int(rng.next() & 1)))
                t.ioapic.mmioWrite(offset: 0x10, size: 4, value: rng.next())
                t.ioapic.setPin(pin, level: rng.next() % 2 == 0)
                _ = t.lapic.acknowledge()
                t.lapic.mmioWrite(offset: 0xB0, size: 4, value: 0)
            default:
                // A whole edu transfer with edge-case device addresses and counts.
                func deviceSide(_ rng: inout SplitMix64) -> UInt64 {
                    rng.next() % 2 == 0 ? 0x40000 + rng.next() % 0x1100 : address(&rng)
                }
                let toRAM = rng.next() % 2 == 0
                edu.mmioWrite(offset: EduDevice.Register.dmaSource.rawValue, size: 8, value: toRAM ? deviceSide(&rng) : address(&rng))
                edu.mmioWrite(offset: EduDevice.Register.dmaDestination.rawValue, size: 8, value: toRAM ? address(&rng) : deviceSide(&rng))
                edu.mmioWrite(offset: EduDevice.Register.dmaCount.rawValue, size: 8,
                              value: [0, 1, 4, 4095, 4096, 4097, rng.next() % 0x2000, rng.next()].randomElement(using: &rng)!)
                edu.mmioWrite(offset: EduDevice.Register.dmaCommand.rawValue, size: 4,
                              value: EduDevice.dmaStart | (toRAM ? EduDevice.dmaToRAM : 0) | rng.next() & EduDevice.dmaInterrupt)
                let reg = [EduDevice.Register.factorial, .raiseInterrupt, .acknowledgeInterrupt, .status].randomElement(using: &rng)!
                edu.mmioWrite(offset: reg.rawValue, size: 4, value: rng.next() % 0x2000)
                edu.function.write(offset: EduDevice.msiCapabilityOffset + Int(rng.next() % 14), size: 2,
                                   value: UInt32(truncatingIfNeeded: rng.next()))
            }
        }
        // Still working afterwards: reset-state checks on the registers that cannot change.
        XCTAssertEqual(t.read(.capability), 0x00D2_008C_2226_0206)
        XCTAssertEqual(t.read(.version), 0x10)
        XCTAssertGreaterThan(t.unit.faultsDetected, 0)
    }
}
