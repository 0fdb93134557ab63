/// A VT-d DMA- and interrupt-remapping unit (Intel Virtualization Technology for Directed
/// I/O Architecture Specification), as QEMU's `intel-iommu` puts one on `q35`: the register
/// page at FED90000H (§10.4), DMA remapping of the devices behind it in legacy mode
/// (`DMARemapping`), interrupt remapping of their MSIs and of the I/O APIC's redirections
/// (`InterruptRemapping`), primary fault logging with one fault recording register (§7.3),
/// and the register-based and queued invalidation interfaces (§6.5). Nothing a guest writes
/// can stop the emulator: a malformed table or request becomes a fault record or an aborted
/// request.
public final class VTdRemappingUnit: MMIODevice, DMAAddressSpace, InterruptRemapper {
    public static let defaultBase: UInt64 = 0xFED9_0000
    public static let windowSize: UInt64 = 0x1000

    public let capabilities: VTdCapabilities
    let ram: GuestRAM
    /// Where the unit's own fault and invalidation-completion events go (not remapped:
    /// §5.1.2 — the unit's interrupts bypass remapping).
    let bus: APICBus

    private var file = [UInt8](repeating: 0, count: VTdRegister.fileSize)
    private var writable = [UInt8](repeating: 0, count: VTdRegister.fileSize)
    private var writeOneToClear = [UInt8](repeating: 0, count: VTdRegister.fileSize)
    /// The root table latched by SRTP (§10.4.4), used by translation until the next SRTP.
    public private(set) var rootTable: UInt64 = 0
    /// The interrupt-remapping table latched by SIRTP.
    public private(set) var interruptTable = InterruptRemapping.Table(register: 0, eimSupported: false)
    /// Faults the unit detected, recorded or not (diagnostics and tests).
    public private(set) var faultsDetected = 0

    public init(capabilities: VTdCapabilities = VTdCapabilities(), ram: GuestRAM, bus: APICBus) {
        self.capabilities = capabilities
        self.ram = ram
        self.bus = bus
        for r in VTdRegister.allCases {
            let w = r.writableBits(capabilities), c = r.writeOneToClearBits, v = r.resetValue(capabilities)
            for k in 0..<r.width {
                writable[r.offset + k] = UInt8(truncatingIfNeeded: w >> (8 * UInt64(k)))
                writeOneToClear[r.offset + k] = UInt8(truncatingIfNeeded: c >> (8 * UInt64(k)))
                file[r.offset + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))
            }
        }
    }

    // MARK: Register file

    /// The register's current value (what a guest read of its full width returns).
    public func register(_ r: VTdRegister) -> UInt64 { bytes(r.offset, r.width) }

    private func bytes(_ offset: Int, _ size: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<size where offset + k < file.count { v |= UInt64(file[offset + k]) << (8 * UInt64(k)) }
        return v
    }

    /// A hardware update of a register, bypassing the software write masks.
    private func set(_ r: VTdRegister, _ v: UInt64) {
        for k in 0..<r.width { file[r.offset + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
    }

    private var status: UInt32 { UInt32(register(.globalStatus)) }

    public func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        guard offset < UInt64(file.count) else { return 0 }
        return bytes(Int(offset), size)
    }

    /// A guest write: writable bits take the value, RW1C bits written 1 clear, and each
    /// register the write touched acts on it (§10.4: 32- and 64-bit accesses; a 64-bit
    /// command register acts when its upper DWORD, holding the command bit, is written).
    public func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        guard offset < UInt64(file.count) else { return }
        let start = Int(offset), end = min(start + size, file.count)
        for i in start..<end {
            let b = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i - start)))
            file[i] = (file[i] & ~writable[i]) | (b & writable[i])
            file[i] &= ~(b & writeOneToClear[i])
        }
        for r in VTdRegister.allCases where r.offset < end && start < r.offset + r.width {
            registerWritten(r, upperHalfWritten: end > r.offset + 4)
        }
    }

    private func registerWritten(_ r: VTdRegister, upperHalfWritten: Bool) {
        switch r {
        case .globalCommand:
            globalCommand(UInt32(register(.globalCommand)))
            set(.globalCommand, 0)
        case .contextCommand where upperHalfWritten:
            contextCommand()
        case .iotlbInvalidate where upperHalfWritten:
            iotlbInvalidate()
        case .faultStatus, .faultRecordingHigh:
            updatePrimaryPendingFault()
        case .faultEventControl:
            unmasked(control: .faultEventControl)
        case .invalidationEventControl:
            unmasked(control: .invalidationEventControl)
        case .invalidationCompletionStatus:
            if register(.invalidationCompletionStatus) & 1 == 0 { clearInterruptPending(.invalidationEventControl) }
        case .invalidationQueueTail:
            processInvalidationQueue()
        default:
            break
        }
    }

    // MARK: Commands

    /// VT-d spec §10.4.4 — Global Command Register. Persistent bits (TE, QIE, IRE, CFI) act
    /// when they differ from the status; one-shot bits (SRTP, SIRTP) act whenever written 1.
    /// SFL, EAFL and WBF have nothing to do here (no advanced fault log, CAP.RWBF = 0). Each
    /// operation completes at once, so §10.4.5's status bits are set by the time software
    /// reads them.
    func globalCommand(_ command: UInt32) {
        var s = status
        let changed = s ^ command
        if command & VTdGlobal.setRootTablePointer != 0 {
            rootTable = register(.rootTableAddress) & ~0xFFF
            s |= VTdGlobal.setRootTablePointer
        }
        if command & VTdGlobal.setInterruptRemapTablePointer != 0 && capabilities.interruptRemapping {
            interruptTable = InterruptRemapping.Table(register: register(.interruptRemappingTableAddress),
                                                      eimSupported: capabilities.extendedInterruptMode)
            s |= VTdGlobal.setInterruptRemapTablePointer
        }
        if changed & VTdGlobal.translationEnable != 0 { s ^= VTdGlobal.translationEnable }
        if changed & VTdGlobal.queuedInvalidationEnable != 0 {
            if command & VTdGlobal.queuedInvalidationEnable != 0 {
                set(.invalidationQueueHead, 0)     // §6.5.2: the queue starts empty at IQA
                s |= VTdGlobal.queuedInvalidationEnable
            } else {
                s &= ~VTdGlobal.queuedInvalidationEnable
            }
        }
        if capabilities.interruptRemapping {
            if changed & VTdGlobal.interruptRemappingEnable != 0 { s ^= VTdGlobal.interruptRemappingEnable }
            if changed & VTdGlobal.compatibilityFormatInterrupt != 0 { s ^= VTdGlobal.compatibilityFormatInterrupt }
        }
        set(.globalStatus, UInt64(s))
    }

    /// VT-d spec §10.4.7 — Context Command Register: an invalidation (ICC = 1) completes at
    /// once; the actual granularity (CAIG) is the requested one (CIRG).
    func contextCommand() {
        let v = register(.contextCommand)
        guard v & (1 << 63) != 0 else { return }
        set(.contextCommand, (v & ~(1 << 63) & ~(3 << 59)) | (v >> 61 & 3) << 59)
    }

    /// VT-d spec §10.4.8.1 — IOTLB Invalidate Register: IVT = 1 completes at once with the
    /// requested granularity (IAIG = IIRG).
    func iotlbInvalidate() {
        let v = register(.iotlbInvalidate)
        guard v & (1 << 63) != 0 else { return }
        set(.iotlbInvalidate, (v & ~(1 << 63) & ~(3 << 57)) | (v >> 60 & 3) << 57)
    }

    // MARK: DMA remapping

    public var translationEnabled: Bool { status & VTdGlobal.translationEnable != 0 }

    /// Translates [address, address + count) page by page; nil when any page faults (the
    /// fault is recorded unless the context entry disables fault processing).
    func translate(_ address: UInt64, count: Int, write: Bool, requester: UInt16) -> [(UInt64, Int)]? {
        var pieces: [(UInt64, Int)] = []
        var a = address, left = UInt64(count)
        while left > 0 {
            switch DMARemapping.translate(a, write: write, requester: requester, rootTable: rootTable, ram: ram) {
            case .success(let t):
                let n = min(left, t.bytesLeftInPage)
                pieces.append((t.address, Int(n)))
                a &+= n; left -= n
            case .failure(let f):
                fault(VTdFault(reason: f.reason, sourceID: requester, info: a, isWrite: write), recorded: !f.faultProcessingDisabled)
                return nil
            }
        }
        return pieces
    }

    public func dmaRead(_ address: UInt64, count: Int, requester: UInt16) -> [UInt8]? {
        guard translationEnabled else { return ram.read(address, count: count) }
        guard let pieces = translate(address, count: count, write: false, requester: requester) else { return nil }
        var out: [UInt8] = []
        for (a, n) in pieces {
            guard let b = ram.read(a, count: n) else { return nil }
            out += b
        }
        return out
    }

    public func dmaWrite(_ bytes: [UInt8], at address: UInt64, requester: UInt16) -> Bool {
        guard translationEnabled else { return ram.write(bytes, at: address) }
        guard let pieces = translate(address, count: bytes.count, write: true, requester: requester),
              pieces.allSatisfy({ ram.isRAM($0.0, count: $0.1) }) else { return false }
        var k = 0
        for (a, n) in pieces {
            _ = ram.write(Array(bytes[k..<(k + n)]), at: a)
            k += n
        }
        return true
    }

    // MARK: Interrupt remapping

    public var interruptRemappingEnabled: Bool { status & VTdGlobal.interruptRemappingEnable != 0 }

    /// VT-d spec §5.1.4 — Interrupt-Remapping Hardware Operation. With remapping off every
    /// request is handled in compatibility format; with it on, compatibility-format requests
    /// pass through only while CFIS is set (otherwise fault 25h), and remappable ones go
    /// through the IRTE.
    public func remap(_ request: MSIMessage, requester: UInt16?) -> APICMessage? {
        guard interruptRemappingEnabled else { return request.compatibilityInterrupt }
        guard request.isRemappable else {
            if status & VTdGlobal.compatibilityFormatInterrupt != 0 { return request.compatibilityInterrupt }
            fault(VTdFault(reason: .compatibilityInterruptBlocked, sourceID: requester ?? 0, info: 0, isWrite: true), recorded: true)
            return nil
        }
        switch InterruptRemapping.remap(request, requester: requester, table: interruptTable, ram: ram) {
        case .success(let m): return m
        case .failure(let f):
            fault(VTdFault(reason: f.reason, sourceID: requester ?? 0, info: f.index, isWrite: true), recorded: !f.faultProcessingDisabled)
            return nil
        }
    }

    // MARK: Faults

    static let primaryFaultOverflow: UInt64 = 1 << 0, primaryPendingFault: UInt64 = 1 << 1
    static let invalidationQueueError: UInt64 = 1 << 4

    /// VT-d spec §7.3.1 — Primary Fault Logging: the fault goes to the (single) fault
    /// recording register unless it still holds an unserviced fault (then FSTS.PFO); a
    /// recorded fault sets FSTS.PPF with FRI = 0 and signals a fault event (§10.4.9–§10.4.14).
    func fault(_ f: VTdFault, recorded: Bool) {
        faultsDetected += 1
        guard recorded else { return }
        let fsts = register(.faultStatus)
        guard fsts & Self.primaryFaultOverflow == 0 else { return }
        if register(.faultRecordingHigh) & (1 << 63) != 0 {
            set(.faultStatus, fsts | Self.primaryFaultOverflow)
        } else {
            set(.faultRecordingLow, f.recordLow)
            set(.faultRecordingHigh, f.recordHigh)
            set(.faultStatus, (fsts & ~0xFF00) | Self.primaryPendingFault)
        }
        signalEvent(control: .faultEventControl)
    }

    /// FSTS.PPF is the OR of the recording registers' F bits (§10.4.9); once no status bit
    /// is left, the fault event's IP clears (§10.4.10).
    private func updatePrimaryPendingFault() {
        var fsts = register(.faultStatus) & ~Self.primaryPendingFault
        if register(.faultRecordingHigh) & (1 << 63) != 0 { fsts |= Self.primaryPendingFault }
        set(.faultStatus, fsts)
        if fsts & 0x7F == 0 { clearInterruptPending(.faultEventControl) }
    }

    /// §10.4.10 / §10.4 Invalidation Event Control: send the event's message now, or hold
    /// it (IP = 1) while masked.
    func signalEvent(control: VTdRegister) {
        let c = register(control)
        if c & (1 << 31) != 0 { set(control, c | 1 << 30); return }
        sendEventMessage(control: control)
    }

    /// Clearing IM with IP set delivers the held event.
    private func unmasked(control: VTdRegister) {
        let c = register(control)
        guard c & (1 << 31) == 0, c & (1 << 30) != 0 else { return }
        set(control, c & ~(1 << 30))
        sendEventMessage(control: control)
    }

    private func clearInterruptPending(_ control: VTdRegister) { set(control, register(control) & ~(1 << 30)) }

    private func sendEventMessage(control: VTdRegister) {
        let (data, address, upper): (VTdRegister, VTdRegister, VTdRegister) = control == .faultEventControl
            ? (.faultEventData, .faultEventAddress, .faultEventUpperAddress)
            : (.invalidationEventData, .invalidationEventAddress, .invalidationEventUpperAddress)
        let m = MSIMessage(address: register(upper) << 32 | register(address), data: UInt32(register(data)))
        if m.isInterruptRequest, let i = m.compatibilityInterrupt { bus.send(i) }
    }

    // MARK: Queued invalidation

    /// Invalidation descriptor types (§6.5.2): context-cache, IOTLB, device-TLB,
    /// interrupt-entry-cache, invalidation-wait.
    enum Descriptor: UInt64 {
        case contextCache = 1, iotlb = 2, deviceTLB = 3, interruptEntryCache = 4, wait = 5
    }

    /// VT-d spec §6.5.2 — Queued Invalidation Interface: fetches descriptors from IQH up to
    /// IQT (128-bit descriptors, 256 × 2^QS of them at IQA). Nothing is cached, so the
    /// invalidations need no work; an invalidation-wait descriptor writes its status (SW) and
    /// raises the completion event (IF). A descriptor that cannot be read, has an unknown or
    /// unsupported type, or a tail beyond the queue stops the queue with FSTS.IQE, head left
    /// at the offending descriptor.
    func processInvalidationQueue() {
        guard status & VTdGlobal.queuedInvalidationEnable != 0,
              register(.faultStatus) & Self.invalidationQueueError == 0 else { return }
        let iqa = register(.invalidationQueueAddress)
        let base = iqa & ~0xFFF, entries = UInt64(256) << (iqa & 7)
        var head = register(.invalidationQueueHead) >> 4
        let tail = register(.invalidationQueueTail) >> 4
        func error() {
            set(.invalidationQueueHead, head << 4)
            set(.faultStatus, register(.faultStatus) | Self.invalidationQueueError)
            signalEvent(control: .faultEventControl)
        }
        guard tail < entries else { error(); return }
        while head != tail {
            guard let low = ram.load64(base, head * 16), let high = ram.load64(base, head * 16 + 8),
                  low >> 9 & 7 == 0, let type = Descriptor(rawValue: low & 0xF) else { error(); return }
            switch type {
            case .contextCache, .iotlb, .interruptEntryCache:
                break
            case .deviceTLB:
                error(); return                       // ECAP.DT = 0
            case .wait:
                if low & (1 << 5) != 0 {              // SW: status data 63:32 to address 127:66
                    let data = UInt32(truncatingIfNeeded: low >> 32)
                    guard ram.write([0, 8, 16, 24].map { UInt8(truncatingIfNeeded: data >> $0) }, at: high & ~3) else {
                        error(); return
                    }
                }
                if low & (1 << 4) != 0 {              // IF: ICS.IWC and the completion event
                    set(.invalidationCompletionStatus, 1)
                    signalEvent(control: .invalidationEventControl)
                }
            }
            head = (head + 1) % entries
        }
        set(.invalidationQueueHead, head << 4)
    }
}
