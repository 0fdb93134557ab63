@testable import CPU
@testable import NestedVMX

/// One fuzz case: the steps the hostile L1 executes, with everything they point at written to
/// L1's memory first (as L1's own stores would have): vmcs12 images to copy into VMCS regions,
/// pointers and descriptors, bitmaps, MSR lists, EPT12, L2's code. Cases follow the shapes of
/// guest hypervisors — set up and launch a fresh vmcs12, resume the current one, switch among
/// several, tear down — with random instructions, operands, CPL 3 and MOV-SS blocking mixed in.
struct FuzzCaseGenerator {
    var r: FuzzRandom
    let vmcs12: FuzzVMCS12
    var ept12: FuzzEPT12
    let ramTop: UInt64
    let physicalAddressBits: Int
    /// EPTPs and VPIDs of recent vmcs12s (for INVEPT/INVVPID descriptors).
    var recentEPTPs: [UInt64] = []
    var recentVPIDs: [UInt16] = []
    /// What the case did to EPT12 before it ran (for the invariants' staleness model).
    var ept12Rewritten = false

    private var steps: [FuzzStep] = []
    private var nextOperand = 0
    private var nextImage = 0
    private unowned(unsafe) var machine: FuzzMachine!

    init(seed: UInt64, machine: FuzzMachine) {
        r = FuzzRandom(seed: seed)
        ramTop = machine.vm.configuration.ramTop
        physicalAddressBits = machine.nested.capabilities.physicalAddressBits
        vmcs12 = FuzzVMCS12(offered: machine.nested.capabilities, l1: machine.layout, l1CR0: machine.l1CR0,
                            l1CR3: machine.l1CR3, l1CR4: machine.l1CR4, l1EFER: machine.l1EFER, ramTop: ramTop)
        ept12 = FuzzEPT12(ramTop: ramTop, physicalAddressBits: physicalAddressBits)
        ept12.regenerate(&r)
    }

    /// A new machine (after the old one was lost): everything in L1 memory must be written again.
    mutating func attach(_ m: FuzzMachine) {
        machine = m
        writeArena()
        m.write(FuzzL2Home.bytes, at: FuzzLayout.l2Home)
        for k in 0..<FuzzLayout.bitmaps { randomizeBitmap(k) }
        for k in 0..<FuzzLayout.msrLists { randomizeMSRList(k) }
    }

    private func writeArena() {
        machine.memory.pointer(to: FuzzLayout.ept12Arena)!.withMemoryRebound(to: UInt64.self, capacity: ept12.image.count) { p in
            for (k, e) in ept12.image.enumerated() { p[k] = e }
        }
    }

    /// Writes the next case into L1's memory; returns its steps.
    mutating func next(l2HomeDirty: Bool) -> [FuzzStep] {
        steps = []
        nextOperand = 0
        nextImage = 0
        ept12Rewritten = false
        let vmx = machine.vmx
        // EPT12: rebuilt, edited, or kept.
        switch r.below(20) {
        case 0..<4: ept12.regenerate(&r); writeArena(); ept12Rewritten = true
        case 4..<8: ept12.modify(&r); writeArena(); ept12Rewritten = true
        default: break
        }
        if r.chance(1, in: 3) { randomizeBitmap(r.below(FuzzLayout.bitmaps)) }
        if r.chance(1, in: 4) { randomizeMSRList(r.below(FuzzLayout.msrLists)) }
        if l2HomeDirty { machine.write(FuzzL2Home.bytes, at: FuzzLayout.l2Home) }
        machine.write(FuzzL2Code.generate(&r, ramTop: ramTop, actions: 1 + r.below(12)), at: FuzzL2Code.start)
        // VMXON region (region 0) and shadow regions (12–15) as L1 keeps them.
        machine.store(UInt64(VMXCapabilities.revisionIdentifier), at: FuzzLayout.vmcsRegion(0))
        for k in 12..<16 where r.chance(1, in: 8) {
            machine.store(UInt64(VMXCapabilities.revisionIdentifier | 1 << 31), at: FuzzLayout.vmcsRegion(k))
        }

        if !vmx.inVMXOperation || r.chance(1, in: 40) {
            if r.chance(1, in: 20) { step(.writeCR4, a: machine.l1CR4 & ~CR4.vmxe) }
            if r.chance(1, in: 10) { step(.writeCR4, a: machine.l1CR4) }
            step(.vmxon, memory: r.chance(19, in: 20) ? FuzzLayout.vmcsRegion(0) : pointerValue())
        }
        switch r.below(100) {
        case 0..<40: freshGuest()
        case 40..<62: resumeCurrent()
        case 62..<72: switchGuests()
        case 72..<94: soup(3 + r.below(12))
        default: tearDown()
        }
        // Chaos: a few steps at CPL 3 or after MOV SS, a random step anywhere.
        for k in steps.indices where r.chance(1, in: 25) {
            steps[k].flags.insert(r.chance(1, in: 2) ? .cpl3 : .afterMOVSS)
        }
        if r.chance(1, in: 10) { steps.insert(randomStep(), at: r.below(steps.count + 1)) }
        if steps.count > FuzzLayout.maximumSteps { steps = Array(steps.prefix(FuzzLayout.maximumSteps)) }
        writeSteps()
        return steps
    }

    // MARK: Case shapes

    /// A new vmcs12 in a (possibly active) region: VMCLEAR, L1's image copied in, VMPTRLD,
    /// a few VMWRITEs, maybe an invalidation, VMLAUNCH, then what L1 does after exits.
    private mutating func freshGuest() {
        let region = FuzzLayout.vmcsRegion(1 + r.below(11))
        let image = stageImage()
        if r.chance(9, in: 10) { step(.vmclear, memory: region) }
        step(.copyImage, a: image, b: region)
        step(.vmptrld, memory: r.chance(19, in: 20) ? region : pointerValue())
        for _ in 0..<r.below(4) { step(vmwriteStep()) }
        if r.chance(1, in: 3) { step(invalidationStep()) }
        step(.vmlaunch)
        afterEntry()
    }

    private mutating func resumeCurrent() {
        for _ in 0..<r.below(3) { step(vmwriteStep()) }
        if r.chance(1, in: 4) { step(invalidationStep()) }
        if r.chance(1, in: 4) { editEPT12ByStore() }
        // A careful L1 resumes a guest it launched; a careless one does not check.
        let launched = machine.vmx.current?.vmcs.launched ?? false
        step(launched || r.chance(1, in: 10) ? (r.chance(3, in: 4) ? .advanceAndResume : .vmresume) : .vmlaunch)
        afterEntry()
    }

    private mutating func switchGuests() {
        step(.vmptrld, memory: FuzzLayout.vmcsRegion(1 + r.below(11)))
        step(r.chance(1, in: 2) ? .vmresume : .vmlaunch)
        afterEntry()
        step(.vmptrst, b: operandSlot())
    }

    private mutating func afterEntry() {
        for _ in 0..<r.weighted([(3, 0), (3, 1), (2, 2), (1, 4)]) {
            switch r.below(6) {
            case 0: step(vmreadStep())
            case 1: step(vmwriteStep())
            case 2: step(invalidationStep())
            default: step(.advanceAndResume)
            }
        }
    }

    private mutating func soup(_ n: Int) {
        for _ in 0..<n { step(randomStep()) }
    }

    private mutating func tearDown() {
        if r.chance(1, in: 2), let c = machine.vmx.current?.address { step(.vmclear, memory: c) }
        step(.vmxoff)
        if r.chance(1, in: 2) { step(.vmxon, memory: FuzzLayout.vmcsRegion(0)) }
    }

    // MARK: Steps and operands

    private mutating func step(_ s: FuzzStep) { steps.append(s) }
    private mutating func step(_ op: FuzzOp, a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0) {
        steps.append(FuzzStep(op: op, a: a, b: b, c: c))
    }
    /// An instruction whose m64 operand holds `value`.
    private mutating func step(_ op: FuzzOp, memory value: UInt64) {
        steps.append(FuzzStep(op: op, b: operand(value)))
    }

    private mutating func operandSlot() -> UInt64 {
        defer { nextOperand = (nextOperand + 1) % FuzzLayout.operandSlots }
        return FuzzLayout.operand(nextOperand)
    }

    /// A memory operand holding `low` (and `high`): usually an operand slot, sometimes an
    /// address the access faults on or reaches no RAM through (the value is then not stored).
    private mutating func operand(_ low: UInt64, _ high: UInt64 = 0) -> UInt64 {
        switch r.below(60) {
        case 0: return 0x1_0000_0000 + UInt64(r.below(16)) * 8                               // not mapped by L1's tables: #PF
        case 1: return 0x8000_0000_0000_0000                                                  // non-canonical: #GP
        case 2: return ramTop + UInt64(r.below(0x100)) * 0x1000                               // L0's region
        case 3: return 0xFEE0_0000 + UInt64(r.below(64)) * 16                                // the local APIC (reads)
        case 4: return FuzzLayout.operand(0) + 0x1000 - 4 + UInt64(r.below(4))                // straddles into the next page
        default:
            let slot = operandSlot()
            machine.store(low, at: slot)
            machine.store(high, at: slot + 8)
            return slot
        }
    }

    /// A VMCS pointer: a region, the VMXON region, L0's region, nothing, unaligned, too wide
    /// (never L1's constant memory, which VMCLEAR would write).
    private mutating func pointerValue() -> UInt64 {
        let p = anyPointerValue()
        return FuzzLayout.inL1Constant(p) ? FuzzLayout.vmcsRegion(1 + r.below(11)) : p
    }

    private mutating func anyPointerValue() -> UInt64 {
        switch r.below(20) {
        case 0..<12: return FuzzLayout.vmcsRegion(r.below(FuzzLayout.vmcsRegions))
        case 12: return ramTop + UInt64(r.below(0x300)) * 0x1000
        case 13: return 0x2000_0000
        case 14: return FuzzLayout.vmcsRegion(1) | UInt64(1 + r.below(0xFFF))
        case 15: return FuzzLayout.vmcsRegion(1) | 1 << UInt64(physicalAddressBits + r.below(64 - physicalAddressBits))
        case 16, 17: return FuzzLayout.l2Arena + UInt64(r.below(FuzzLayout.l2ArenaPages)) * 0x1000
        default: return r.interesting()
        }
    }

    /// A vmcs12 image in a staging page (the region's first word, launch state and abort
    /// indicator as L1 may have left them).
    private mutating func stageImage() -> UInt64 {
        let at = FuzzLayout.stagingImage(nextImage % FuzzLayout.stagingImages)
        nextImage += 1
        let (v, choice) = vmcs12.generate(&r, ept12: ept12)
        VMCS12(address: at, vmcs: v).store(to: machine.nested.l1)
        v.launched = false
        let revision = r.weighted([(36, VMXCapabilities.revisionIdentifier), (2, VMXCapabilities.revisionIdentifier | 1 << 31),
                                   (1, UInt32(truncatingIfNeeded: r.next())), (1, 0)])
        machine.store(UInt64(revision) | UInt64(r.chance(1, in: 30) ? 1 : 0) << 32, at: at)
        machine.store(UInt64(r.chance(1, in: 20) ? 1 : 0), at: at + VMCS12.launchStateOffset)
        if choice.ept { remember(eptp: choice.eptp) }
        if let vpid = choice.vpid { recentVPIDs.append(vpid); if recentVPIDs.count > 8 { recentVPIDs.removeFirst() } }
        return at
    }

    private mutating func remember(eptp: UInt64) {
        recentEPTPs.append(eptp)
        if recentEPTPs.count > 8 { recentEPTPs.removeFirst() }
    }

    /// A field encoding for VMREAD/VMWRITE: a supported field (either half), an unsupported
    /// one, any 32-bit value, or a value with bits 63:32 set.
    private mutating func encoding() -> UInt64 {
        switch r.below(20) {
        case 0..<15: return UInt64(r.pick(VMCSFieldTable.entries).field.encoding) | (r.chance(1, in: 10) ? 1 : 0)
        case 15, 16: return UInt64(r.below(0x8000))
        case 17: return r.next() & 0xFFFF_FFFF
        default: return r.next()
        }
    }

    private mutating func vmwriteStep() -> FuzzStep {
        let e = encoding()
        let field = VMCSField(UInt32(truncatingIfNeeded: e))
        var value = r.interesting()
        if r.chance(1, in: 3) {
            // Something close to right for the field.
            switch field {
            case .eptPointer: value = ept12.pointer(&r); remember(eptp: value)
            case .guestRIP: value = r.chance(3, in: 4) ? FuzzL2Code.start : FuzzLayout.l2Handlers
            case .vmcsLinkPointer: value = r.chance(1, in: 2) ? ~0 : FuzzLayout.vmcsRegion(12 + r.below(4))
            case .virtualAPICAddress: value = FuzzLayout.apicPage(r.below(FuzzLayout.apicPages))
            case .hostRIP: value = machine.layout.landing
            case .virtualProcessorIdentifier: value = UInt64(1 + r.below(8))
            default: value = r.flipBits(value)
            }
        }
        // Vital host fields keep L1 alive (rare self-harm aside).
        if FuzzVMCS12.vitalHostFields.contains(field.encoding) && !r.chance(1, in: 200) { return FuzzStep(op: .vmreadRegister, a: e) }
        if field == .hostCR4 { value &= ~(CR4.smep | CR4.smap) }
        // Structures L0 or the processor writes stay out of L1's constant memory.
        if FuzzVMCS12.writtenStructures.contains(field.encoding) && FuzzLayout.inL1Constant(value) { value = FuzzLayout.apicPage(0) }
        if r.chance(1, in: 2) { return FuzzStep(op: .vmwriteRegister, a: e, b: value) }
        return FuzzStep(op: .vmwriteMemory, a: e, b: operand(value))
    }

    private mutating func vmreadStep() -> FuzzStep {
        r.chance(1, in: 2) ? FuzzStep(op: .vmreadRegister, a: encoding()) : FuzzStep(op: .vmreadMemory, a: encoding(), b: destination())
    }

    /// Where VMREAD/VMPTRST write: a slot, or somewhere that faults or is not RAM (never L1's
    /// own state: a hostile L1 corrupting itself tests nothing).
    private mutating func destination() -> UInt64 {
        switch r.below(30) {
        case 0: return 0x1_0000_0000
        case 1: return 0x8000_0000_0000_0000
        case 2: return ramTop + UInt64(r.below(0x300)) * 0x1000 + UInt64(r.below(512)) * 8
        case 3: return 0x2000_0000
        default: return operandSlot()
        }
    }

    private mutating func invalidationStep() -> FuzzStep {
        if r.chance(1, in: 2) {
            let type = r.weighted([(5, UInt64(1)), (5, 2), (1, 0), (1, 3), (1, r.interesting())])
            var eptp = recentEPTPs.isEmpty || r.chance(1, in: 5) ? ept12.pointer(&r) : r.pick(recentEPTPs)
            if r.chance(1, in: 3) { eptp ^= 1 << 6 }                              // the other A/D setting, same EP4TA
            let high = r.chance(9, in: 10) ? 0 : r.next()
            return FuzzStep(op: .invept, a: type, b: operand(eptp, high))
        }
        let type = r.weighted([(3, UInt64(0)), (3, 1), (3, 2), (3, 3), (1, r.interesting())])
        let vpid = recentVPIDs.isEmpty || r.chance(1, in: 5) ? UInt64(r.below(0x10000)) : UInt64(r.pick(recentVPIDs))
        let low = vpid | (r.chance(1, in: 20) ? r.next() << 16 : 0)
        let linear = r.weighted([(3, UInt64(FuzzLayout.l2Arena)), (1, 0x8000_0000_0000), (1, r.next())])
        return FuzzStep(op: .invvpid, a: type, b: operand(low, linear))
    }

    /// L1 edits an EPT12 entry with a plain store in the middle of the case (no INVEPT yet).
    private mutating func editEPT12ByStore() {
        let at = FuzzLayout.ept12Arena + UInt64(r.below(FuzzLayout.ept12Pages * 512)) * 8
        let value: UInt64 = r.chance(1, in: 2) ? 0 : (FuzzLayout.l2Arena + UInt64(r.below(FuzzLayout.l2ArenaPages)) * 0x1000) | 7 | 6 << 3
        step(.store, a: value, b: at)
    }

    private mutating func randomStep() -> FuzzStep {
        switch r.below(15) {
        case 0: return FuzzStep(op: .vmxon, b: operand(pointerValue()))
        case 1: return FuzzStep(op: .vmxoff)
        case 2: return FuzzStep(op: .vmclear, b: operand(pointerValue()))
        case 3: return FuzzStep(op: .vmptrld, b: operand(pointerValue()))
        case 4: return FuzzStep(op: .vmptrst, b: destination())
        case 5: return vmreadStep()
        case 6: return vmwriteStep()
        case 7: return FuzzStep(op: .vmlaunch, flags: r.chance(1, in: 20) ? .keepsHostState : [])
        case 8: return FuzzStep(op: .vmresume, flags: r.chance(1, in: 20) ? .keepsHostState : [])
        case 9: return invalidationStep()
        case 10: return FuzzStep(op: .advanceAndResume)
        case 11: return FuzzStep(op: .copyImage, a: stageImage(), b: FuzzLayout.vmcsRegion(r.below(FuzzLayout.vmcsRegions)))
        case 12:
            // L1 scribbles on a VMCS region (active or not): the launch state, the revision, a field.
            let region = FuzzLayout.vmcsRegion(r.below(FuzzLayout.vmcsRegions))
            return FuzzStep(op: .store, a: r.interesting(), b: region + UInt64(r.below(64)) * 8)
        case 13: return FuzzStep(op: .writeCR4, a: r.chance(1, in: 2) ? machine.l1CR4 : machine.l1CR4 & ~CR4.vmxe)
        default: return vmwriteStep()
        }
    }

    private mutating func writeSteps() {
        var words: [UInt64] = []
        for s in steps { words += s.words }
        let resultWords = [UInt64](repeating: 0, count: steps.count * 4).enumerated().map { k, _ in
            k % 4 == 0 ? StepResult.notReached : (k % 4 == 1 ? StepResult.noFault : 0)
        }
        write(words, at: FuzzLayout.steps)
        write(resultWords, at: FuzzLayout.results)
        machine.store(UInt64(steps.count), at: FuzzLayout.stepCount)
        machine.store(0, at: FuzzLayout.stepIndex)
    }

    private func write(_ words: [UInt64], at address: UInt64) {
        let p = machine.memory.pointer(to: address)!.assumingMemoryBound(to: UInt64.self)
        for (k, w) in words.enumerated() { p[k] = w }
    }

    // MARK: Bitmaps and lists

    /// A 4-KByte bitmap: all clear, all set, sparse or dense random bits.
    private mutating func randomizeBitmap(_ k: Int) {
        let fill: UInt64 = r.weighted([(2, 0), (1, ~0), (3, 1), (2, 2)])
        let p = machine.memory.pointer(to: FuzzLayout.bitmap(k))!.assumingMemoryBound(to: UInt64.self)
        for i in 0..<512 {
            switch fill {
            case 0: p[i] = 0
            case ~0: p[i] = ~0
            case 1: p[i] = r.chance(1, in: 16) ? 1 << UInt64(r.below(64)) : 0
            default: p[i] = r.next()
            }
        }
    }

    /// MSR-list entries (§25.7.2 Table 25-15). Lists 0 and 1 hold MSRs and values a careful L1
    /// would use (so VM exits that load them into L1 mostly succeed); lists 2 and 3 anything —
    /// MSRs a list may not name (x2APIC, IA32_SMBASE), read-only and absent ones, reserved bits,
    /// values WRMSR refuses — whose failures are entry failures (exit reason 34) or VMX aborts.
    static let goodListMSRs: [(UInt32, @Sendable (inout FuzzRandom) -> UInt64)] = [
        (0x174, { UInt64($0.below(0x100)) }), (0x175, { $0.next() & 0x7FFF_FFFF_FFFF }), (0x176, { $0.next() & 0x7FFF_FFFF_FFFF }),
        (0x277, { _ in 0x0007_0406_0007_0406 }), (0x10, { $0.next() & 0xFFFF_FFFF }), (0xC000_0081, { $0.next() }),
        (0xC000_0082, { $0.next() & 0x7FFF_FFFF_FFFF }), (0xC000_0084, { $0.next() & 0xFFFF_FFFF }),
        (0xC000_0102, { $0.next() & 0x7FFF_FFFF_FFFF }), (0xC000_0103, { $0.next() & 0xFFFF_FFFF }), (0x1D9, { UInt64($0.below(2)) }),
    ]
    static let hostileListMSRs: [UInt32] = [0x10, 0x174, 0x175, 0x176, 0x1D9, 0x277, 0x9E, 0x8B, 0x3A, 0x802, 0x830, 0x6E0,
                                            0xC000_0080, 0xC000_0081, 0xC000_0082, 0xC000_0100, 0xC000_0101, 0xC000_0102,
                                            0xC000_0103, 0x480, 0x1234]
    private mutating func randomizeMSRList(_ k: Int) {
        let p = machine.memory.pointer(to: FuzzLayout.msrList(k))!.assumingMemoryBound(to: UInt64.self)
        for i in 0..<256 {
            if k < 2 {
                let (index, value) = r.pick(Self.goodListMSRs)
                p[2 * i] = UInt64(index)
                p[2 * i + 1] = value(&r)
                continue
            }
            let index = UInt64(r.pick(Self.hostileListMSRs))
            let reserved: UInt64 = r.chance(1, in: 30) ? (r.next() & 0xFFFF_FFFF) << 32 : 0
            p[2 * i] = index | reserved
            p[2 * i + 1] = r.weighted([(3, UInt64(0)), (3, UInt64(r.below(4096))), (1, 0x0007_0406_0007_0406), (1, r.next() & 0x7FFF_FFFF_FFFF), (1, r.next())])
        }
    }
}
