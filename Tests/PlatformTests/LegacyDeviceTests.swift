import CPU
import XCTest
@testable import Platform

private final class Clock: TimeSource {
    var nanoseconds: UInt64 = 0
    func tsc(cpu: Int) -> UInt64 { nanoseconds * 2 }
    var tscHz: UInt64 { 2_000_000_000 }
}

private final class Lines: InterruptLineSink {
    var levels = [Int: Bool]()
    var rising = [Int]()
    func setIRQ(_ irq: Int, level: Bool) {
        if level && levels[irq] != true { rising.append(irq) }
        levels[irq] = level
    }
}

/// The PC's legacy devices driven through their ports.
final class UARTTests: XCTestCase {
    func testTransmitLineStatusLoopbackAndInterrupts() {
        var out: [UInt8] = []
        let lines = Lines()
        let u = UART16550(output: { out.append($0) })
        u.interruptLines = lines
        u.ioWrite(port: 0x3F8, size: 1, value: 0x41)
        XCTAssertEqual(out, [0x41])
        XCTAssertEqual(u.ioRead(port: 0x3FD, size: 1) & 0x60, 0x60, "THRE and TEMT")
        XCTAssertEqual(u.ioRead(port: 0x3FD, size: 1) & 1, 0, "no data ready")
        // Divisor latch.
        u.ioWrite(port: 0x3FB, size: 1, value: 0x83)
        u.ioWrite(port: 0x3F8, size: 1, value: 0x01)
        XCTAssertEqual(u.ioRead(port: 0x3F8, size: 1), 0x01)
        u.ioWrite(port: 0x3FB, size: 1, value: 0x03)
        // Loopback: output returns as input.
        u.ioWrite(port: 0x3FC, size: 1, value: 0x10)
        u.ioWrite(port: 0x3F8, size: 1, value: 0x5A)
        XCTAssertEqual(out, [0x41], "looped back, not transmitted")
        XCTAssertEqual(u.ioRead(port: 0x3FD, size: 1) & 1, 1)
        XCTAssertEqual(u.ioRead(port: 0x3F8, size: 1), 0x5A)
        // Receive interrupt on IRQ 4 (OUT2 gates it).
        u.ioWrite(port: 0x3FC, size: 1, value: 0x08)
        u.ioWrite(port: 0x3F9, size: 1, value: 0x01)
        u.receive([0x31])
        XCTAssertEqual(lines.levels[4], true)
        XCTAssertEqual(u.ioRead(port: 0x3FA, size: 1) & 0x0F, 0x04, "IIR: received data available")
        _ = u.ioRead(port: 0x3F8, size: 1)
        XCTAssertEqual(lines.levels[4], false)
        XCTAssertEqual(u.ioRead(port: 0x3FA, size: 1) & 0x01, 0x01, "no interrupt pending")
    }
}

final class PICTests: XCTestCase {
    func initialise(_ pic: PIC8259Pair) {
        for (p, v) in [(0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01),
                       (0xA0, 0x11), (0xA1, 0x28), (0xA1, 0x02), (0xA1, 0x01), (0x21, 0x00), (0xA1, 0x00)] {
            pic.ioWrite(port: UInt16(p), size: 1, value: UInt32(v))
        }
    }

    func testPriorityEOIAndCascade() {
        let pic = PIC8259Pair()
        initialise(pic)
        pic.pulseIRQ(3)
        pic.pulseIRQ(1)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x21, "IRQ 1 has priority over IRQ 3")
        XCTAssertNil(pic.acknowledgeInterrupt(), "IRQ 3 waits while IRQ 1 is in service")
        pic.ioWrite(port: 0x20, size: 1, value: 0x0B)          // OCW3: read ISR
        XCTAssertEqual(pic.ioRead(port: 0x20, size: 1), 0x02)
        pic.ioWrite(port: 0x20, size: 1, value: 0x20)          // non-specific EOI
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x23)
        pic.ioWrite(port: 0x20, size: 1, value: 0x63)          // specific EOI for IR3
        // Slave IRQ 10 through the cascade.
        pic.pulseIRQ(10)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x2A)
        // Masking.
        pic.ioWrite(port: 0x21, size: 1, value: 0xFF)
        pic.pulseIRQ(0)
        XCTAssertFalse(pic.interruptRequested)
        XCTAssertEqual(pic.ioRead(port: 0x21, size: 1), 0xFF)
        pic.ioWrite(port: 0x21, size: 1, value: 0xFE)          // unmask IR0: its latched edge requests
        XCTAssertTrue(pic.interruptRequested)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x20)
        XCTAssertFalse(pic.interruptRequested, "IR0 in service, nothing else unmasked")
    }

    func testLevelTriggeredInputsFollowTheLine() {
        let pic = PIC8259Pair()
        initialise(pic)
        pic.ioWrite(port: 0x4D1, size: 1, value: 0x08)         // IRQ 11 level-triggered
        pic.setIRQ(11, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x2B)
        pic.ioWrite(port: 0xA0, size: 1, value: 0x20)
        pic.ioWrite(port: 0x20, size: 1, value: 0x20)
        XCTAssertTrue(pic.interruptRequested, "still asserted → requested again")
        pic.setIRQ(11, level: false)
        XCTAssertFalse(pic.interruptRequested)
    }
}

final class PITTests: XCTestCase {
    func testRateGeneratorCountsAndInterrupts() {
        let clock = Clock()
        let sched = EventScheduler(time: clock)
        let lines = Lines()
        let pit = PIT8254(scheduler: sched)
        pit.interruptLines = lines
        pit.ioWrite(port: 0x43, size: 1, value: 0x34)          // ch0, lo/hi, mode 2
        pit.ioWrite(port: 0x40, size: 1, value: 0xE8)
        pit.ioWrite(port: 0x40, size: 1, value: 0x03)          // 1000 → 838 µs period
        clock.nanoseconds = 419_000                            // half a period: ≈ 500 ticks
        pit.ioWrite(port: 0x43, size: 1, value: 0x00)          // latch
        let lo = pit.ioRead(port: 0x40, size: 1), hi = pit.ioRead(port: 0x40, size: 1)
        let count = Int(lo | hi << 8)
        XCTAssertTrue((498...502).contains(count), "count \(count)")
        for k in 1...3 {
            clock.nanoseconds = UInt64(k) * 838_096 + 10
            sched.runDue()
        }
        XCTAssertEqual(lines.rising.filter { $0 == 0 }.count, 3, "one IRQ 0 per period")
    }

    func testReadBackStatusAndSpeakerGate() {
        let clock = Clock()
        let pit = PIT8254(scheduler: EventScheduler(time: clock))
        pit.ioWrite(port: 0x43, size: 1, value: 0xB6)          // ch2, lo/hi, mode 3
        pit.ioWrite(port: 0x42, size: 1, value: 0x00)
        pit.ioWrite(port: 0x42, size: 1, value: 0x10)
        pit.ioWrite(port: 0x43, size: 1, value: 0xE8)          // read-back status of ch2
        XCTAssertEqual(pit.ioRead(port: 0x42, size: 1) & 0x3F, 0x36, "access lo/hi, mode 3")
        pit.ioWrite(port: 0x61, size: 1, value: 0x01)
        XCTAssertEqual(pit.ioRead(port: 0x61, size: 1) & 1, 1, "gate bit")
    }
}

final class FirmwareAndTestDeviceTests: XCTestCase {
    func testFirmwareConfigItems() {
        let f = FirmwareConfig(ramSize: 256 << 20, cpuCount: 4)
        f.ioWrite(port: 0x510, size: 2, value: 0)
        XCTAssertEqual((0..<4).map { _ in UInt8(f.ioRead(port: 0x511, size: 1)) }, Array("QEMU".utf8))
        f.ioWrite(port: 0x510, size: 2, value: 5)
        XCTAssertEqual(f.ioRead(port: 0x511, size: 1), 4)
        XCTAssertEqual(f.ioRead(port: 0x511, size: 1), 0)
        f.ioWrite(port: 0x510, size: 2, value: 3)
        var ram: UInt64 = 0
        for k in 0..<8 { ram |= UInt64(f.ioRead(port: 0x511, size: 1)) << (8 * UInt64(k)) }
        XCTAssertEqual(ram, 256 << 20)
        f.ioWrite(port: 0x510, size: 2, value: 0x1234)
        XCTAssertEqual(f.ioRead(port: 0x511, size: 1), 0, "unknown items read as 0")
    }

    func testDebugExitAndPCTestdev() {
        var status: Int32?
        let d = DebugExit(base: 0xF4, size: 4) { status = $0 }
        d.ioWrite(port: 0xF4, size: 4, value: 1)
        XCTAssertEqual(status, 3, "(value << 1) | 1")
        let t = PCTestDevice()
        let lines = Lines()
        t.interruptLines = lines
        t.ioWrite(port: 0xE0, size: 4, value: 0xDEAD_BEEF)
        XCTAssertEqual(t.ioRead(port: 0xE0, size: 2), 0xBEEF)
        XCTAssertEqual(t.ioRead(port: 0xE2, size: 1), 0xAD)
        t.ioWrite(port: 0x200E, size: 1, value: 1)
        XCTAssertEqual(lines.levels[14], true)
        t.mmioWrite(offset: 0x10, size: 8, value: 0x1122_3344_5566_7788)
        XCTAssertEqual(t.mmioRead(offset: 0x12, size: 2), 0x5566)
        var flushed: UInt64?
        t.flushPage = { flushed = $0 }
        t.ioWrite(port: 0xE4, size: 4, value: 0x1234_5000)
        XCTAssertEqual(flushed, 0x1234_5000)
    }
}

final class RTCAndACPITests: XCTestCase {
    func testClockRegistersInBCDAndBinaryAndMemorySize() {
        let clock = Clock()
        let rtc = CMOSRealTimeClock(time: clock, epoch: 1_767_225_600)        // 2026-01-01 00:00:00
        clock.nanoseconds = (13 * 3600 + 45 * 60 + 7) * 1_000_000_000
        func reg(_ r: UInt8) -> UInt32 { rtc.ioWrite(port: 0x70, size: 1, value: UInt32(r)); return rtc.ioRead(port: 0x71, size: 1) }
        XCTAssertEqual(reg(0x00), 0x07)
        XCTAssertEqual(reg(0x02), 0x45)
        XCTAssertEqual(reg(0x04), 0x13)
        XCTAssertEqual(reg(0x07), 0x01)
        XCTAssertEqual(reg(0x08), 0x01)
        XCTAssertEqual(reg(0x09), 0x26)
        XCTAssertEqual(reg(0x32), 0x20)
        XCTAssertEqual(reg(0x06), 5, "Thursday")
        rtc.ioWrite(port: 0x70, size: 1, value: 0x0B); rtc.ioWrite(port: 0x71, size: 1, value: 0x06)   // binary
        XCTAssertEqual(reg(0x02), 45)
        XCTAssertEqual(reg(0x0D), 0x80)
        rtc.setMemorySize(bytes: 128 << 20)
        XCTAssertEqual(reg(0x34) | reg(0x35) << 8, (112 << 20) >> 16)
    }

    /// The once-a-second update cycle (MC146818A): UIP in the last 244 µs before a second
    /// boundary; at the boundary UF, and AF when the alarm matches (C0H–FFH: don't care);
    /// IRQF and IRQ 8 only for the flags register B enables; reading C clears the flags.
    func testUpdateCycleSetsUIPThenUpdateAndAlarmFlags() {
        let clock = Clock()
        let scheduler = EventScheduler(time: clock)
        let rtc = CMOSRealTimeClock(time: clock, scheduler: scheduler, epoch: 1_767_225_600)
        let lines = Lines()
        rtc.interruptLines = lines
        var alarms = 0
        rtc.onAlarm = { alarms += 1 }
        func reg(_ r: UInt8) -> UInt32 { rtc.ioWrite(port: 0x70, size: 1, value: UInt32(r)); return rtc.ioRead(port: 0x71, size: 1) }
        func set(_ r: UInt8, _ v: UInt8) { rtc.ioWrite(port: 0x70, size: 1, value: UInt32(r)); rtc.ioWrite(port: 0x71, size: 1, value: UInt32(v)) }
        func advance(to ns: UInt64) { clock.nanoseconds = ns; scheduler.runDue() }

        advance(to: 999_755_000)
        XCTAssertEqual(reg(0x0A) & 0x80, 0, "more than 244 µs before the update")
        advance(to: 999_757_000)
        XCTAssertEqual(reg(0x0A) & 0x80, 0x80, "UIP within 244 µs of the update")
        XCTAssertEqual(scheduler.pendingCount, 0, "no update event while UIE and AIE are clear")

        set(0x01, 0x03); set(0x03, 0xC0); set(0x05, 0xC0)   // alarm at second 3 of any minute and hour
        set(0x0B, 0x02 | 0x20)                               // AIE
        advance(to: 1_000_000_000)
        XCTAssertEqual(reg(0x0A) & 0x80, 0, "the update is done at the boundary")
        XCTAssertEqual(reg(0x0C), 0x40 | 0x10, "PF (1024 Hz, PIE clear) and UF: second 1 does not match the alarm, no IRQ")
        XCTAssertEqual(lines.rising, [])
        advance(to: 3_000_000_000)
        XCTAssertEqual(reg(0x0C), 0x80 | 0x40 | 0x20 | 0x10, "IRQF, PF, AF, UF at second 3")
        XCTAssertEqual(lines.rising, [8])
        XCTAssertEqual(alarms, 1)
        XCTAssertEqual(reg(0x0C), 0, "reading register C cleared it")

        set(0x0B, 0x02 | 0x80)                               // SET: updates inhibited, AIE off
        set(0x0A, 0x20)                                      // no periodic rate
        advance(to: 5_000_000_000)
        XCTAssertEqual(reg(0x0C), 0)
        XCTAssertEqual(reg(0x0A) & 0x80, 0)
        XCTAssertEqual(scheduler.pendingCount, 0)

        set(0x0B, 0x02)                                      // updates on, no interrupt enables
        advance(to: 62_500_000_000)                          // seconds 6…62 pass: 63 is second 3 of minute 1
        XCTAssertEqual(reg(0x0C), 0x10, "a poller sees UF without UIE; no alarm second yet, no IRQF")
        advance(to: 64_000_000_000)
        XCTAssertEqual(reg(0x0C), 0x30, "second 63 matched the alarm while nothing was enabled")
        XCTAssertEqual(lines.rising, [8], "no interrupt without UIE/AIE")
        XCTAssertEqual(alarms, 1)
    }

    /// MC146818A periodic interrupt: register A RS selects the rate (6: 976.5625 µs, 15:
    /// 500 ms, 1: 3.90625 ms), PF is set at each period whether or not PIE is, and with PIE
    /// IRQF and IRQ 8 follow; IRQ 8 stays asserted (no new edge) until register C is read.
    func testPeriodicInterruptRatesAndIRQ8Level() {
        let clock = Clock()
        let scheduler = EventScheduler(time: clock)
        let rtc = CMOSRealTimeClock(time: clock, scheduler: scheduler)
        let lines = Lines()
        rtc.interruptLines = lines
        func reg(_ r: UInt8) -> UInt32 { rtc.ioWrite(port: 0x70, size: 1, value: UInt32(r)); return rtc.ioRead(port: 0x71, size: 1) }
        func set(_ r: UInt8, _ v: UInt8) { rtc.ioWrite(port: 0x70, size: 1, value: UInt32(r)); rtc.ioWrite(port: 0x71, size: 1, value: UInt32(v)) }
        func advance(to ns: UInt64) { clock.nanoseconds = ns; scheduler.runDue() }

        XCTAssertEqual(rtc.periodTicks, 32, "reset rate 1024 Hz")
        advance(to: 976_000)
        XCTAssertEqual(reg(0x0C), 0, "976.0 µs: the first period (976.5625 µs) has not ended")
        advance(to: 977_000)
        XCTAssertEqual(reg(0x0C), 0x40, "PF without PIE, no IRQF")
        XCTAssertEqual(scheduler.pendingCount, 0, "no event without PIE")

        set(0x0A, 0x2F)                                      // RS 15: 500 ms
        XCTAssertEqual(rtc.periodTicks, 16_384)
        set(0x0B, 0x02 | 0x40)                               // PIE
        XCTAssertEqual(scheduler.nextDeadline, 500_000_000)
        advance(to: 500_000_000)
        XCTAssertEqual(lines.rising, [8])
        XCTAssertEqual(lines.levels[8], true, "IRQ 8 held while IRQF is set")
        advance(to: 1_000_000_000)
        XCTAssertEqual(lines.rising, [8], "no second edge before register C is read")
        XCTAssertEqual(reg(0x0C), 0x80 | 0x40 | 0x10, "IRQF, PF, and UF from the second-1 update")
        XCTAssertEqual(lines.levels[8], false, "reading register C releases IRQ 8")
        advance(to: 1_500_000_000)
        XCTAssertEqual(lines.rising, [8, 8])
        XCTAssertEqual(reg(0x0C), 0x80 | 0x40)

        set(0x0A, 0x21)                                      // RS 1: 3.90625 ms, as RS 8
        XCTAssertEqual(rtc.periodTicks, 128)
        advance(to: 1_503_000_000)
        XCTAssertEqual(reg(0x0C), 0, "1.5 s is a 3.90625 ms boundary; the next is at 1.50390625 s")
        advance(to: 1_503_906_250)
        XCTAssertEqual(lines.rising, [8, 8, 8])
        set(0x0A, 0x60)                                      // divider reset: no periodic flag
        XCTAssertNil(rtc.periodTicks)
        XCTAssertEqual(scheduler.pendingCount, 0)
        set(0x0B, 0x02)                                      // PIE off: IRQF (PF still set) drops
        XCTAssertEqual(lines.levels[8], false)
        XCTAssertEqual(reg(0x0C), 0x40)
    }

    /// ACPI 6.4 §4.8.3: SLP_EN with the \_S3 sleep type sleeps; the RTC alarm sets RTC_STS and,
    /// with RTC_EN, wakes (WAK_STS); other sleep types are ignored.
    func testSleepTypeThreeSleepsAndTheRTCAlarmWakes() {
        let pm = ACPIPowerManagement(time: Clock())
        var slept = 0, woke = 0
        pm.onSleep = { slept += 1 }
        pm.onWake = { woke += 1 }
        pm.ioWrite(port: 0x604, size: 2, value: 0x2000 | 5 << 10)   // SLP_TYP 5: not a state offered
        XCTAssertFalse(pm.sleeping)
        pm.ioWrite(port: 0x604, size: 2, value: 0x0400)             // SLP_TYP 1 without SLP_EN
        XCTAssertFalse(pm.sleeping)
        XCTAssertEqual(pm.ioRead(port: 0x604, size: 2) & 0x2001, 1, "SLP_EN reads 0, SCI_EN stays")
        pm.ioWrite(port: 0x604, size: 2, value: 0x2400)
        XCTAssertTrue(pm.sleeping)
        XCTAssertEqual(slept, 1)
        pm.rtcAlarm()
        XCTAssertTrue(pm.sleeping, "RTC_EN clear: the alarm is not a wake event")
        XCTAssertEqual(pm.ioRead(port: 0x600, size: 2), 0x0400, "RTC_STS")
        pm.ioWrite(port: 0x602, size: 2, value: 0x0400)             // RTC_EN
        pm.rtcAlarm()
        XCTAssertFalse(pm.sleeping)
        XCTAssertEqual(woke, 1)
        XCTAssertEqual(pm.ioRead(port: 0x600, size: 2), 0x8400, "WAK_STS | RTC_STS")
        pm.ioWrite(port: 0x600, size: 2, value: 0x8400)             // write 1 to clear
        XCTAssertEqual(pm.ioRead(port: 0x600, size: 2), 0)
    }

    /// ACPI 6.4 §16.1.5 (S5 soft off): SLP_EN with the \_S5 sleep type (0) powers off once;
    /// SLP_TYP 0 without SLP_EN (every plain PM1_CNT write) does not.
    func testSleepTypeZeroWithSleepEnablePowersOff() {
        let pm = ACPIPowerManagement(time: Clock())
        var off = 0, slept = 0
        pm.onPowerOff = { off += 1 }
        pm.onSleep = { slept += 1 }
        pm.ioWrite(port: 0x604, size: 2, value: 0x0001)             // SCI_EN, SLP_TYP 0, no SLP_EN
        XCTAssertFalse(pm.poweredOff)
        pm.ioWrite(port: 0x604, size: 2, value: 0x2000)
        XCTAssertTrue(pm.poweredOff)
        XCTAssertFalse(pm.sleeping)
        pm.ioWrite(port: 0x604, size: 2, value: 0x2000)
        pm.ioWrite(port: 0x604, size: 2, value: 0x2400)
        XCTAssertEqual(off, 1)
        XCTAssertEqual(slept, 0, "a powered-off machine does not enter S3")
    }

    func testDSDTDeclaresS3AndS5SleepTypes() throws {
        let memory = try PhysicalMemory(size: 4 << 20)
        try ACPITables.install(in: memory, cpuCount: 1)
        let rsdt = UInt64(try memory.load(UInt32.self, at: ACPITables.rsdpAddress + 16))
        let fadt = UInt64(try memory.load(UInt32.self, at: rsdt + 36))
        XCTAssertEqual(UInt64(try memory.load(UInt32.self, at: fadt + 36)), ACPITables.facsAddress())
        XCTAssertEqual(try memory.read(at: ACPITables.facsAddress(), length: 4), Array("FACS".utf8))
        let dsdt = UInt64(try memory.load(UInt32.self, at: fadt + 40))
        let len = Int(try memory.load(UInt32.self, at: dsdt + 4))
        let t = try memory.read(at: dsdt, length: len)
        XCTAssertEqual(t.reduce(0, &+), 0, "checksum")
        XCTAssertEqual(Array(t[36..<48]), [0x08, 0x5F, 0x53, 0x33, 0x5F, 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00],
                       "Name (\\_S3, Package (4) { One, One, Zero, Zero })")
        XCTAssertEqual(Array(t[48...]), [0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00],
                       "Name (\\_S5, Package (4) { Zero, Zero, Zero, Zero })")
    }

    func testPMTimerCountsAt3579545Hz() {
        let clock = Clock()
        let pm = ACPIPowerManagement(time: clock)
        clock.nanoseconds = 1_000_000_000
        XCTAssertEqual(pm.ioRead(port: 0x608, size: 4), 3_579_545 & 0xFF_FFFF)
        XCTAssertEqual(pm.ioRead(port: 0x604, size: 2) & 1, 1, "SCI_EN")
    }

    func testACPITablesChecksumAndPointToEachOther() throws {
        let memory = try PhysicalMemory(size: 4 << 20)
        try ACPITables.install(in: memory, cpuCount: 2)
        let rsdp = try memory.read(at: ACPITables.rsdpAddress, length: 20)
        XCTAssertEqual(Array(rsdp[0..<8]), Array("RSD PTR ".utf8))
        XCTAssertEqual(rsdp.reduce(0, &+), 0, "RSDP checksum")
        let rsdt = UInt64(try memory.load(UInt32.self, at: ACPITables.rsdpAddress + 16))
        let len = Int(try memory.load(UInt32.self, at: rsdt + 4))
        XCTAssertEqual(try memory.read(at: rsdt, length: len).reduce(0, &+), 0, "RSDT checksum")
        let fadt = UInt64(try memory.load(UInt32.self, at: rsdt + 36))
        XCTAssertEqual(try memory.read(at: fadt, length: 4), Array("FACP".utf8))
        XCTAssertEqual(try memory.load(UInt32.self, at: fadt + 76), 0x608, "PM_TMR_BLK")
        let madt = UInt64(try memory.load(UInt32.self, at: rsdt + 40))
        XCTAssertEqual(try memory.read(at: madt, length: 4), Array("APIC".utf8))
        XCTAssertEqual(try memory.load(UInt32.self, at: madt + 36), 0xFEE0_0000)
        XCTAssertEqual(len, 36 + 8, "no DMAR without a remapping unit")
    }

    func testDMARTableDescribesTheRemappingUnit() throws {
        let memory = try PhysicalMemory(size: 4 << 20)
        try ACPITables.install(in: memory, cpuCount: 1, remappingUnit: (VTdCapabilities(), 0xFED9_0000))
        let rsdt = UInt64(try memory.load(UInt32.self, at: ACPITables.rsdpAddress + 16))
        XCTAssertEqual(try memory.load(UInt32.self, at: rsdt + 4), 36 + 12)
        let dmar = UInt64(try memory.load(UInt32.self, at: rsdt + 44))
        let len = Int(try memory.load(UInt32.self, at: dmar + 4))
        let t = try memory.read(at: dmar, length: len)
        XCTAssertEqual(Array(t[0..<4]), Array("DMAR".utf8))
        XCTAssertEqual(t.reduce(0, &+), 0, "checksum")
        XCTAssertEqual(len, 48 + 16 + 8)
        XCTAssertEqual(t[36], 38, "host address width − 1")
        XCTAssertEqual(t[37], 0b11, "INTR_REMAP, X2APIC_OPT_OUT (eim=off)")
        XCTAssertEqual(t[48], 0, "DRHD")
        XCTAssertEqual(t[52] & 1, 1, "INCLUDE_PCI_ALL")
        XCTAssertEqual(try memory.load(UInt64.self, at: dmar + 56), 0xFED9_0000)
        XCTAssertEqual(Array(t[64..<72]), [3, 8, 0, 0, 0, 0xFF, 0, 0], "I/O APIC scope")
    }
}
