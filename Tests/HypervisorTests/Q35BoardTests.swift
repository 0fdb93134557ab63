import XCTest
@testable import CPU
@testable import Hypervisor
@testable import Platform

/// The q35 board with `intel-iommu` and `edu`: what the guest finds through port I/O and
/// MMIO, and the devices wired to each other.
final class Q35BoardTests: XCTestCase {
    func board(iommu: Bool = true, edu: Bool = true) throws -> VirtualMachine {
        var o = PCBoardOptions()
        o.machine = .q35
        o.intelIOMMU = iommu ? VTdCapabilities() : nil
        o.edu = edu
        return try VirtualMachine(MachineConfiguration(), board: o)
    }

    func config(_ vm: VirtualMachine, devfn: UInt32, _ reg: UInt32, size: Int = 4) -> UInt32 {
        vm.bus.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0000 | devfn << 8 | reg & 0xFC)
        return vm.bus.ioRead(port: 0xCFC + UInt16(reg & 3), size: size)
    }

    func testGuestFindsQ35HostBridgeEduAndRemappingUnit() throws {
        let vm = try board()
        XCTAssertEqual(config(vm, devfn: 0, 0), 0x29C0_8086)
        XCTAssertEqual(config(vm, devfn: 8, 0, size: 2), 0x1234)
        XCTAssertEqual(config(vm, devfn: 8, 2, size: 2), 0x11E8)
        XCTAssertEqual(config(vm, devfn: 8, 0x10), PCBoard.eduBAR0)
        XCTAssertEqual(config(vm, devfn: 8, 0x3C, size: 1), UInt32(PCBoard.eduIRQ))
        XCTAssertEqual(config(vm, devfn: 8, 0x34, size: 1), 0x40)
        XCTAssertEqual(vm.bus.mmioRead(address: UInt64(PCBoard.eduBAR0), size: 4), UInt64(EduDevice.identification))
        XCTAssertEqual(vm.bus.mmioRead(address: VTdRemappingUnit.defaultBase, size: 4), 0x10)
        XCTAssertEqual(vm.bus.mmioRead(address: VTdRemappingUnit.defaultBase + 8, size: 8), 0x00D2_008C_2226_0206)
    }

    func testMovingTheBARMovesTheWindowAndMemoryDecodingOffHidesIt() throws {
        let vm = try board()
        let base = UInt64(PCBoard.eduBAR0)
        vm.bus.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0810)
        vm.bus.ioWrite(port: 0xCFC, size: 4, value: 0xFFFF_FFFF)
        XCTAssertEqual(vm.bus.ioRead(port: 0xCFC, size: 4), 0xFFF0_0000, "BAR sizing reads back the 1-MiB mask")
        vm.bus.ioWrite(port: 0xCFC, size: 4, value: 0xFEB0_0000)
        XCTAssertNil(vm.bus.mmioRead(address: base, size: 4))
        XCTAssertEqual(vm.bus.mmioRead(address: 0xFEB0_0000, size: 4), UInt64(EduDevice.identification))
        vm.bus.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0804)
        vm.bus.ioWrite(port: 0xCFC, size: 2, value: 0)
        XCTAssertNil(vm.bus.mmioRead(address: 0xFEB0_0000, size: 4))
    }

    /// The intel_iommu test's IR IOAPIC step: edu's INTA# on IRQ 11 → I/O APIC pin 11 in
    /// remappable format → IRTE 1 → vector EDh at APIC 0; then the MSI step through IRTE 2.
    func testEduInterruptsReachTheAPICThroughInterruptRemapping() throws {
        let vm = try board()
        let lapic = vm.vcpus[0].lapic
        lapic.mmioWrite(offset: 0xF0, size: 4, value: 0x1FF)
        let unit = try XCTUnwrap(vm.board.iommu)
        let irt: UInt64 = 0x20_0000
        let base = VTdRemappingUnit.defaultBase
        vm.bus.mmioWrite(address: base + 0xB8, size: 8, value: irt | 0xF)
        vm.bus.mmioWrite(address: base + 0x18, size: 4, value: UInt64(VTdGlobal.setInterruptRemapTablePointer))
        vm.bus.mmioWrite(address: base + 0x18, size: 4, value: UInt64(VTdGlobal.setInterruptRemapTablePointer | VTdGlobal.interruptRemappingEnable))
        XCTAssertTrue(unit.interruptRemappingEnabled)
        for (index, vector) in [(UInt64(1), UInt64(0xED)), (2, 0xEE)] {
            try vm.memory.store(1 | 2 | vector << 16, at: irt + index * 16)      // P, FPD, vector, DST 0
            try vm.memory.store(UInt64(0x0008) | 1 << 18, at: irt + index * 16 + 8)   // SVT 1, SID 00:01.0
        }
        let rte = 0x10 + 2 * UInt64(PCBoard.eduIRQ)
        vm.bus.mmioWrite(address: IOAPIC.defaultBase, size: 4, value: rte)
        vm.bus.mmioWrite(address: IOAPIC.defaultBase + 0x10, size: 4, value: 0xED)
        vm.bus.mmioWrite(address: IOAPIC.defaultBase, size: 4, value: rte + 1)
        vm.bus.mmioWrite(address: IOAPIC.defaultBase + 0x10, size: 4, value: 1 << 16 | 1 << 17)
        let bar = UInt64(PCBoard.eduBAR0)
        vm.bus.mmioWrite(address: bar + 0x60, size: 4, value: 1)
        XCTAssertEqual(lapic.acknowledge(), 0xED)
        lapic.mmioWrite(offset: 0xB0, size: 4, value: 0)
        vm.bus.mmioWrite(address: bar + 0x64, size: 4, value: 1)
        // MSI: address FEE00050H (handle 2, remappable), data 0, enable.
        _ = config(vm, devfn: 8, 0x44)
        vm.bus.ioWrite(port: 0xCFC, size: 4, value: 0xFEE0_0050)
        _ = config(vm, devfn: 8, 0x42)
        vm.bus.ioWrite(port: 0xCFE, size: 2, value: 1)
        vm.bus.mmioWrite(address: bar + 0x60, size: 4, value: 1)
        XCTAssertEqual(lapic.acknowledge(), 0xEE)
        XCTAssertEqual(unit.register(.faultStatus), 0)
    }

    func testIntelIOMMUNeedsQ35() {
        var o = PCBoardOptions()
        o.intelIOMMU = VTdCapabilities()
        XCTAssertThrowsError(try VirtualMachine(MachineConfiguration(), board: o)) {
            XCTAssertEqual($0 as? PCBoard.ConfigurationError, .iommuNeedsQ35)
        }
    }
}
