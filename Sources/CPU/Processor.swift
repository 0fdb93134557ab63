/// The emulated x86-64 logical processor: architectural state, the software TLB and
/// decode cache, and the interpreter that runs guest code.
///
/// All state lives in this final class and is touched through stored properties and
/// unsafe pointers only; the hot path (`Interpreter.swift`, `MemoryAccess.swift`) performs
/// no allocation, retain/release or dynamic dispatch per guest instruction.
public final class Processor {
    // MARK: Architectural registers (SDM Vol. 1 §3.4, Vol. 3A §2)

    /// RAX … R15, indexed by `GPR.rawValue`.
    public let gpr: UnsafeMutablePointer<UInt64>
    /// The address of the instruction being executed (between instructions: the next one).
    public var rip: UInt64 = 0xFFF0
    /// RIP of the instruction after the one executing; branches overwrite it.
    var nextRIP: UInt64 = 0

    /// RFLAGS bits other than the six arithmetic flags, which `flags` (lazy) holds.
    var flagsOther: UInt64 = RFLAGS.fixed1
    /// Lazily evaluated arithmetic flags.
    var flags = LazyFlags()

    /// ES, CS, SS, DS, FS, GS (indexed by `SegmentRegisterIndex`).
    public let segments: UnsafeMutablePointer<SegmentRegister>
    /// Per-segment limits for the fast path (see `SegmentCheck`); kept by `segmentLoaded`.
    let segmentChecks: UnsafeMutablePointer<SegmentCheck>
    public var ldtr = SegmentRegister(selector: 0, base: 0, limit: 0xFFFF, accessRights: 0x82) { didSet { systemStateEpoch &+= 1 } }
    public var tr = SegmentRegister(selector: 0, base: 0, limit: 0xFFFF, accessRights: 0x8B) { didSet { systemStateEpoch &+= 1 } }
    public var gdtr = DescriptorTableRegister() { didSet { systemStateEpoch &+= 1 } }
    public var idtr = DescriptorTableRegister() { didSet { systemStateEpoch &+= 1 } }
    /// Advances whenever a register VM exit saves beyond RIP, RSP, RFLAGS and the
    /// interruptibility/activity state changes (segment and descriptor-table registers, CR0,
    /// CR3, CR4, EFER, DR7, the PDPTEs, MSRs): an exit with it unchanged since the state was
    /// loaded or saved stores only those five (`saveGuestState`).
    var systemStateEpoch: UInt64 = 0
    /// `systemStateEpoch` when `residentVMCS`'s guest-state area last matched the processor.
    var systemStateEpochOfVMCS: UInt64 = ~0

    public internal(set) var cr0: UInt64 = CR0.resetValue { didSet { systemStateEpoch &+= 1 } }
    public var cr2: UInt64 = 0
    /// Linear address of the last #PF raised, written to CR2 when the #PF is delivered
    /// (a #PF that causes a VM exit leaves CR2 unchanged, SDM Vol. 3C §28.1).
    public internal(set) var faultingLinearAddress: UInt64 = 0
    public internal(set) var cr3: UInt64 = 0 { didSet { systemStateEpoch &+= 1 } }
    public internal(set) var cr4: UInt64 = 0 { didSet { systemStateEpoch &+= 1 } }
    /// Task-priority register as CR8 sees it (bits 3:0).
    public var cr8: UInt64 = 0
    public internal(set) var efer: UInt64 = 0 { didSet { systemStateEpoch &+= 1 } }
    public var xcr0: UInt64 = 1
    /// DR0–DR3, DR6, DR7 (DR4/DR5 alias DR6/DR7 when CR4.DE = 0).
    public var dr: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    public var dr6: UInt64 = 0xFFFF_0FF0
    public var dr7: UInt64 = 0x400 { didSet { systemStateEpoch &+= 1 } }

    /// PAE page-directory-pointer-table entries, loaded with CR3 in PAE mode (SDM Vol. 3A §4.4.1).
    public var pdpte: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0) { didSet { systemStateEpoch &+= 1 } }

    /// x87 FPU, MMX and SSE registers (SDM Vol. 1 ch. 8–11).
    public let extended = ExtendedState()

    // MARK: Model-specific registers (SDM Vol. 4)

    public var msr = MSRFile() { didSet { systemStateEpoch &+= 1 } }

    // MARK: Interrupt and execution state

    /// Blocking by STI / MOV SS for the instruction boundary after them (SDM Vol. 3A §6.8.3,
    /// Vol. 3C §25.4.2 "interruptibility state" bits 0 and 1). It lasts until one more
    /// instruction retires: stored with the retired count at which it applies.
    var shadowBits: InterruptShadow = []
    var shadowRetired: UInt64 = ~0
    public var interruptShadow: InterruptShadow {
        get { instructionsRetired == shadowRetired ? shadowBits : [] }
        set {
            shadowBits = newValue
            shadowRetired = instructionsRetired
        }
    }
    /// NMIs are blocked from NMI delivery until the next IRET (SDM Vol. 3A §6.7.1).
    public var nmiBlocked = false
    /// HLT, shutdown, wait-for-SIPI (VMCS activity-state encoding, SDM Vol. 3C §25.4.2).
    public var activity: ActivityState = .active
    /// Retired-instruction counter; the virtual clock is derived from it.
    public internal(set) var instructionsRetired: UInt64 = 0
    /// Virtual time, in instruction times, that instructions took beyond one each (PAUSE's
    /// latency, page-walk reads). The TSC and the machine's clock count it with
    /// `instructionsRetired`.
    public internal(set) var stallTime: UInt64 = 0
    /// Instruction times elapsed on this processor: retired instructions plus stalls.
    @inlinable public var elapsedTime: UInt64 { instructionsRetired &+ stallTime }

    // MARK: Configuration

    public let memory: PhysicalMemory
    public unowned(unsafe) var bus: DeviceBus
    public var model: CPUModel {
        didSet {
            vmxCapabilitiesOfModel = nil
            cpuidVendorOfModel = nil
            modelGeneration &+= 1
        }
    }
    /// CPUID's vendor words, made from the model once (`cpuidVendorWords`).
    var cpuidVendorOfModel: (UInt32, UInt32, UInt32)?
    /// Changes with the model (the key of `vmxCapabilities` for the entry-check cache).
    var modelGeneration: UInt64 = 0
    /// `vmxCapabilities`, derived from the model once (VM entries check against it).
    var vmxCapabilitiesOfModel: VMXCapabilities?
    /// The VMCS whose guest state and controls this processor holds since it last loaded or
    /// saved them (`loadForEntry`); nil once anything else changed the processor.
    var residentVMCS: ObjectIdentifier?
    /// The VMCS field indices and entry-check table every entry and exit uses, held here so
    /// the hot path reads a stored property instead of a lazily initialised global (one
    /// `swift_once` call per access). Strong `let`s: a read through `self` needs no retain
    /// (an `unowned(unsafe)` one would take one per read).
    let vmcsLayout = VMCSLayout.shared
    let entryCheckTable = VMEntryCheckTable.shared
    /// Index of this processor in its machine (APIC ID by default).
    public let index: Int

    // MARK: Derived mode (recomputed by `updateMode()` whenever CR0/CR4/EFER/CS change)

    /// Current privilege level (CS.DPL in protected mode; SS.DPL when it differs is
    /// architecturally the same after a valid load). 0 in real mode, 3 in virtual-8086 mode.
    public internal(set) var cpl: Int = 0
    var mode: ExecutionMode = .real
    /// True in 64-bit mode (IA-32e with CS.L = 1).
    var is64 = false
    /// Default operand/address size of the code segment: 2, 4 or 8 bytes.
    var codeSize: UInt8 = 2
    /// Stack-pointer width (SS.B): 2, 4 or 8 bytes.
    var stackSize: UInt8 = 2
    /// The mask applied to RIP after each instruction: 64, 32 or 16 bits by code size.
    var ripMask: UInt64 = 0xFFFF

    // MARK: Software TLB and decode cache

    let tlb: SoftwareTLB
    /// Guest-physical → host-physical translations derived from EPT (SDM Vol. 3C §29.4.1).
    let guestPhysicalMappings = GuestPhysicalMappingCache()
    var accessMasks = AccessMasks()
    /// CR0.AM = 1, EFLAGS.AC = 1 and CPL 3: data accesses are alignment-checked (#AC).
    var alignmentChecking = false
    let decodeCache: DecodeCache
    /// Holds an instruction decoded outside the cache (see `decodeSingle`).
    let scratchInstruction: UnsafeMutablePointer<DecodedInstruction>
    /// Recent decodes of instructions that cross a page (`decodeAcrossCachedPages`).
    let crossPageDecodes = CrossPageDecodes()
    /// Runs hot 64-bit blocks as translated host code (`Translate/`) where the host allows;
    /// false keeps every instruction in the interpreter (same results, for comparison).
    public var translationEnabled = true
    /// Inputs and outputs of translated code, and the exits table it indexes.
    let translationFrame: UnsafeMutablePointer<TranslationFrame>
    /// Calls into translated code (each may run many chained blocks); statistics.
    public internal(set) var translatedEntries: UInt64 = 0
    /// Events (exceptions, interrupts, NMIs) delivered through the IDT/IVT (statistics).
    public internal(set) var eventsDelivered: UInt64 = 0
    /// The last `.next` or `.indirect` exit translated code returned through (global exit
    /// index, -1: none) and the RIP its block started at (`.indirect`: the branch target): the
    /// next translated block entered at its target fills its chain slot.
    var chainFrom = -1
    var chainFromRIP: UInt64 = 0
    /// Where that exit led (the RIP the chain slot is for).
    var chainTarget: UInt64 = 0
    /// The translation tables (`BlockTranslations`), fixed for the machine's lifetime.
    let translationExits: UnsafeMutablePointer<TranslationExit>?
    let translationSlots: UnsafeMutablePointer<ChainSlot>?
    let translationEntry: UnsafeRawPointer?
    /// The decode-cache key of the last place `buildBlock` found an instruction crossing
    /// into the next page (`fetchBlock` then goes straight to `decodeSingle`).
    var crossingKey: UInt64 = ~0
    /// The block `fetchBlock` found last, at `fetchMemoRIP` under link epoch `fetchMemoEpoch`
    /// (64-bit mode only): a VM entry after an exit L0 resolved resumes at the RIP the last
    /// one did, with no block before it to link from.
    var fetchMemoRIP: UInt64 = ~0, fetchMemoEpoch: UInt64 = ~0, fetchMemoBlock: Int32 = -1
    /// Advances on every mode change (CPL, CS, paging mode): links made before are stale.
    var modeEpoch: UInt64 = 0
    /// Set when something needs the run loop's attention at the next instruction boundary
    /// (end of the current block): a code-page write, an interrupt-window change, a stop.
    var pending: UInt32 = 0

    // MARK: VMX non-root operation

    /// True while executing under a VMCS (VMX non-root operation).
    public internal(set) var nonRoot = false
    /// A VM exit left the guest's TLB set current; the root context is selected when root-mode
    /// code next runs (`selectRootContextIfDeferred`).
    var rootContextDeferred = false
    /// The VM-execution controls of the current VMCS, unpacked for the hot path.
    var controls = NonRootControls()
    /// Exit information recorded when an instruction or event causes a VM exit.
    public internal(set) var pendingExit = PendingExit()
    /// Presented NMI/interrupt, pending MTF exit, preemption timer (VMX/Events/NonRootEvents).
    var vmxEvents = NonRootEventState()

    /// Set only inside `emulateInstruction(vmcs:bus:vmx:)`, L0's instruction-emulation service:
    /// the one piece of state through which the interpreter knows it is re-executing an
    /// instruction for L0 (`L0Emulation`).
    var l0Emulation: L0Emulation? = nil
    /// L0 is emulating the instruction that exited: the instruction-caused exits it resolves
    /// do not recur, and event windows belong to the next VM entry.
    @inline(__always) var emulatingForL0: Bool { l0Emulation != nil }
    /// The emulated VMLAUNCH/VMRESUME asked for a VM entry (`VMXRootResult.enterGuest`).
    var virtualEntryRequested = false

    public init(memory: PhysicalMemory, bus: DeviceBus, model: CPUModel = .default, index: Int = 0,
                platformRegisters: (any PlatformRegisterHandler)? = nil) {
        self.platformRegisters = platformRegisters
        self.memory = memory
        self.bus = bus
        self.model = model
        self.index = index
        gpr = .allocate(capacity: 16)
        gpr.initialize(repeating: 0, count: 16)
        segments = .allocate(capacity: 6)
        segments.initialize(repeating: SegmentRegister(), count: 6)
        segmentChecks = .allocate(capacity: 6)
        segmentChecks.initialize(repeating: SegmentCheck(), count: 6)
        tlb = SoftwareTLB()
        scratchInstruction = .allocate(capacity: 1)
        scratchInstruction.initialize(to: DecodedInstruction())
        decodeCache = memory.decodeCache
        translationFrame = .allocate(capacity: 1)
        translationFrame.initialize(to: TranslationFrame())
        translationExits = decodeCache.translations?.exits
        translationSlots = decodeCache.translations?.slots
        translationEntry = decodeCache.translations?.entry
        translationFrame.pointee.exitAddress = decodeCache.translations?.exitAddress ?? 0
        if translationExits == nil { translationEnabled = false }
        reset()
        decodeCache.attach(self)
    }

    deinit {
        decodeCache.detach(self)
        gpr.deallocate()
        segments.deallocate()
        segmentChecks.deallocate()
        scratchInstruction.deallocate()
        translationFrame.deallocate()
    }

    /// Power-on / RESET state (SDM Vol. 3A §10.1.1, Table 10-1).
    public func reset() {
        residentVMCS = nil
        for i in 0..<16 { gpr[i] = 0 }
        gpr[GPR.rdx.rawValue] = UInt64(model.signature)
        rip = 0xFFF0
        flagsOther = RFLAGS.fixed1
        flags = LazyFlags()
        systemStateEpoch &+= 1
        for i in 0..<6 { segments[i] = SegmentRegister(selector: 0, base: 0, limit: 0xFFFF, accessRights: 0x93) }
        segments[SegmentRegisterIndex.cs.rawValue] = SegmentRegister(selector: 0xF000, base: 0xFFFF_0000,
                                                                     limit: 0xFFFF, accessRights: 0x9B)
        ldtr = SegmentRegister(selector: 0, base: 0, limit: 0xFFFF, accessRights: 0x82)
        tr = SegmentRegister(selector: 0, base: 0, limit: 0xFFFF, accessRights: 0x8B)
        gdtr = DescriptorTableRegister(base: 0, limit: 0xFFFF)
        idtr = DescriptorTableRegister(base: 0, limit: 0xFFFF)
        cr0 = CR0.resetValue
        cr2 = 0; cr3 = 0; cr4 = 0; cr8 = 0; efer = 0; xcr0 = 1
        dr = (0, 0, 0, 0); dr6 = 0xFFFF_0FF0; dr7 = 0x400
        extended.reset()
        msr = MSRFile()
        msr.apicBase = 0xFEE0_0000 | (1 << 11) | (index == 0 ? 1 << 8 : 0)
        shadowBits = []
        shadowRetired = ~0
        nmiBlocked = false
        activity = .active
        updateMode()
        flushTLB()
        guestPhysicalMappings.flushAll()
    }

    /// L0's handler for platform registers (the local APIC's MSRs and TPR, CR8). A `let`
    /// given at creation: calls through a stored `let` need no retain of the handler, where an
    /// `unowned` or `var` reference costs a retain and release per call (MOV CR8 reaches it at
    /// every execution). The handler must not hold the processor strongly.
    public let platformRegisters: (any PlatformRegisterHandler)?

    /// TSC ticks L0 adds to the virtual TSC (e.g. time skipped while the vCPU was idle).
    public var timeStampOffset: UInt64 = 0

    /// `instructionsRetired` right after the IRET that loaded RFLAGS.RF = 1: RF then
    /// suppresses the breakpoints of the instruction that follows it.
    var rfLoadedAtRetired: UInt64 = ~0

    /// DR7 enables a data breakpoint (R/W = 01 or 11): data accesses are checked on the
    /// slow path and the TLB is flushed at every boundary so each access takes it.
    var watchpointsArmed = false
    /// Data breakpoints (DR6 B3–B0) hit by the instruction executing now.
    var dataBreakpointHits: UInt64 = 0

    /// The DR6 bits of the #DB being raised (`DebugExceptionStatus`).
    var debugStatus = DebugExceptionStatus()

    /// TF was set at the start of the instruction executing now: #DB trap after it.
    var singleStepPending = false
    /// The retired count at the boundary that armed `singleStepPending` from TF (`.max`: set
    /// another way). A run that returns at that boundary passes it again when it resumes;
    /// the trap waits for the instruction after it all the same.
    var singleStepArmedAt: UInt64 = .max

    /// The IRET that just faulted had unblocked (virtual) NMIs: an exception VM exit for the
    /// fault sets bit 12 of the VM-exit interruption information (SDM Vol. 3C §28.2.2).
    var nmiUnblockedByFaultingIRET = false

    /// Guest-physical readers for the VM-entry checks, made once.
    lazy var physicalReaders: (@Sendable (UInt64) -> UInt32?, @Sendable (UInt64) -> UInt64?) = {
        let mem = memory
        return ({ a in try? mem.load(UInt32.self, at: a) }, { a in try? mem.load(UInt64.self, at: a) })
    }()

    /// The VM-entry check that failed at the last `run(vmcs:)`, if one did: its rule, field and
    /// value, so L0 can say exactly what was wrong with a VMCS it built.
    public internal(set) var lastEntryCheckFailure: VMEntryCheckFailure? {
        get { entryCheckFailureRecorded ? recordedEntryCheckFailure : nil }
        set {
            recordedEntryCheckFailure = newValue
            entryCheckFailureRecorded = newValue != nil
        }
    }
    private var recordedEntryCheckFailure: VMEntryCheckFailure? = nil
    /// Whether `lastEntryCheckFailure` is set: the check every entry makes without copying the
    /// record.
    var entryCheckFailureRecorded = false

    /// VMCS objects placed in VMCS regions by L0, by physical address (see VMCSRegions.swift).
    var vmcsRegions: [UInt64: VMCS] = [:]
    /// Replaced whenever `vmcsRegions` changes (`VMCS.unpackedUnder`).
    var vmcsRegistryToken = VMCSRegistryToken()

    /// VM entry is delivering its injected event (the exception bitmap does not apply).
    var injectingAtEntry = false

    /// L0 waits for an interrupt / NMI window (see `requestInterruptWindow()`).
    var interruptWindowWanted = false
    var nmiWindowWanted = false

    /// Set by `requestStop()`; consumed by the run loop.
    var stopRequested = false

    /// Asks `run` to return `.stopRequested` once the current instruction completes. Called by
    /// devices during an I/O or MMIO access (e.g. an exit device) or by the platform.
    public func requestStop() {
        stopRequested = true
        pending |= PendingBit.stop
    }

    /// Drops any cached translation of the linear page containing `la` (as INVLPG would).
    public func invalidatePage(_ la: UInt64) {
        invalidateMappingsForINVLPG(la)
    }

    /// Clears every cached translation of every context (always architecturally permitted)
    /// and re-selects the current context.
    public func flushTLB() {
        tlb.flushAll()
        activateTranslationContext()
    }
}

/// Architectural execution modes (SDM Vol. 3A §2.2).
public enum ExecutionMode: UInt8, Sendable {
    case real
    case virtual8086
    case protected
    case compatibility
    case long64
}

/// Interrupt-blocking bits (VMCS interruptibility-state layout, SDM Vol. 3C §25.4.2, Table 25-3).
public struct InterruptShadow: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let sti = InterruptShadow(rawValue: 1 << 0)
    public static let movSS = InterruptShadow(rawValue: 1 << 1)
}

/// Activity states (VMCS encoding, SDM Vol. 3C §25.4.2, Table 25-4).
public enum ActivityState: UInt32, Sendable {
    case active = 0
    case hlt = 1
    case shutdown = 2
    case waitForSIPI = 3
}

/// Bits in `Processor.pending`.
enum PendingBit {
    /// A store hit a page of decoded code: stop executing the current block.
    static let codeModified: UInt32 = 1 << 0
    /// RFLAGS.IF, TPR or similar changed: re-evaluate interrupt windows.
    static let eventWindow: UInt32 = 1 << 1
    /// Leave the block: mode or paging changed (CS, CR0, CR3, CR4, EFER).
    static let modeChanged: UInt32 = 1 << 2
    /// The instruction wants the run loop to stop (HLT, shutdown).
    static let stop: UInt32 = 1 << 3
}
