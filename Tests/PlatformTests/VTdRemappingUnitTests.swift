import XCTest
@testable import CPU
@testable import Platform

/// The VT-d remapping unit: registers (§10.4), DMA remapping (§3.4.2, §3.6), interrupt
/// remapping (§5.1), fault recording (§7.3) and queued invalidation (§6.5.2).
final class VTdRemappingUnitTests: XCTestCase {
    let edu: UInt16 = 0x0008          // 00:01.0

    // MARK: Registers

    func testResetValuesMatchQEMUsIntelIOMMU() throws {
        let t = try VTdTestBed()
        XCTAssertEqual(t.read(.version), 0x10)
        XCTAssertEqual(t.read(.capability), 0x00D2_008C_2226_0206)
        XCTAssertEqual(t.read(.extendedCapability), 0x0000_0000_00F0_0F4A)
        XCTAssertEqual(t.read(.capability) >> 8 & 0x1F, 0b00010, "SAGAW: 39-bit, 3-level only")
        XCTAssertEqual(t.read(.capability) >> 24 & 0x3FF, UInt64(VTdRegister.faultRecordingLow.offset / 16), "CAP.FRO")
        XCTAssertEqual(t.read(.extendedCapability) >> 8 & 0x3FF, UInt64(VTdRegister.invalidateAddress.offset / 16), "ECAP.IRO")
        XCTAssertEqual(t.read(.globalStatus), 0)
        XCTAssertEqual(t.read(.faultStatus), 0)
        XCTAssertEqual(t.read(.faultEventControl), 0x8000_0000, "fault event masked at reset")
        XCTAssertEqual(t.read(.invalidationEventControl), 0x8000_0000)
        XCTAssertEqual(t.unit.mmioRead(offset: 0x12, size: 2), 0x00F0, "narrow reads see the same bytes")
        XCTAssertEqual(t.unit.mmioRead(offset: 0x800, size: 4), 0, "unimplemented offsets read zero")
        let eim = try VTdTestBed(capabilities: VTdCapabilities(interruptRemapping: true, extendedInterruptMode: true))
        XCTAssertEqual(eim.read(.extendedCapability) & 0x18, 0x18, "ECAP.IR and EIM")
        let noIR = try VTdTestBed(capabilities: VTdCapabilities(interruptRemapping: false))
        XCTAssertEqual(noIR.read(.extendedCapability) & 0x18, 0)
    }

    func testReadOnlyRegistersIgnoreWritesAndGlobalCommandReadsZero() throws {
        let t = try VTdTestBed()
        t.write(.capability, 0)
        t.write(.version, 0xFF)
        t.write(.globalStatus, 0xFFFF_FFFF)
        XCTAssertEqual(t.read(.capability), 0x00D2_008C_2226_0206)
        XCTAssertEqual(t.read(.version), 0x10)
        XCTAssertEqual(t.read(.globalStatus), 0)
        t.write(.globalCommand, UInt64(VTdGlobal.queuedInvalidationEnable))
        XCTAssertEqual(t.read(.globalCommand), 0)
        XCTAssertEqual(t.read(.globalStatus), UInt64(VTdGlobal.queuedInvalidationEnable))
    }

    func testGlobalCommandSequenceOfKvmUnitTests() throws {
        let t = try VTdTestBed()
        t.command(VTdGlobal.queuedInvalidationEnable)
        let root = t.page(), irt = t.page()
        t.write(.rootTableAddress, root | 0xC00)          // TTM bits are reserved: dropped
        XCTAssertEqual(t.read(.rootTableAddress), root)
        t.command(VTdGlobal.setRootTablePointer)
        t.write(.interruptRemappingTableAddress, irt | 0xF)
        t.command(VTdGlobal.setInterruptRemapTablePointer)
        t.command(VTdGlobal.translationEnable)
        t.command(VTdGlobal.interruptRemappingEnable)
        let s = UInt32(t.read(.globalStatus))
        for bit in [VTdGlobal.queuedInvalidationEnable, VTdGlobal.setRootTablePointer, VTdGlobal.setInterruptRemapTablePointer,
                    VTdGlobal.translationEnable, VTdGlobal.interruptRemappingEnable] {
            XCTAssertNotEqual(s & bit, 0, "status bit \(bit)")
        }
        XCTAssertEqual(s & VTdGlobal.compatibilityFormatInterrupt, 0)
        XCTAssertEqual(t.unit.rootTable, root)
        XCTAssertEqual(t.unit.interruptTable.base, irt)
        XCTAssertEqual(t.unit.interruptTable.entries, 65536)
        // The root pointer is the one latched by SRTP, not the register's later contents.
        t.write(.rootTableAddress, 0x5000)
        XCTAssertEqual(t.unit.rootTable, root)
        // Clearing TE (writing the status without it) disables translation.
        t.write(.globalCommand, UInt64(s & ~VTdGlobal.translationEnable))
        XCTAssertFalse(t.unit.translationEnabled)
        XCTAssertEqual(t.unit.rootTable, 0x5000, "SRTP (still set in the status written back) re-latched")
    }

    func testRegisterBasedInvalidationsCompleteAtOnce() throws {
        let t = try VTdTestBed()
        // Context command: ICC = 1, CIRG = 01b (global) → ICC = 0, CAIG = 01b.
        t.write(.contextCommand, 1 << 63 | 1 << 61)
        XCTAssertEqual(t.read(.contextCommand), 1 << 61 | 1 << 59)
        // A 32-bit write of the lower half alone does not start it.
        t.write(.contextCommand, 0x1234, size: 4)
        XCTAssertEqual(t.read(.contextCommand) & 0xFFFF_FFFF, 0x1234)
        // IOTLB: IVT = 1, IIRG = 10b (domain) → IVT = 0, IAIG = 10b.
        t.unit.mmioWrite(offset: UInt64(VTdRegister.iotlbInvalidate.offset + 4), size: 4, value: (1 << 31 | 2 << 28 | 5) )
        XCTAssertEqual(t.read(.iotlbInvalidate) >> 32, 2 << 28 | 2 << 25 | 5)
    }

    // MARK: DMA remapping

    func testDMAIsUntranslatedUntilTranslationIsEnabled() throws {
        let t = try VTdTestBed()
        try t.memory.write([1, 2, 3, 4], at: 0x20_0000)
        XCTAssertEqual(t.unit.dmaRead(0x20_0000, count: 4, requester: edu), [1, 2, 3, 4])
        XCTAssertNil(t.unit.dmaRead(VTdTestBed.ramSize - 2, count: 4, requester: edu), "beyond RAM: aborted")
    }

    func testDMATranslatesThroughRootContextAndThreeLevelTable() throws {
        let t = try VTdTestBed()
        t.enableTranslation()
        let data = t.page()
        try t.memory.write([0x78, 0x56, 0x34, 0x12], at: data)
        t.map(sid: edu, iova: 0, to: data)
        XCTAssertEqual(t.unit.dmaRead(0, count: 4, requester: edu), [0x78, 0x56, 0x34, 0x12])
        XCTAssertTrue(t.unit.dmaWrite([9, 9], at: 6, requester: edu))
        XCTAssertEqual(try t.memory.read(at: data + 6, length: 2), [9, 9])
        // IOVA 1 GiB + 2 MiB + 4 KiB exercises every level's index.
        let other = t.page()
        try t.memory.write([0xAB], at: other + 0x10)
        t.map(sid: edu, iova: 0x4020_1000, to: other)
        XCTAssertEqual(t.unit.dmaRead(0x4020_1010, count: 1, requester: edu), [0xAB])
        XCTAssertEqual(t.read(.faultStatus), 0)
        // A read spanning two mapped pages is split and joined.
        t.map(sid: edu, iova: 0x1000, to: other)
        XCTAssertEqual(t.unit.dmaRead(0xFFE, count: 4, requester: edu), [0, 0, 0, 0])
    }

    func testNotPresentContextEntryRecordsAFault() throws {
        let t = try VTdTestBed()
        let root = t.enableTranslation()
        t.store(t.page() | 1, at: root)                  // bus 0 present, its context table empty
        XCTAssertNil(t.unit.dmaRead(0x3000, count: 4, requester: edu))
        XCTAssertEqual(t.read(.faultStatus), 1 << 1, "PPF, FRI = 0")
        let high = t.read(.faultRecordingHigh)
        XCTAssertEqual(high >> 63, 1, "F")
        XCTAssertEqual(high >> 62 & 1, 1, "T: read")
        XCTAssertEqual(high >> 32 & 0xFF, UInt64(VTdFaultReason.contextEntryNotPresent.rawValue))
        XCTAssertEqual(high & 0xFFFF, UInt64(edu))
        XCTAssertEqual(t.read(.faultRecordingLow), 0x3000)
        // A second fault while F is set overflows (PFO) and is not recorded.
        XCTAssertFalse(t.unit.dmaWrite([1], at: 0x5000, requester: 0x0100))
        XCTAssertEqual(t.read(.faultStatus), 1 << 1 | 1 << 0)
        XCTAssertEqual(t.read(.faultRecordingLow), 0x3000)
        // Software clears F (RW1C) and PFO: the status is clean again.
        t.write(.faultRecordingHigh, 1 << 63)
        t.write(.faultStatus, 1)
        XCTAssertEqual(t.read(.faultStatus), 0)
        XCTAssertEqual(t.read(.faultRecordingHigh) >> 63, 0)
        XCTAssertEqual(t.unit.faultsDetected, 2)
    }

    func testNotPresentPageIsAReadOrWritePermissionFault() throws {
        let t = try VTdTestBed()
        t.enableTranslation()
        t.map(sid: edu, iova: 0, to: t.page(), rw: 1)    // read-only page
        XCTAssertNotNil(t.unit.dmaRead(0, count: 4, requester: edu))
        XCTAssertFalse(t.unit.dmaWrite([1], at: 0, requester: edu))
        XCTAssertEqual(t.read(.faultRecordingHigh) >> 32 & 0xFF, UInt64(VTdFaultReason.writeNotPermitted.rawValue))
        XCTAssertEqual(t.read(.faultRecordingHigh) >> 62 & 1, 0, "T: write")
        t.write(.faultRecordingHigh, 1 << 63)
        XCTAssertNil(t.unit.dmaRead(0x20_0000, count: 4, requester: edu), "IOVA 2 MiB: nothing mapped")
        XCTAssertEqual(t.read(.faultRecordingHigh) >> 32 & 0xFF, UInt64(VTdFaultReason.readNotPermitted.rawValue))
        XCTAssertEqual(t.read(.faultRecordingLow), 0x20_0000)
    }

    func testFaultProcessingDisableSuppressesTheRecordButStillBlocks() throws {
        let t = try VTdTestBed()
        t.enableTranslation()
        t.map(sid: edu, iova: 0, to: t.page(), fpd: true)
        XCTAssertNil(t.unit.dmaRead(0x7000, count: 4, requester: edu))
        XCTAssertEqual(t.read(.faultStatus), 0)
        XCTAssertEqual(t.unit.faultsDetected, 1)
    }

    func testMalformedStructuresFaultWithTheirReasons() throws {
        func reason(_ setup: (VTdTestBed, UInt64) -> Void, iova: UInt64 = 0) throws -> UInt64 {
            let t = try VTdTestBed()
            let root = t.enableTranslation()
            setup(t, root)
            XCTAssertNil(t.unit.dmaRead(iova, count: 1, requester: 0x0008))
            return t.read(.faultRecordingHigh) >> 32 & 0xFF
        }
        typealias R = VTdFaultReason
        XCTAssertEqual(try reason { _, _ in }, UInt64(R.rootEntryNotPresent.rawValue))
        XCTAssertEqual(try reason { t, r in t.store(t.page() | 1 | 0x10, at: r) }, UInt64(R.rootEntryReserved.rawValue))
        XCTAssertEqual(try reason { t, r in t.store(0xFFF0_0000 | 1, at: r) }, UInt64(R.contextTableInaccessible.rawValue),
                       "context table outside RAM")
        XCTAssertEqual(try reason { t, _ in let ce = t.map(sid: 0x0008, iova: 0, to: 0); t.store(5, at: ce + 8) },
                       UInt64(R.contextEntryInvalid.rawValue), "AW = 101b is not supported")
        XCTAssertEqual(try reason { t, _ in let ce = t.map(sid: 0x0008, iova: 0, to: 0); t.store(t.load(ce) | 4, at: ce) },
                       UInt64(R.contextEntryInvalid.rawValue), "TT = 01b (device TLB) is not supported")
        XCTAssertEqual(try reason { t, _ in let ce = t.map(sid: 0x0008, iova: 0, to: 0); t.store(t.load(ce + 8) | 1 << 40, at: ce + 8) },
                       UInt64(R.contextEntryReserved.rawValue))
        XCTAssertEqual(try reason({ t, _ in t.map(sid: 0x0008, iova: 0, to: 0) }, iova: 1 << 39),
                       UInt64(R.addressBeyondGuestWidth.rawValue))
        XCTAssertEqual(try reason { t, _ in t.map(sid: 0x0008, iova: 0, to: 1 << 45) }, UInt64(R.pagingEntryReserved.rawValue),
                       "address bits above the host width")
        XCTAssertEqual(try reason { t, _ in
            let ce = t.map(sid: 0x0008, iova: 0, to: 0)
            t.store(0xFFF0_0000 | 3, at: t.load(ce) & ~0xFFF)           // level-3 entry points outside RAM
        }, UInt64(R.pagingEntryInaccessible.rawValue))
        // A root table pointer outside RAM.
        let t = try VTdTestBed()
        t.write(.rootTableAddress, 0xFFFF_F000)
        t.command(VTdGlobal.setRootTablePointer)
        t.command(VTdGlobal.translationEnable)
        XCTAssertNil(t.unit.dmaRead(0, count: 1, requester: 0x0008))
        XCTAssertEqual(t.read(.faultRecordingHigh) >> 32 & 0xFF, UInt64(R.rootTableInaccessible.rawValue))
    }

    func testTableBasesNearTheTopOfTheAddressSpaceFaultInsteadOfTrapping() throws {
        let t = try VTdTestBed()
        t.write(.rootTableAddress, 0xFFFF_FFFF_FFFF_F000)
        t.command(VTdGlobal.setRootTablePointer)
        t.command(VTdGlobal.translationEnable)
        XCTAssertNil(t.unit.dmaRead(0, count: 1, requester: 0xFFFF))       // bus FFh: base + FF0h + 8
        XCTAssertEqual(t.read(.faultRecordingHigh) >> 32 & 0xFF, UInt64(VTdFaultReason.rootTableInaccessible.rawValue))
        t.write(.faultRecordingHigh, 1 << 63)
        t.write(.interruptRemappingTableAddress, 0xFFFF_FFFF_FFFF_F00F)
        t.command(VTdGlobal.setInterruptRemapTablePointer)
        t.command(VTdGlobal.interruptRemappingEnable)
        XCTAssertNil(t.unit.remap(MSIMessage(address: 0xFEE0_0000 | 0x7FFF << 5 | 1 << 4 | 1 << 2, data: 0), requester: 0x0008))
        XCTAssertEqual(t.read(.faultRecordingHigh) >> 32 & 0xFF, UInt64(VTdFaultReason.interruptTableInaccessible.rawValue))
        t.write(.invalidationQueueAddress, 0xFFFF_FFFF_FFFF_F007)
        t.command(VTdGlobal.queuedInvalidationEnable)
        t.write(.invalidationQueueTail, 0x7FFF << 4)
        XCTAssertEqual(t.read(.faultStatus) & 1 << 4, 1 << 4, "IQE: the descriptor cannot be fetched")
    }

    func testLargePagesAndPassThrough() throws {
        let t = try VTdTestBed()
        t.enableTranslation()
        let ce = t.map(sid: edu, iova: 0, to: t.page())
        // A 2-MiB page at IOVA 4 MiB → PA 8 MiB (level-2 entry with PS).
        let level2 = t.load(t.load(ce) & ~0xFFF) & ~0xFFF
        t.store(0x80_0000 | 1 << 7 | 3, at: level2 + 2 * 8)
        try t.memory.write([0x5A], at: 0x80_0000 + 0x1_2345)
        XCTAssertEqual(t.unit.dmaRead(0x40_0000 + 0x1_2345, count: 1, requester: edu), [0x5A])
        // Misaligned large-page address: reserved bits 20:12.
        t.store(0x80_1000 | 1 << 7 | 3, at: level2 + 2 * 8)
        XCTAssertNil(t.unit.dmaRead(0x40_0000, count: 1, requester: edu))
        XCTAssertEqual(t.read(.faultRecordingHigh) >> 32 & 0xFF, UInt64(VTdFaultReason.pagingEntryReserved.rawValue))
        // TT = 10b: pass-through.
        t.store((t.load(ce) & ~0xC) | 2 << 2, at: ce)
        XCTAssertEqual(t.unit.dmaRead(0x80_0000 + 0x1_2345, count: 1, requester: edu), [0x5A])
    }

    // MARK: Interrupt remapping

    func testMSIIsRemappedThroughItsIRTE() throws {
        let t = try VTdTestBed()
        t.enableInterruptRemapping()
        t.setIRTE(2, vector: 0xEE, destination: 3, sid: edu)
        // kvm-unit-tests' MSI address for handle 2: FEE00050H, data 0.
        let m = t.unit.remap(MSIMessage(address: 0xFEE0_0050, data: 0), requester: edu)
        XCTAssertEqual(m, APICMessage(vector: 0xEE, deliveryMode: .fixed, destination: 3))
        // SHV: handle + subhandle.
        t.setIRTE(5, vector: 0x41, sid: edu, level: true)
        XCTAssertEqual(t.unit.remap(MSIMessage(address: 0xFEE0_0058, data: 3), requester: edu)?.vector, 0x41)
        XCTAssertEqual(t.unit.remap(MSIMessage(address: 0xFEE0_0058, data: 3), requester: edu)?.levelTriggered, true)
        XCTAssertEqual(t.read(.faultStatus), 0)
    }

    func testIOAPICRemappableEntryIsRemapped() throws {
        let t = try VTdTestBed()
        t.enableInterruptRemapping()
        t.setIRTE(1, vector: 0xED, sid: edu)
        // Pin 11: vector ED, edge, remappable format (bit 48), index 1 in 63:49.
        t.ioapic.mmioWrite(offset: 0, size: 4, value: 0x10 + 2 * 11)
        t.ioapic.mmioWrite(offset: 0x10, size: 4, value: 0xED)
        t.ioapic.mmioWrite(offset: 0, size: 4, value: 0x10 + 2 * 11 + 1)
        t.ioapic.mmioWrite(offset: 0x10, size: 4, value: 1 << 16 | 1 << 17)
        XCTAssertEqual(t.ioapic.redirectionEntry(11) >> 48, 0b11, "format bit and handle kept")
        t.ioapic.setPin(11, level: true)
        XCTAssertEqual(t.lapic.pendingVector, 0xED)
        // The IRTE, not the RTE, decides: a different vector in the IRTE wins.
        XCTAssertEqual(t.lapic.acknowledge(), 0xED)
        t.lapic.mmioWrite(offset: 0xB0, size: 4, value: 0)
        t.setIRTE(1, vector: 0x62, sid: 0xFFFF)          // SID check skipped: the I/O APIC sends none
        t.ioapic.setPin(11, level: false)
        t.ioapic.setPin(11, level: true)
        XCTAssertEqual(t.lapic.pendingVector, 0x62)
    }

    func testBlockedInterruptsRecordTheirFaults() throws {
        let t = try VTdTestBed()
        t.enableInterruptRemapping(s: 3)                 // 16 entries
        func fault(_ m: MSIMessage, _ sid: UInt16 = 0x0008) -> UInt64? {
            t.write(.faultRecordingHigh, 1 << 63)
            XCTAssertNil(t.unit.remap(m, requester: sid))
            let h = t.read(.faultRecordingHigh)
            return h >> 63 == 1 ? h >> 32 & 0xFF : nil
        }
        typealias R = VTdFaultReason
        XCTAssertEqual(fault(MSIMessage(address: 0xFEE0_0000, data: 0x30)), UInt64(R.compatibilityInterruptBlocked.rawValue))
        XCTAssertEqual(fault(MSIMessage(address: 0xFEE0_0000 | 16 << 5 | 1 << 4, data: 0)), UInt64(R.interruptIndexBeyondTable.rawValue))
        XCTAssertEqual(t.read(.faultRecordingLow) >> 48, 16, "FI holds the interrupt index")
        XCTAssertEqual(fault(MSIMessage(address: 0xFEE0_0000 | 4 << 5 | 1 << 4, data: 0)), UInt64(R.interruptEntryNotPresent.rawValue))
        t.setIRTE(4, vector: 0x30, sid: 0x0010, fpd: false)
        XCTAssertEqual(fault(MSIMessage(address: 0xFEE0_0000 | 4 << 5 | 1 << 4, data: 0)), UInt64(R.interruptSourceMismatch.rawValue))
        t.setIRTE(4, vector: 0x30, sid: 0x0010, fpd: true)
        XCTAssertNil(fault(MSIMessage(address: 0xFEE0_0000 | 4 << 5 | 1 << 4, data: 0)), "FPD: blocked, not recorded")
        t.store(t.load(t.unit.interruptTable.base + 4 * 16) & ~2 | 1 << 15, at: t.unit.interruptTable.base + 4 * 16)
        XCTAssertEqual(fault(MSIMessage(address: 0xFEE0_0000 | 4 << 5 | 1 << 4, data: 0), 0x0010),
                       UInt64(R.interruptEntryReserved.rawValue), "posted format is not supported")
        // With CFI set, compatibility-format requests pass through.
        t.command(VTdGlobal.compatibilityFormatInterrupt)
        XCTAssertEqual(t.unit.remap(MSIMessage(address: 0xFEE0_1000, data: 0x30), requester: 0x0008),
                       APICMessage(vector: 0x30, deliveryMode: .fixed, destination: 1))
    }

    func testFaultEventIsSentWhenUnmasked() throws {
        let t = try VTdTestBed()
        t.enableTranslation()
        t.write(.faultEventData, 0x51)
        t.write(.faultEventAddress, 0xFEE0_0000)
        XCTAssertNil(t.unit.dmaRead(0, count: 1, requester: edu))
        XCTAssertEqual(t.read(.faultEventControl), 0xC000_0000, "masked: IP set")
        XCTAssertNil(t.lapic.pendingVector)
        t.write(.faultEventControl, 0)
        XCTAssertEqual(t.lapic.pendingVector, 0x51, "unmasking delivers the held event")
        XCTAssertEqual(t.read(.faultEventControl), 0)
    }

    // MARK: Queued invalidation

    func testInvalidationQueueProcessesWaitDescriptorsAndStopsOnBadOnes() throws {
        let t = try VTdTestBed()
        let queue = t.page(), status = t.page()
        t.write(.invalidationQueueAddress, queue)         // QS = 0: 256 entries
        t.command(VTdGlobal.queuedInvalidationEnable)
        t.store(1 | 1 << 4, at: queue)                    // context-cache, global
        t.store(2 | 1 << 4, at: queue + 16)               // IOTLB, global
        t.store(5 | 1 << 5 | 1 << 4 | 0xCAFE << 32, at: queue + 32)   // wait: SW + IF
        t.store(status, at: queue + 40)
        t.write(.invalidationQueueTail, 3 << 4)
        XCTAssertEqual(t.read(.invalidationQueueHead), 3 << 4)
        XCTAssertEqual(t.load(status) & 0xFFFF_FFFF, 0xCAFE)
        XCTAssertEqual(t.read(.invalidationCompletionStatus), 1)
        XCTAssertEqual(t.read(.invalidationEventControl), 0xC000_0000)
        t.write(.invalidationCompletionStatus, 1)
        XCTAssertEqual(t.read(.invalidationCompletionStatus), 0)
        XCTAssertEqual(t.read(.invalidationEventControl), 0x8000_0000)
        // Type 0 is no descriptor: IQE, head stays on it.
        t.store(0, at: queue + 48)
        t.write(.invalidationQueueTail, 4 << 4)
        XCTAssertEqual(t.read(.faultStatus) & 1 << 4, 1 << 4)
        XCTAssertEqual(t.read(.invalidationQueueHead), 3 << 4)
    }
}
