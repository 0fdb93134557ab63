import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// L0's emulation of the access an EPT violation reported reuses the exit's guest-linear →
/// guest-physical translation (exit qualification bits 7 and 8, SDM Vol. 3C §28.2.1 Table
/// 28-7) instead of walking the guest's paging structures a second time.
final class L0EmulationTranslationTests: XCTestCase {
    typealias Bed = TLBTestBed
    /// Guest-physical address EPT does not map (the bed's EPT maps the first GiB only).
    static let mmio: UInt64 = 0x8000_0000

    final class Device: DeviceBus {
        var reads: [UInt64] = []
        var writes: [(UInt64, UInt64)] = []
        func ioRead(port: UInt16, size: Int) -> UInt32 { ~0 }
        func ioWrite(port: UInt16, size: Int, value: UInt32) {}
        func mmioRead(address: UInt64, size: Int) -> UInt64? { reads.append(address); return 0x1234_5678 }
        func mmioWrite(address: UInt64, size: Int, value: UInt64) -> Bool { writes.append((address, value)); return true }
    }

    /// Reads (or writes RBX to) [RSI + 8], then exits (VMCALL).
    static func access(write: Bool) -> (Assembler) -> Void {
        { a in
            if write { a.mov(qword[rsi + 8], rbx) } else { a.mov(rax, qword[rsi + 8]) }
            a.vmcall()
        }
    }

    /// Runs to the EPT violation, then has L0 emulate the instruction; returns the paging-entry
    /// reads the emulation made (in `pagingEntryLatency` units of stall time) and the device.
    func emulate(write: Bool) throws -> (walkReads: UInt64, device: Device, bed: Bed) {
        let bed = try Bed(Self.access(write: write))
        try bed.memory.store(Self.mmio | 7, at: Bed.pt + 3 * 8)       // page 3 → the unmapped GPA
        let v = try bed.vmcs(vpid: 1, eptp: Bed.eptpA)
        bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(3)
        bed.cpu.gpr[GPR.rbx.rawValue] = 0xABCD
        XCTAssertEqual(bed.cpu.run(vmcs: v, budget: 100), .vmExit(.eptViolation))
        let q = v[.exitQualification]
        XCTAssertEqual(q & (1 << 7 | 1 << 8), 1 << 7 | 1 << 8, "linear address valid, translated access")
        XCTAssertEqual(v[.guestPhysicalAddress], Self.mmio + 8)
        let device = Device()
        let stall = bed.cpu.stallTime
        XCTAssertEqual(bed.cpu.emulateInstruction(vmcs: v, bus: device), .completed)
        return ((bed.cpu.stallTime - stall) / bed.cpu.model.pagingEntryLatency, device, bed)
    }

    func testAnEmulatedReadUsesTheExitsTranslation() throws {
        let (reads, device, bed) = try emulate(write: false)
        XCTAssertEqual(device.reads, [Self.mmio + 8])
        XCTAssertEqual(bed.cpu.gpr[GPR.rax.rawValue], 0x1234_5678)
        XCTAssertEqual(reads, 0, "no second walk of the guest's paging structures")
    }

    func testAnEmulatedWriteUsesTheExitsTranslation() throws {
        let (reads, device, _) = try emulate(write: true)
        XCTAssertEqual(device.writes.map(\.0), [Self.mmio + 8])
        XCTAssertEqual(device.writes.map(\.1), [0xABCD])
        XCTAssertEqual(reads, 0)
    }

    func testWithoutTheHintTheEmulationWalks() throws {
        // The same exit with qualification bit 8 cleared (not a translated access): nothing
        // to reuse, so the emulation walks (and still reaches the device).
        let bed = try Bed(Self.access(write: false))
        try bed.memory.store(Self.mmio | 7, at: Bed.pt + 3 * 8)
        let v = try bed.vmcs(vpid: 1, eptp: Bed.eptpA)
        bed.cpu.gpr[GPR.rsi.rawValue] = Bed.page(3)
        XCTAssertEqual(bed.cpu.run(vmcs: v, budget: 100), .vmExit(.eptViolation))
        v[.exitQualification] &= ~(1 << 8)
        let device = Device()
        let stall = bed.cpu.stallTime
        XCTAssertEqual(bed.cpu.emulateInstruction(vmcs: v, bus: device), .completed)
        XCTAssertEqual(device.reads, [Self.mmio + 8])
        XCTAssertGreaterThan(bed.cpu.stallTime - stall, 0, "a walk: at least the PTE read")
    }
}
