/// A local APIC in xAPIC (MMIO) or x2APIC (MSR) mode (SDM Vol. 3A ch. 12 "Advanced
/// Programmable Interrupt Controller (APIC)").
///
/// Interrupt acceptance and priorities follow §12.8 (IRR/ISR/TMR, TPR/PPR, EOI); IPIs §12.6;
/// the timer §12.5.4 (its clock is the virtual 1 GHz bus clock before the divider); the base
/// MSR and mode transitions §12.4.4 and §12.12.5.
public final class LocalAPIC: MMIODevice {
    /// The MMIO window's default base (IA32_APIC_BASE reset value).
    public static let defaultBase: UInt64 = 0xFEE0_0000
    /// Version register: version 0x14 (integrated APIC), maximum LVT entry 6 (CMCI … error).
    static let versionValue: UInt32 = 0x0006_0014
    /// The timer input clock: virtual nanoseconds, i.e. a 1 GHz bus clock.
    static let busHz: UInt64 = 1_000_000_000

    public let apicID: UInt32
    /// The xAPIC ID register's ID (bits 31:24), writable in xAPIC mode (SDM Vol. 3A §12.4.6:
    /// software may change it; physical destinations then match it). The x2APIC ID is
    /// always `apicID`.
    public private(set) var xAPICID: UInt32
    /// Unowned rather than weak: a weak reference would give the host (a vCPU) a side table,
    /// slowing every retain and release of it. The host owns this APIC and outlives it.
    public unowned var host: LocalAPICHost?
    let scheduler: EventScheduler
    let bus: APICBus
    private(set) var busIndex = 0
    /// Whether the processor model offers x2APIC (CPUID.1:ECX[21]).
    public let x2APICSupported: Bool
    /// Processor index of the owning vCPU (for its TSC).
    let cpuIndex: Int

    // Every input of `pendingVector` (the enables, TPR, IRR, ISR) refreshes it when written.
    public private(set) var baseMSR: UInt64 { didSet { updatePendingVector(); updateAcceptsExtINT() } }
    var tpr: UInt32 = 0 { didSet { updatePendingVector() } }
    var ldr: UInt32 = 0
    var dfr: UInt32 = 0xFFFF_FFFF
    var svr: UInt32 = 0xFF { didSet { updatePendingVector() } }
    var irr = [UInt32](repeating: 0, count: 8) { didSet { updatePendingVector() } }
    var isr = [UInt32](repeating: 0, count: 8) { didSet { updatePendingVector() } }
    var tmr = [UInt32](repeating: 0, count: 8)
    var esr: UInt32 = 0
    var pendingErrors: UInt32 = 0
    var icrLow: UInt32 = 0
    var icrHigh: UInt32 = 0
    /// LVT entries in table order: CMCI, timer, thermal, performance, LINT0, LINT1, error.
    var lvt = [UInt32](repeating: LocalAPIC.lvtMasked, count: 7) { didSet { updateAcceptsExtINT() } }
    static let lvtMasked: UInt32 = 1 << 16
    let timer: LocalAPICTimer

    public init(apicID: UInt32, cpuIndex: Int, bootstrap: Bool, bus: APICBus, scheduler: EventScheduler,
                x2APICSupported: Bool = true) {
        self.apicID = apicID
        self.xAPICID = apicID & 0xFF
        self.cpuIndex = cpuIndex
        self.bus = bus
        self.scheduler = scheduler
        self.x2APICSupported = x2APICSupported
        baseMSR = Self.defaultBase | (1 << 11) | (bootstrap ? 1 << 8 : 0)
        timer = LocalAPICTimer(scheduler: scheduler)
        timer.owner = self
        busIndex = bus.attach(self)
        updateAcceptsExtINT()
    }

    // MARK: Mode

    /// IA32_APIC_BASE[11]: the APIC is globally enabled.
    public var globallyEnabled: Bool { baseMSR & (1 << 11) != 0 }
    /// IA32_APIC_BASE[10] (EXTD): x2APIC mode.
    public var x2APICMode: Bool { globallyEnabled && baseMSR & (1 << 10) != 0 }
    /// SVR[8]: APIC software enable.
    public var softwareEnabled: Bool { svr & (1 << 8) != 0 }

    /// Power-up / INIT state of the registers (SDM Vol. 3A §12.4.7.1); the base MSR and the
    /// APIC ID are kept.
    /// RESET: the xAPIC ID returns to the initial APIC ID, then every register as
    /// `resetRegisters`.
    public func powerOnReset() {
        xAPICID = apicID & 0xFF
        resetRegisters()
    }

    public func resetRegisters() {
        tpr = 0; ldr = 0; dfr = 0xFFFF_FFFF; svr = 0xFF
        for k in 0..<8 { irr[k] = 0; isr[k] = 0; tmr[k] = 0 }
        esr = 0; pendingErrors = 0; icrLow = 0; icrHigh = 0
        for k in 0..<lvt.count { lvt[k] = Self.lvtMasked }
        timer.reset()
    }

    /// WRMSR IA32_APIC_BASE (SDM Vol. 3A §12.4.4 Figure 12-5 and §12.12.5 "x2APIC State
    /// Transitions"). Returns false where the SDM says the write raises #GP: reserved bits
    /// (7:0, 9, above MAXPHYADDR), EXTD without x2APIC support, EN=0 with EXTD=1, and the
    /// x2APIC → xAPIC and disabled → x2APIC transitions.
    public func writeBaseMSR(_ value: UInt64, physicalAddressBits: Int = 40) -> Bool {
        let reserved: UInt64 = 0xFF | (1 << 9) | ~((UInt64(1) << UInt64(physicalAddressBits)) &- 1)
        if value & reserved != 0 { return false }
        let en = value & (1 << 11) != 0, extd = value & (1 << 10) != 0
        if extd && !x2APICSupported { return false }
        if !en && extd { return false }
        if x2APICMode && en && !extd { return false }           // x2APIC → xAPIC
        if !globallyEnabled && en && extd { return false }      // disabled → x2APIC
        let wasEnabled = globallyEnabled
        let enteringX2 = extd && !x2APICMode
        baseMSR = (value & ~(1 << 8)) | (baseMSR & (1 << 8))    // BSP flag is read-only
        // Disabling globally returns the APIC to its power-up state, ID included (§12.4.3).
        if wasEnabled && !en { powerOnReset() }
        if enteringX2 {
            // x2APIC logical ID: cluster in bits 31:16, one bit of 16 in bits 15:0 (§12.12.10.2).
            ldr = ((apicID >> 4) << 16) | (1 << (apicID & 0xF))
        }
        return true
    }

    // MARK: Register file

    func bitmapWord(_ a: [UInt32], _ r: LocalAPICRegister, base: LocalAPICRegister) -> UInt32 {
        a[Int((r.rawValue - base.rawValue) >> 4)]
    }

    /// Reads a register (32 bits; the ICR in x2APIC mode is read as one 64-bit MSR by the caller).
    func read(_ r: LocalAPICRegister) -> UInt32 {
        switch r {
        case .id: return x2APICMode ? apicID : xAPICID << 24
        case .version: return Self.versionValue
        case .tpr: return tpr
        case .apr: return 0
        case .ppr: return processorPriority
        case .eoi, .selfIPI: return 0
        case .rrd: return 0
        case .ldr: return ldr
        case .dfr: return dfr | 0x0FFF_FFFF
        case .svr: return svr
        case .isr0, .isr1, .isr2, .isr3, .isr4, .isr5, .isr6, .isr7: return bitmapWord(isr, r, base: .isr0)
        case .tmr0, .tmr1, .tmr2, .tmr3, .tmr4, .tmr5, .tmr6, .tmr7: return bitmapWord(tmr, r, base: .tmr0)
        case .irr0, .irr1, .irr2, .irr3, .irr4, .irr5, .irr6, .irr7: return bitmapWord(irr, r, base: .irr0)
        case .esr: return esr
        case .lvtCMCI: return lvt[0]
        case .icrLow: return icrLow & ~(1 << 12)   // delivery status: always idle
        case .icrHigh: return icrHigh
        case .lvtTimer: return lvt[1]
        case .lvtThermal: return lvt[2]
        case .lvtPerformance: return lvt[3]
        case .lvtLINT0: return lvt[4]
        case .lvtLINT1: return lvt[5]
        case .lvtError: return lvt[6]
        case .timerInitialCount: return timer.initialCount
        case .timerCurrentCount: return timer.currentCount
        case .timerDivide: return timer.divideConfiguration
        }
    }

    /// Writable bits of each LVT entry (§12.5.1 Figure 12-8).
    static let lvtWritable: [UInt32] = [0x107FF, 0x700FF, 0x107FF, 0x107FF, 0x1A7FF, 0x1A7FF, 0x100FF]

    /// Writes a register; returns false for a write x2APIC mode rejects with #GP.
    func write(_ r: LocalAPICRegister, _ v: UInt32) -> Bool {
        switch r {
        case .id:
            if x2APICMode { return false }          // the x2APIC ID is read-only
            xAPICID = v >> 24
            return true
        case .tpr:
            if x2APICMode && v & ~0xFF != 0 { return false }
            tpr = v & 0xFF
            host?.apicInterruptPending()
        case .eoi:
            if x2APICMode && v != 0 { return false }
            endOfInterrupt()
        case .ldr:
            if x2APICMode { return false }
            ldr = v & 0xFF00_0000
        case .dfr:
            dfr = (v & 0xF000_0000) | 0x0FFF_FFFF
        case .svr:
            svr = v & 0x1FF
            if !softwareEnabled {
                for k in 0..<lvt.count { lvt[k] |= Self.lvtMasked }   // §12.4.7.2
            }
            host?.apicInterruptPending()
        case .esr:
            if x2APICMode && v != 0 { return false }
            esr = pendingErrors
            pendingErrors = 0
        case .icrLow:
            icrLow = v & 0x000C_CFFF
            if !x2APICMode { sendIPI(destination: icrHigh >> 24) }
        case .icrHigh:
            icrHigh = v & 0xFF00_0000
        case .lvtCMCI, .lvtTimer, .lvtThermal, .lvtPerformance, .lvtLINT0, .lvtLINT1, .lvtError:
            let k = [LocalAPICRegister.lvtCMCI, .lvtTimer, .lvtThermal, .lvtPerformance, .lvtLINT0, .lvtLINT1, .lvtError]
                .firstIndex(of: r) ?? 0
            var value = v & Self.lvtWritable[k]
            if !softwareEnabled { value |= Self.lvtMasked }
            let old = lvt[k]
            lvt[k] = value | (old & (1 << 14))     // remote IRR is read-only
            if k == 1 { timer.lvtChanged(old: old, new: lvt[k]) }
        case .timerInitialCount:
            timer.setInitialCount(v)
        case .timerDivide:
            timer.setDivideConfiguration(v & 0xB)
        case .selfIPI:
            guard x2APICMode else { return true }
            accept(vector: UInt8(v & 0xFF), level: false)
        default:
            return !x2APICMode   // read-only registers: ignored in xAPIC mode, #GP in x2APIC mode
        }
        return true
    }

    // MARK: MMIO (xAPIC mode)

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        guard globallyEnabled && !x2APICMode else { return 0xFFFF_FFFF }
        let aligned = offset & ~0xF
        guard let r = LocalAPICRegister(rawValue: UInt16(truncatingIfNeeded: aligned)), r.inXAPIC,
              r.access != .writeOnly || r == .eoi
        else { return 0 }
        let v = UInt64(read(r))
        return (v >> ((offset & 3) * 8)) & (size >= 4 ? 0xFFFF_FFFF : (UInt64(1) << UInt64(size * 8)) - 1)
    }

    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        guard globallyEnabled && !x2APICMode, offset & 0xF == 0 else { return }
        guard let r = LocalAPICRegister(rawValue: UInt16(truncatingIfNeeded: offset)), r.inXAPIC else {
            pendingErrors |= 1 << 7   // illegal register address
            return
        }
        _ = write(r, UInt32(truncatingIfNeeded: value))
    }

    // MARK: MSRs (x2APIC mode), SDM Vol. 3A §12.12.1.2

    /// RDMSR of an x2APIC MSR; nil means #GP (not in x2APIC mode, absent or write-only register).
    public func readMSR(_ index: UInt32) -> UInt64? {
        guard x2APICMode, let r = LocalAPICRegister(msr: index), let access = r.x2APICAccess,
              access != .writeOnly else { return nil }
        if r == .icrLow { return UInt64(icrHigh) << 32 | UInt64(read(.icrLow)) }
        return UInt64(read(r))
    }

    /// WRMSR of an x2APIC MSR; false means #GP.
    public func writeMSR(_ index: UInt32, _ value: UInt64) -> Bool {
        guard x2APICMode, let r = LocalAPICRegister(msr: index), let access = r.x2APICAccess,
              access != .readOnly else { return false }
        if r == .icrLow {
            if value & 0xFFFF_FFFF & ~0x000C_CFFF != 0 { return false }
            icrLow = UInt32(truncatingIfNeeded: value) & 0x000C_CFFF
            icrHigh = UInt32(truncatingIfNeeded: value >> 32)
            sendIPI(destination: icrHigh)
            return true
        }
        if value >> 32 != 0 { return false }
        if r == .selfIPI && value & ~0xFF != 0 { return false }   // bits 31:8 reserved
        return write(r, UInt32(truncatingIfNeeded: value))
    }

    // MARK: Interrupt acceptance and priorities (§12.8)

    static func highestBit(_ a: [UInt32]) -> Int? {
        for w in stride(from: 7, through: 0, by: -1) where a[w] != 0 {
            return w * 32 + 31 - a[w].leadingZeroBitCount
        }
        return nil
    }

    /// PPR (§12.8.3.1): TPR when its class is at least the in-service class, else that class.
    var processorPriority: UInt32 {
        let isrv = UInt32(Self.highestBit(isr) ?? 0)
        return (tpr & 0xF0) >= (isrv & 0xF0) ? tpr & 0xFF : isrv & 0xF0
    }

    var arbitrationPriority: UInt32 { processorPriority }

    /// The vector the APIC would deliver now: the highest IRR vector whose priority class is
    /// above the PPR's (§12.8.4), or nil. Kept up to date by every write of IA32_APIC_BASE,
    /// SVR, TPR, IRR and ISR (`updatePendingVector`), so the VM's check for a deliverable
    /// interrupt after each exit is one load, not a scan of the IRR and ISR.
    public private(set) var pendingVector: UInt8?

    /// Recomputes `pendingVector` (SDM Vol. 3A §12.8.3.1 PPR, §12.8.4 interrupt acceptance).
    private func updatePendingVector() {
        guard globallyEnabled, softwareEnabled, let v = Self.highestBit(irr) else {
            pendingVector = nil
            return
        }
        pendingVector = UInt32(v) & 0xF0 > processorPriority & 0xF0 ? UInt8(v) : nil
    }

    /// Whether a fixed interrupt with `vector` arriving now would be presented to the
    /// processor (§12.8.4: the APIC enabled, the vector's priority class above the PPR's); an
    /// illegal vector (0–15) raises the error interrupt instead (§12.5.3).
    public func wouldPresent(fixedVector vector: UInt8) -> Bool {
        guard globallyEnabled, softwareEnabled else { return false }
        if vector < 16 {
            let e = lvt[6]
            return e & Self.lvtMasked == 0 && e & 0xF0 != 0 && e & 0xF0 > processorPriority & 0xF0
        }
        return UInt32(vector) & 0xF0 > processorPriority & 0xF0
    }

    /// The LVT timer entry's vector while the entry is unmasked (§12.5.1: the timer has no
    /// delivery-mode field, its interrupts are fixed).
    public var timerVector: UInt8? { lvt[1] & Self.lvtMasked == 0 ? UInt8(lvt[1] & 0xFF) : nil }

    /// The processor takes the interrupt: IRR → ISR (§12.8.4). Returns the vector.
    public func acknowledge() -> UInt8? {
        guard let v = pendingVector else { return nil }
        irr[Int(v) >> 5] &= ~(1 << (UInt32(v) & 31))
        isr[Int(v) >> 5] |= 1 << (UInt32(v) & 31)
        return v
    }

    /// EOI (§12.8.5): retire the highest in-service vector; broadcast it to the I/O APICs when
    /// it was level-triggered.
    func endOfInterrupt() {
        guard let v = Self.highestBit(isr) else { return }
        isr[v >> 5] &= ~(1 << (UInt32(v) & 31))
        let level = tmr[v >> 5] & (1 << (UInt32(v) & 31)) != 0
        if level { bus.broadcastEOI(vector: UInt8(v)) }
        host?.apicInterruptPending()
    }

    /// Accepts a fixed interrupt into the IRR; vectors 0–15 are illegal (§12.5.3, ESR bit 6).
    func accept(vector: UInt8, level: Bool) {
        if vector < 16 {
            signalError(1 << 6)
            return
        }
        let w = Int(vector) >> 5, bit: UInt32 = 1 << (UInt32(vector) & 31)
        irr[w] |= bit
        if level { tmr[w] |= bit } else { tmr[w] &= ~bit }
        host?.apicInterruptPending()
    }

    /// Records an APIC error and raises the error LVT interrupt if unmasked (§12.5.3).
    func signalError(_ bit: UInt32) {
        pendingErrors |= bit
        let e = lvt[6]
        if e & Self.lvtMasked == 0 { accept(vector: UInt8(e & 0xFF), level: false) }
    }

    /// A local interrupt source (LVT entry `k`) fires: fixed delivery of its vector, or NMI.
    func fireLocal(_ k: Int) {
        let e = lvt[k]
        guard e & Self.lvtMasked == 0 else { return }
        switch (e >> 8) & 7 {
        case 4: host?.apicNMI()
        default: accept(vector: UInt8(e & 0xFF), level: false)
        }
    }

    /// LINT0 programmed for ExtINT and unmasked (virtual-wire mode, §12.5.1): the 8259's
    /// interrupts reach the processor through this APIC. Also true when the APIC is disabled.
    /// Kept up to date by writes of IA32_APIC_BASE and the LVT (the VM asks after every exit).
    public private(set) var acceptsExtINT = true

    private func updateAcceptsExtINT() {
        let e = lvt[4]
        acceptsExtINT = !globallyEnabled || (e & Self.lvtMasked == 0 && (e >> 8) & 7 == 7)
    }

    // MARK: IPIs (§12.6)

    func sendIPI(destination: UInt32) {
        let mode = APICMessage.DeliveryMode(rawValue: UInt8((icrLow >> 8) & 7)) ?? .fixed
        let vector = UInt8(icrLow & 0xFF)
        if (mode == .fixed || mode == .lowestPriority) && vector < 16 {
            signalError(1 << 5)   // send illegal vector
            return
        }
        let m = APICMessage(vector: vector, deliveryMode: mode,
                            logicalDestination: icrLow & (1 << 11) != 0,
                            levelTriggered: icrLow & (1 << 15) != 0,
                            assert: icrLow & (1 << 14) != 0,
                            shorthand: APICMessage.Shorthand(rawValue: UInt8((icrLow >> 18) & 3)) ?? .none,
                            destination: destination, source: busIndex)
        bus.send(m)
    }

    /// Whether a message's destination names this APIC (§12.6.2).
    func matches(destination d: UInt32, logical: Bool) -> Bool {
        guard globallyEnabled else { return false }
        if x2APICMode {
            if d == 0xFFFF_FFFF { return true }
            if !logical { return d == apicID }
            return d >> 16 == ldr >> 16 && (d & ldr & 0xFFFF) != 0
        }
        let d8 = d & 0xFF
        if d8 == 0xFF { return true }
        if !logical { return d8 == xAPICID }
        let myLogical = ldr >> 24
        if dfr >> 28 == 0xF { return d8 & myLogical != 0 }      // flat model
        return (d8 >> 4 == myLogical >> 4) && (d8 & myLogical & 0xF) != 0   // cluster model
    }

    /// A message addressed to this APIC.
    func receive(_ m: APICMessage) {
        switch m.deliveryMode {
        case .fixed, .lowestPriority: accept(vector: m.vector, level: m.levelTriggered)
        case .nmi: host?.apicNMI()
        case .initialize:
            // An INIT level de-assert (level-triggered, de-assert) only synchronises arbitration IDs.
            if m.levelTriggered && !m.assert { return }
            host?.apicINIT()
        case .startup: host?.apicStartup(vector: m.vector)
        case .smi, .extINT: break   // no SMM; ExtINT comes through LINT0 from the 8259
        }
    }

    /// TPR, for CR8 (CR8[3:0] = TPR[7:4], SDM Vol. 3A §12.8.6.1).
    public var taskPriority: UInt8 {
        get { UInt8(tpr & 0xFF) }
        set { tpr = UInt32(newValue); host?.apicInterruptPending() }
    }

    // MARK: TSC-deadline (IA32_TSC_DEADLINE, MSR 0x6E0; §12.5.4.1)

    public var tscDeadline: UInt64 { timer.tscDeadline }

    public func writeTSCDeadline(_ value: UInt64) {
        timer.setTSCDeadline(value, tscNow: scheduler.time.tsc(cpu: cpuIndex), tscHz: scheduler.time.tscHz)
    }
}
