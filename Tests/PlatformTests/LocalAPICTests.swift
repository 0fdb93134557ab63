import XCTest
@testable import Platform

/// A clock the test moves by hand.
private final class HandClock: TimeSource {
    var nanoseconds: UInt64 = 0
    func tsc(cpu: Int) -> UInt64 { nanoseconds * 2 }   // 2 GHz TSC
    var tscHz: UInt64 { 2_000_000_000 }
}

/// Records what the APIC asks of its processor.
private final class HostRecorder: LocalAPICHost {
    var nmis = 0, inits = 0, sipis: [UInt8] = [], wakeups = 0
    func apicInterruptPending() { wakeups += 1 }
    func apicNMI() { nmis += 1 }
    func apicINIT() { inits += 1 }
    func apicStartup(vector: UInt8) { sipis.append(vector) }
}

/// Local APIC and I/O APIC behaviour (SDM Vol. 3A ch. 12; 82093AA datasheet).
final class LocalAPICTests: XCTestCase {
    private var clock: HandClock!
    private var scheduler: EventScheduler!
    private var bus: APICBus!
    private var apic0: LocalAPIC!
    private var apic1: LocalAPIC!
    private var host0: HostRecorder!
    private var host1: HostRecorder!

    override func setUp() {
        clock = HandClock()
        scheduler = EventScheduler(time: clock)
        bus = APICBus()
        apic0 = LocalAPIC(apicID: 0, cpuIndex: 0, bootstrap: true, bus: bus, scheduler: scheduler)
        apic1 = LocalAPIC(apicID: 1, cpuIndex: 1, bootstrap: false, bus: bus, scheduler: scheduler)
        host0 = HostRecorder(); host1 = HostRecorder()
        apic0.host = host0; apic1.host = host1
        for a in [apic0!, apic1!] { a.mmioWrite(offset: 0xF0, size: 4, value: 0x1FF) }   // SVR: enable, spurious 0xFF
    }

    private func reg(_ a: LocalAPIC, _ off: UInt64) -> UInt32 { UInt32(a.mmioRead(offset: off, size: 4)) }
    private func advance(_ ns: UInt64) { clock.nanoseconds += ns; scheduler.runDue() }

    func testIdentityAndVersion() {
        XCTAssertEqual(reg(apic1, 0x20), 1 << 24)
        XCTAssertEqual(reg(apic0, 0x30), 0x0006_0014)
        XCTAssertEqual(apic0.baseMSR, 0xFEE0_0900)   // BSP, enabled
        XCTAssertEqual(apic1.baseMSR, 0xFEE0_0800)
    }

    func testPriorityAcknowledgeAndEOI() {
        apic0.accept(vector: 0x41, level: false)
        apic0.accept(vector: 0x82, level: false)
        XCTAssertEqual(apic0.pendingVector, 0x82)
        XCTAssertEqual(apic0.acknowledge(), 0x82)
        XCTAssertEqual(reg(apic0, 0x100 + 0x40) & (1 << 2), 1 << 2, "ISR bit 0x82")
        XCTAssertEqual(reg(apic0, 0xA0), 0x80, "PPR follows the in-service class")
        XCTAssertNil(apic0.pendingVector, "0x41 is below the in-service class")
        apic0.mmioWrite(offset: 0xB0, size: 4, value: 0)   // EOI
        XCTAssertEqual(apic0.pendingVector, 0x41)
        apic0.mmioWrite(offset: 0x80, size: 4, value: 0x50) // TPR class 5 blocks class 4
        XCTAssertNil(apic0.pendingVector)
        apic0.mmioWrite(offset: 0x80, size: 4, value: 0x30)
        XCTAssertEqual(apic0.acknowledge(), 0x41)
    }

    /// The pending vector and ExtINT acceptance are kept as state words (the VM reads them
    /// after every exit): each enable that feeds them must refresh them (SDM Vol. 3A §12.4.3,
    /// §12.4.7.2, §12.5.1, §12.8.4).
    func testPendingVectorAndExtINTFollowTheEnables() {
        apic0.accept(vector: 0x61, level: false)
        XCTAssertEqual(apic0.pendingVector, 0x61)
        apic0.mmioWrite(offset: 0xF0, size: 4, value: 0x0FF)      // SVR: software disabled
        XCTAssertNil(apic0.pendingVector)
        apic0.mmioWrite(offset: 0xF0, size: 4, value: 0x1FF)
        XCTAssertEqual(apic0.pendingVector, 0x61, "the IRR survives a software disable")
        XCTAssertFalse(apic0.acceptsExtINT, "LINT0 masked at reset")
        apic0.mmioWrite(offset: 0x350, size: 4, value: 0x700)     // LINT0: ExtINT, unmasked
        XCTAssertTrue(apic0.acceptsExtINT)
        apic0.mmioWrite(offset: 0x350, size: 4, value: 0x1_0700)  // masked
        XCTAssertFalse(apic0.acceptsExtINT)
        XCTAssertTrue(apic0.writeBaseMSR(0xFEE0_0100))             // EN = 0: globally disabled
        XCTAssertNil(apic0.pendingVector, "disabling resets the IRR")
        XCTAssertTrue(apic0.acceptsExtINT, "a disabled APIC passes the 8259's INTR")
        XCTAssertTrue(apic0.writeBaseMSR(0xFEE0_0900))
        XCTAssertFalse(apic0.acceptsExtINT, "re-enabled with LINT0 masked (power-up state)")
        apic0.mmioWrite(offset: 0xF0, size: 4, value: 0x1FF)
        apic0.accept(vector: 0x30, level: false)
        XCTAssertEqual(apic0.pendingVector, 0x30)
    }

    func testIllegalVectorsSetErrors() {
        apic0.accept(vector: 5, level: false)
        XCTAssertNil(apic0.pendingVector)
        apic0.mmioWrite(offset: 0x280, size: 4, value: 0)   // latch ESR
        XCTAssertEqual(reg(apic0, 0x280), 1 << 6, "receive illegal vector")
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x4_0005)   // self IPI, vector 5
        apic0.mmioWrite(offset: 0x280, size: 4, value: 0)
        XCTAssertEqual(reg(apic0, 0x280), 1 << 5, "send illegal vector")
    }

    func testFixedIPIsPhysicalLogicalAndShorthands() {
        apic0.mmioWrite(offset: 0x310, size: 4, value: 1 << 24)
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x0000_0051)   // fixed, physical dest 1
        XCTAssertEqual(apic1.pendingVector, 0x51)
        XCTAssertNil(apic0.pendingVector)
        // Logical flat: APIC 1 has logical ID bit 1.
        apic1.mmioWrite(offset: 0xD0, size: 4, value: 0x0200_0000)
        apic0.mmioWrite(offset: 0x310, size: 4, value: 0x0200_0000)
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x0000_0862)   // logical
        XCTAssertEqual(apic1.acknowledge(), 0x62)
        // All excluding self.
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x000C_0070)
        XCTAssertNil(apic0.pendingVector)
        XCTAssertEqual(apic1.pendingVector, 0x70)
    }

    func testINITAndStartupIPIs() {
        apic0.mmioWrite(offset: 0x310, size: 4, value: 1 << 24)
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x0000_C500)   // INIT, level assert
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x0000_8500)   // INIT level de-assert: ignored
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x0000_0608)   // SIPI vector 8
        XCTAssertEqual(host1.inits, 1)
        XCTAssertEqual(host1.sipis, [8])
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x0000_0400)   // NMI
        XCTAssertEqual(host1.nmis, 1)
    }

    func testOneShotAndPeriodicTimer() {
        apic0.mmioWrite(offset: 0x3E0, size: 4, value: 0xB)            // divide by 1
        apic0.mmioWrite(offset: 0x320, size: 4, value: 0x40)           // one-shot, vector 0x40
        apic0.mmioWrite(offset: 0x380, size: 4, value: 1000)
        advance(400)
        XCTAssertEqual(reg(apic0, 0x390), 600)
        XCTAssertNil(apic0.pendingVector)
        advance(600)
        XCTAssertEqual(apic0.acknowledge(), 0x40)
        XCTAssertEqual(reg(apic0, 0x390), 0)
        apic0.mmioWrite(offset: 0xB0, size: 4, value: 0)
        // Periodic with divide by 4: period 4 × 250 ns.
        apic0.mmioWrite(offset: 0x3E0, size: 4, value: 0x1)
        apic0.mmioWrite(offset: 0x320, size: 4, value: 0x2_0041)
        apic0.mmioWrite(offset: 0x380, size: 4, value: 250)
        var fired = 0
        for _ in 0..<5 {
            advance(1000)
            if apic0.acknowledge() == 0x41 { fired += 1; apic0.mmioWrite(offset: 0xB0, size: 4, value: 0) }
        }
        XCTAssertEqual(fired, 5)
    }

    func testExpiredOneShotStaysZeroWhenSwitchedToPeriodic() {
        apic0.mmioWrite(offset: 0x3E0, size: 4, value: 0xB)            // divide by 1
        apic0.mmioWrite(offset: 0x320, size: 4, value: 0x40)           // one-shot
        apic0.mmioWrite(offset: 0x380, size: 4, value: 100)
        advance(100)
        XCTAssertEqual(reg(apic0, 0x390), 0)
        apic0.mmioWrite(offset: 0x320, size: 4, value: 0x2_0040)       // → periodic
        XCTAssertEqual(reg(apic0, 0x390), 0, "the count that reached zero does not restart (§12.5.4)")
        advance(500)
        XCTAssertEqual(reg(apic0, 0x390), 0)
        // Switching a running one-shot count to periodic keeps counting, then reloads.
        apic0.mmioWrite(offset: 0x320, size: 4, value: 0x40)
        apic0.mmioWrite(offset: 0x380, size: 4, value: 100)
        advance(30)
        apic0.mmioWrite(offset: 0x320, size: 4, value: 0x2_0040)
        XCTAssertEqual(reg(apic0, 0x390), 70)
        advance(80)
        XCTAssertEqual(reg(apic0, 0x390), 90, "reloaded at zero in periodic mode")
    }

    func testXAPICIDIsWritableAndDisablingRestoresIt() {
        apic1.mmioWrite(offset: 0x20, size: 4, value: 7 << 24)
        XCTAssertEqual(reg(apic1, 0x20), 7 << 24)
        apic0.mmioWrite(offset: 0x310, size: 4, value: 7 << 24)         // ICR high: destination 7
        apic0.mmioWrite(offset: 0x300, size: 4, value: 0x0000_0051)     // fixed, physical
        XCTAssertEqual(apic1.pendingVector, 0x51, "physical destinations match the written ID")
        XCTAssertTrue(apic1.writeBaseMSR(0xFEE0_0000))                  // disable globally
        XCTAssertTrue(apic1.writeBaseMSR(0xFEE0_0800))                  // enable (xAPIC)
        XCTAssertEqual(reg(apic1, 0x20), 1 << 24, "power-up state: the initial APIC ID")
        XCTAssertTrue(apic1.writeBaseMSR(0xFEE0_0C00))
        XCTAssertFalse(apic1.writeMSR(0x802, 9), "the x2APIC ID is read-only")
    }

    func testTSCDeadlineTimer() {
        apic0.mmioWrite(offset: 0x320, size: 4, value: 0x4_0042)       // TSC-deadline mode
        apic0.writeTSCDeadline(clock.tsc(cpu: 0) + 2000)                // 1000 ns at 2 GHz
        advance(999)
        XCTAssertNil(apic0.pendingVector)
        advance(1)
        XCTAssertEqual(apic0.pendingVector, 0x42)
        XCTAssertEqual(apic0.tscDeadline, 0, "the deadline MSR reads 0 after expiry")
    }

    func testX2APICModeTransitionsAndMSRs() {
        XCTAssertFalse(apic1.writeBaseMSR(0xFEE0_0400), "disabled+EXTD is invalid")
        XCTAssertFalse(apic1.writeBaseMSR(0xFEE0_0801), "reserved bit 0")
        XCTAssertTrue(apic1.writeBaseMSR(0xFEE0_0C00), "xAPIC → x2APIC")
        XCTAssertFalse(apic1.writeBaseMSR(0xFEE0_0800), "x2APIC → xAPIC is invalid")
        XCTAssertEqual(apic1.readMSR(0x802), 1, "x2APIC ID is 32 bits")
        XCTAssertEqual(apic1.readMSR(0x80D), (0 << 16) | (1 << 1), "LDR derived from the ID")
        XCTAssertNil(apic1.readMSR(0x80B), "EOI is write-only")
        XCTAssertFalse(apic1.writeMSR(0x80B, 1), "non-zero EOI write")
        XCTAssertFalse(apic1.writeMSR(0x802, 5), "ID is read-only")
        XCTAssertNil(apic1.readMSR(0x80E), "no DFR in x2APIC mode")
        XCTAssertTrue(apic1.writeMSR(0x83F, 0x55), "SELF IPI")
        XCTAssertEqual(apic1.pendingVector, 0x55)
        XCTAssertTrue(apic1.writeMSR(0x830, 0x0000_0000_0000_0066), "ICR to APIC 0")
        XCTAssertEqual(apic0.pendingVector, 0x66)
        XCTAssertEqual(apic1.mmioRead(offset: 0x20, size: 4), 0xFFFF_FFFF, "no MMIO in x2APIC mode")
        XCTAssertTrue(apic1.writeBaseMSR(0))
        XCTAssertNil(apic1.pendingVector, "disabling resets the APIC")
    }

    func testIOAPICEdgeAndLevelWithRemoteIRR() {
        let io = IOAPIC(bus: bus)
        io.mmioWrite(offset: 0, size: 4, value: 1)
        XCTAssertEqual(io.mmioRead(offset: 0x10, size: 4), 0x0017_0020)
        // Pin 3: edge, vector 0x33, to APIC 1.
        io.mmioWrite(offset: 0, size: 4, value: 0x10 + 6); io.mmioWrite(offset: 0x10, size: 4, value: 0x33)
        io.mmioWrite(offset: 0, size: 4, value: 0x10 + 7); io.mmioWrite(offset: 0x10, size: 4, value: 1 << 24)
        io.setPin(3, level: true)
        XCTAssertEqual(apic1.acknowledge(), 0x33)
        io.setPin(3, level: true)   // no new edge
        apic1.mmioWrite(offset: 0xB0, size: 4, value: 0)
        XCTAssertNil(apic1.pendingVector)
        // Pin 9: level, vector 0x49, to APIC 0.
        io.mmioWrite(offset: 0, size: 4, value: 0x10 + 18); io.mmioWrite(offset: 0x10, size: 4, value: 0x8049)
        io.setPin(9, level: true)
        XCTAssertEqual(io.redirectionEntry(9) & (1 << 14), 1 << 14, "remote IRR set")
        XCTAssertEqual(apic0.acknowledge(), 0x49)
        apic0.mmioWrite(offset: 0xB0, size: 4, value: 0)   // EOI while still asserted → re-delivered
        XCTAssertEqual(apic0.acknowledge(), 0x49)
        io.setPin(9, level: false)
        apic0.mmioWrite(offset: 0xB0, size: 4, value: 0)
        XCTAssertEqual(io.redirectionEntry(9) & (1 << 14), 0, "remote IRR cleared by EOI")
        XCTAssertNil(apic0.pendingVector)
    }
}
