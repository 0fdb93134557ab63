import XCTest
@testable import CPU
@testable import Platform

/// QEMU's edu device (docs/specs/edu.txt): registers, factorial, DMA (direct and through the
/// remapping unit) and its interrupts as INTx and MSI.
final class EduDeviceTests: XCTestCase {
    let sid: UInt16 = 0x0008
    var bed: VTdTestBed!
    var msi: MSIDelivery!
    var lines: [Bool] = []

    override func setUpWithError() throws {
        bed = try VTdTestBed()
        msi = MSIDelivery(bus: bed.bus)
        lines = []
    }

    func makeEdu(throughIOMMU: Bool = false) -> EduDevice {
        let dma: DMAAddressSpace = throughIOMMU ? bed.unit : bed.ram
        let e = EduDevice(requesterID: sid, dma: dma, msi: msi) { [unowned self] in self.lines.append($0) }
        e.function.write(offset: PCIFunction.Header.command, size: 2,
                         value: UInt32(PCIFunction.Command.memorySpace | PCIFunction.Command.busMaster))
        return e
    }

    func w(_ e: EduDevice, _ r: EduDevice.Register, _ v: UInt64, size: Int = 4) { e.mmioWrite(offset: r.rawValue, size: size, value: v) }
    func r(_ e: EduDevice, _ reg: EduDevice.Register, size: Int = 4) -> UInt64 { e.mmioRead(offset: reg.rawValue, size: size) }

    func testIdentityLivenessAndAccessSizes() {
        let e = makeEdu()
        XCTAssertEqual(e.function.read(offset: 0, size: 4), 0x11E8_1234)
        XCTAssertEqual(e.function.read(offset: 8, size: 4) >> 8, 0x00FF00)
        XCTAssertEqual(r(e, .identification), 0x0100_00ED)
        w(e, .liveness, 0x1234_5678)
        XCTAssertEqual(r(e, .liveness), 0xEDCB_A987, "liveness reads back the inverse")
        XCTAssertEqual(r(e, .identification, size: 2), 0xFFFF, "below 80H only 32-bit accesses")
        w(e, .dmaSource, 0x1_2345_6789, size: 8)
        XCTAssertEqual(r(e, .dmaSource, size: 8), 0x1_2345_6789)
    }

    func testFactorialAndItsInterrupt() {
        let e = makeEdu()
        w(e, .factorial, 5)
        XCTAssertEqual(r(e, .factorial), 120)
        XCTAssertEqual(r(e, .status) & 1, 0, "not computing")
        XCTAssertEqual(EduDevice.factorial(of: 13), 1_932_053_504, "13! wraps in 32 bits")
        XCTAssertEqual(EduDevice.factorial(of: 0), 1)
        w(e, .status, 0x80)
        w(e, .factorial, 3)
        XCTAssertEqual(r(e, .interruptStatus), 1)
        XCTAssertEqual(lines, [true])
    }

    func testINTxFollowsInterruptStatusAndInterruptDisable() {
        let e = makeEdu()
        w(e, .raiseInterrupt, 0x10)
        XCTAssertEqual(lines, [true])
        XCTAssertEqual(e.function.read(offset: PCIFunction.Header.status, size: 2) & 8, 8, "status: interrupt pending")
        w(e, .acknowledgeInterrupt, 0x10)
        XCTAssertEqual(lines, [true, false])
        XCTAssertEqual(r(e, .interruptStatus), 0)
        e.function.write(offset: PCIFunction.Header.command, size: 2,
                         value: UInt32(PCIFunction.Command.memorySpace | PCIFunction.Command.interruptDisable))
        w(e, .raiseInterrupt, 1)
        XCTAssertEqual(lines, [true, false], "INTx disabled")
    }

    func testMSIThroughInterruptRemapping() {
        let e = makeEdu()
        msi.remapper = bed.unit
        bed.enableInterruptRemapping()
        bed.setIRTE(2, vector: 0xEE, sid: sid)
        let o = EduDevice.msiCapabilityOffset
        XCTAssertEqual(e.function.read(offset: o, size: 1), 0x05)
        XCTAssertEqual(e.function.read(offset: o + 2, size: 2) & 0x80, 0x80, "64-bit capable")
        e.function.write(offset: o + 4, size: 4, value: 0xFEE0_0050)
        e.function.write(offset: o + 8, size: 4, value: 0)
        e.function.write(offset: o + 12, size: 4, value: 0)
        e.function.write(offset: o + 2, size: 2, value: 1)
        w(e, .raiseInterrupt, 1)
        XCTAssertEqual(bed.lapic.pendingVector, 0xEE)
        XCTAssertEqual(lines, [], "MSI, not INTx")
    }

    func testDMAToAndFromTheBufferDirectly() throws {
        let e = makeEdu()
        try bed.memory.write([0xDE, 0xAD, 0xBE, 0xEF], at: 0x30_0000)
        w(e, .dmaSource, 0x30_0000, size: 8); w(e, .dmaDestination, 0x40000, size: 8); w(e, .dmaCount, 4, size: 8)
        w(e, .dmaCommand, EduDevice.dmaStart | EduDevice.dmaInterrupt)
        XCTAssertEqual(r(e, .dmaCommand) & 1, 0, "done")
        XCTAssertEqual(r(e, .interruptStatus), 0x100)
        w(e, .dmaSource, 0x40000, size: 8); w(e, .dmaDestination, 0x30_0010, size: 8)
        w(e, .dmaCommand, EduDevice.dmaStart | EduDevice.dmaToRAM)
        XCTAssertEqual(try bed.memory.read(at: 0x30_0010, length: 4), [0xDE, 0xAD, 0xBE, 0xEF])
        // Outside the buffer, or without bus mastering: dropped, never a crash.
        w(e, .dmaSource, 0x40FFE, size: 8); w(e, .dmaCount, 4, size: 8)
        w(e, .dmaCommand, EduDevice.dmaStart | EduDevice.dmaToRAM)
        XCTAssertEqual(e.droppedTransfers, 1)
        XCTAssertEqual(r(e, .dmaCommand) & 1, 0)
        e.function.write(offset: PCIFunction.Header.command, size: 2, value: UInt32(PCIFunction.Command.memorySpace))
        w(e, .dmaSource, 0x40000, size: 8)
        w(e, .dmaCommand, EduDevice.dmaStart | EduDevice.dmaToRAM)
        XCTAssertEqual(e.droppedTransfers, 2)
    }

    func testDMAThroughTheRemappingUnitAsKvmUnitTestsDoes() throws {
        let e = makeEdu(throughIOMMU: true)
        bed.enableTranslation()
        let page = bed.page()
        try bed.memory.store(UInt32(0x1234_5678), at: page)
        bed.map(sid: sid, iova: 0, to: page)
        w(e, .dmaSource, 0, size: 8); w(e, .dmaDestination, 0x40000, size: 8); w(e, .dmaCount, 4, size: 8)
        w(e, .dmaCommand, EduDevice.dmaStart)
        w(e, .dmaSource, 0x40000, size: 8); w(e, .dmaDestination, 4, size: 8)
        w(e, .dmaCommand, EduDevice.dmaStart | EduDevice.dmaToRAM)
        XCTAssertEqual(try bed.memory.load(UInt32.self, at: page + 4), 0x1234_5678)
        // IOVA 8 KiB is not mapped: the transfer is aborted and the fault recorded.
        w(e, .dmaDestination, 0x2000, size: 8)
        w(e, .dmaCommand, EduDevice.dmaStart | EduDevice.dmaToRAM)
        XCTAssertEqual(e.droppedTransfers, 1)
        XCTAssertEqual(bed.read(.faultStatus) & 2, 2)
        XCTAssertEqual(bed.read(.faultRecordingHigh) & 0xFFFF, UInt64(sid))
    }
}
