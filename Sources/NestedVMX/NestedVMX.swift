import CPU

/// Nested VMX: VT-x offered to L0's guests, so a guest hypervisor (L1) runs its own guests (L2)
/// — the design of Xen's nested VMX (docs/ARCHITECTURE.md, "The two flows"). One `NestedVMX`
/// per machine holds what its virtual processors share: the capabilities offered to L1, L1's
/// memory as L0 may reach it, and L0's pages for EPT02 and the bitmap copies. Each virtual
/// processor's VMX state is a `VirtualVMX` (`makeVirtualVMX`).
///
/// The hypervisor's run loop calls in at three points: a VMX-instruction exit of L1
/// (`VirtualVMX.emulate…`), the VM entry such an instruction asks for
/// (`VirtualVMX.enterGuest`), and every exit while L2 runs (`VirtualVMX.route`, then either
/// L0's own handling or `reflect`).
public final class NestedVMX {
    /// What L1 reads in IA32_VMX_* and what its VMCSs are checked against.
    public let capabilities: VMXCapabilities
    public let l1: L1Memory
    /// L0's pages for nested VMX: per-processor pages, then the EPT02 pool.
    let pages: L0Pages
    /// The VPIDs of VMCS02s (after the ones VMCS01s use).
    var nextVPID02: UInt16
    private(set) var processors: [VirtualVMX] = []
    /// `--vmx-log`: every VMfail and virtual entry failure L1 causes, with the rule it broke.
    public var log: ((String) -> Void)?
    /// With `log`: also every exit reflected to L1 (reason, qualification, L2's RIP).
    public var logsReflectedExits = false
    /// L0 shadows the current vmcs12 in VMCS01, so L1's VMREAD/VMWRITE of supported fields do
    /// not exit (`VirtualVMX.updateL1VMCSShadowing`). Off: every VMREAD/VMWRITE exits.
    public var shadowsVMCS12 = true
    /// The VMREAD and VMWRITE bitmaps VMCS01 uses for that: a 1 for every encoding (bits 14:0)
    /// that is not a supported field — and, for VMWRITE without IA32_VMX_MISC[29] offered, for
    /// every VM-exit information field — so those accesses exit and get their VMfail in vmcs12.
    let l1ShadowBitmap: UInt64, l1ShadowWriteBitmap: UInt64

    /// L0's pages before the per-processor ones: the VMREAD and VMWRITE shadow bitmaps.
    static let sharedPages = 2

    /// Bytes of L0's region nested VMX needs above EPT01's: the shared pages, 4 pages per
    /// virtual processor and the EPT02 pool.
    public static func reservedBytes(processors: Int) -> UInt64 {
        UInt64(sharedPages + processors * 4) * 4096 + EPT02.poolBytes
    }

    /// - Parameters:
    ///   - processor: the processor's own VMX capabilities (what VMCS02 may use).
    ///   - ramTop: the end of L1's RAM; `regionBase`: L0's pages for nested VMX (not mapped by
    ///     EPT01, `reservedBytes(processors:)` long).
    public init(processor: VMXCapabilities, withheld: VMXFeatureMask = VMXFeatureMask(), memory: PhysicalMemory,
                ramTop: UInt64, regionBase: UInt64, processors: Int) {
        var offered = Self.offered(by: processor)
        withheld.apply(to: &offered)
        capabilities = offered
        l1 = L1Memory(memory: memory, ramTop: ramTop)
        pages = L0Pages(memory: memory, base: regionBase, fixedPages: Self.sharedPages + processors * 4, poolBytes: EPT02.poolBytes)
        nextVPID02 = UInt16(processors + 1)
        l1ShadowBitmap = pages.fixed(0)
        l1ShadowWriteBitmap = pages.fixed(1)
        Self.writeShadowBitmap(into: memory, at: l1ShadowBitmap) { _ in true }
        // §31 VMWRITE: without IA32_VMX_MISC[29], a VM-exit information field is VMfailValid(13)
        // — which L0 must record in vmcs12, so the write exits instead of reaching the shadow
        // (the processor would apply its own MISC[29]).
        let anyField = offered.vmwriteAnyField
        Self.writeShadowBitmap(into: memory, at: l1ShadowWriteBitmap) { anyField || $0.type != .exitInformation }
    }

    /// SDM Vol. 3C §25.6.15: bit x of the bitmap is for encoding x (bits 14:0); 1 exits. A 0
    /// for each supported field `passes`.
    static func writeShadowBitmap(into memory: PhysicalMemory, at page: UInt64, passes: (VMCSField) -> Bool) {
        var bits = [UInt8](repeating: 0xFF, count: 4096)
        for e in VMCSFieldTable.entries where e.supported && passes(e.field) {
            for half: UInt32 in [0, 1] {
                let x = Int(e.field.encoding | half)
                if half == 1 && e.field.width != .bits64 { continue }
                bits[x >> 3] &= ~UInt8(1 << (x & 7))
            }
        }
        try? memory.write(bits, at: page)
    }

    /// The VMX state of one virtual processor, whose L1 runs under `vmcs01` on `processor`.
    public func makeVirtualVMX(processor: Processor, vmcs01: VMCS) -> VirtualVMX {
        let k = processors.count
        let v = VirtualVMX(nested: self, processor: processor, vmcs01: vmcs01,
                           pages: VirtualVMX.Pages(vmreadBitmap: pages.fixed(Self.sharedPages + 4 * k),
                                                   vmwriteBitmap: pages.fixed(Self.sharedPages + 1 + 4 * k),
                                                   shadowLink: pages.fixed(Self.sharedPages + 2 + 4 * k),
                                                   scratch: pages.fixed(Self.sharedPages + 3 + 4 * k)))
        processors.append(v)
        return v
    }

    /// SDM Vol. 3D Appendix A — the capabilities offered to L1: the processor's, less what L0
    /// does not virtualize. MONITOR/MWAIT exiting, the VMX-preemption timer, EPT (4-level,
    /// large pages, A/D), VPID and every INVEPT/INVVPID type, unrestricted guest and VMCS
    /// shadowing all pass through; posted interrupts, VM functions, PML and the APIC
    /// virtualization the processor does not implement stay off.
    static func offered(by p: VMXCapabilities) -> VMXCapabilities {
        var c = p
        c.pin.remove(.processPostedInterrupts)
        c.secondary.subtract([.enableVMFunctions, .enablePML, .apicRegisterVirtualization, .virtualInterruptDelivery,
                              .virtualizeX2APICMode, .eptViolationVE, .enableXSAVES, .modeBasedExecuteControl, .useTSCScaling])
        return c
    }

    /// A fresh VPID for a VMCS02 (never 0, never a VMCS01's). When the 16-bit space is used up
    /// every VMCS02 mapping is dropped and numbering restarts (flushing every processor's
    /// translations of the old numbers).
    func allocateVPID02() -> UInt16 {
        if nextVPID02 == .max {
            nextVPID02 = UInt16(processors.count + 1)
            for v in processors { v.dropVPID02Mappings() }
        }
        nextVPID02 += 1
        return nextVPID02 - 1
    }

    /// EPT02 pages ran out: every processor's EPT02 hierarchies are dropped (they are caches of
    /// EPT12 ∘ EPT01, rebuilt on the next violations).
    func reclaimEPT02Pool() {
        for v in processors {
            v.ept02.dropAll()
            // The pages will hold other tables: no translation cached through them may survive.
            try? v.processor.invept(.allContext, eptp: EPTPointer(0))
        }
        pages.resetPool()
        // A processor in L2 resumes under its VMCS02 without a new entry: its EPTP must name
        // a fresh root now, never a page the pool hands out again as some other table.
        for v in processors { v.repointRunningEPT02() }
        note("EPT02 pool reclaimed (\(EPT02.poolBytes >> 20) MiB used up): every EPT02 is rebuilt from EPT12 on demand")
    }

    func note(_ message: @autoclosure () -> String) {
        log?(message())
    }
}

/// L0's own pages for nested VMX, in the region above L1's RAM that EPT01 does not map:
/// `fixedPages` pages for the processors, then a pool that is handed out page by page and
/// reclaimed all at once.
final class L0Pages {
    let memory: PhysicalMemory
    let base: UInt64
    let fixedCount: Int
    let poolBase: UInt64, poolEnd: UInt64
    private var next: UInt64

    init(memory: PhysicalMemory, base: UInt64, fixedPages: Int, poolBytes: UInt64) {
        self.memory = memory
        self.base = base
        fixedCount = fixedPages
        poolBase = base + UInt64(fixedPages) * 4096
        poolEnd = poolBase + poolBytes
        next = poolBase
    }

    func fixed(_ k: Int) -> UInt64 {
        precondition(k < fixedCount)
        return base + UInt64(k) * 4096
    }

    static let zeroPage = [UInt8](repeating: 0, count: 4096)

    /// A zeroed pool page, or nil when the pool is used up.
    func allocate() -> UInt64? {
        guard next < poolEnd else { return nil }
        let p = next
        next += 4096
        try? memory.write(Self.zeroPage, at: p)
        return p
    }

    /// Counts resets: a caller that allocated across a reset knows its tables are gone.
    private(set) var generation = 0

    func resetPool() {
        next = poolBase
        generation &+= 1
    }
}
