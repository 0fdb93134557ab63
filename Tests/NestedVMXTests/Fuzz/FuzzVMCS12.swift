@testable import CPU

/// Random vmcs12 contents, biased towards VM entry succeeding: a VMCS that a careful L1 would
/// write for a 64-bit L2 in L2's home — controls from the capability MSRs nested VMX offers
/// (allowed-0 bits set, a random choice of allowed-1 bits, SDM Vol. 3D Appendix A.3), host
/// state that returns to the fuzz L1's landing, random bitmaps, MSR lists, event injection,
/// timer — then, often, a few random fields broken (bits flipped, odd values), which the
/// VM-entry checks must catch or L0 must survive.
struct FuzzVMCS12 {
    let offered: VMXCapabilities
    let l1: FuzzMachine.L1ImageFacts
    let l1CR0: UInt64, l1CR3: UInt64, l1CR4: UInt64, l1EFER: UInt64
    let ramTop: UInt64

    /// What the generator chose (the case generator reuses it for INVEPT/INVVPID operands).
    struct Choice {
        var ept: Bool
        var eptp: UInt64
        var vpid: UInt16?
        var mutations: Int
    }

    func adjusted(_ wanted: UInt32, _ msr: UInt32) -> UInt64 {
        let pair = offered.msr(msr) ?? 0
        return UInt64((wanted | UInt32(truncatingIfNeeded: pair)) & UInt32(truncatingIfNeeded: pair >> 32))
    }

    /// A random subset of the allowed-1 bits of `msr`, each with probability 1/`oneIn`.
    func randomControls(_ r: inout FuzzRandom, _ msr: UInt32, oneIn: Int) -> UInt32 {
        let allowed1 = UInt32(truncatingIfNeeded: (offered.msr(msr) ?? 0) >> 32)
        var v: UInt32 = 0
        for bit in 0..<32 where allowed1 & (1 << UInt32(bit)) != 0 && r.chance(1, in: oneIn) { v |= 1 << UInt32(bit) }
        return v
    }

    /// Structures the processor or L0 writes (the VTPR, VM-exit MSR stores, a shadow VMCS):
    /// never in L1's constant memory (`FuzzLayout.inL1Constant`).
    static let writtenStructures: Set<UInt32> = Set([VMCSField.virtualAPICAddress, .exitMSRStoreAddress, .vmcsLinkPointer].map(\.encoding))

    /// An address for a 4-KByte structure vmcs12 names: usually one of L1's pages for it,
    /// sometimes anything that is not (L0's region, beyond RAM, unaligned, above MAXPHYADDR),
    /// L1's code only for what is only read.
    func structureAddress(_ r: inout FuzzRandom, good: UInt64, written: Bool = false) -> UInt64 {
        let a = anyStructureAddress(&r, good: good)
        return written && FuzzLayout.inL1Constant(a) ? good : a
    }

    private func anyStructureAddress(_ r: inout FuzzRandom, good: UInt64) -> UInt64 {
        switch r.below(150) {
        case 0, 1: return ramTop + UInt64(r.below(0x300)) * 0x1000
        case 2: return 0x2000_0000 + UInt64(r.below(16)) * 0x1000
        case 3: return good | UInt64(r.below(0x1000))
        case 4: return good | 1 << UInt64(40 + r.below(24))
        case 5: return r.next()
        case 6: return L1Layout.image + UInt64(r.below(4)) * 0x1000
        default: return good
        }
    }

    func generate(_ r: inout FuzzRandom, ept12: FuzzEPT12) -> (VMCS, Choice) {
        let v = VMCS()
        var choice = Choice(ept: r.chance(2, in: 3), eptp: 0, vpid: nil, mutations: 0)
        // Controls.
        var pin = PinBasedControls(rawValue: randomControls(&r, MSRIndex.vmxTruePinbasedControls, oneIn: 4))
        if pin.contains(.virtualNMIs) { pin.insert(.nmiExiting) }
        var primary = PrimaryProcessorBasedControls(rawValue: randomControls(&r, MSRIndex.vmxTrueProcbasedControls, oneIn: 4))
        if !pin.contains(.virtualNMIs) { primary.remove(.nmiWindowExiting) }
        var secondary = SecondaryProcessorBasedControls(rawValue: randomControls(&r, MSRIndex.vmxProcbasedControls2, oneIn: 5))
        secondary.remove(.enableEPT); secondary.remove(.vmcsShadowing)
        if choice.ept { secondary.insert(.enableEPT) } else { secondary.remove(.unrestrictedGuest) }
        if r.chance(1, in: 2) { secondary.insert(.enableVPID) }
        if r.chance(1, in: 12) { secondary.insert(.vmcsShadowing) }
        if !secondary.isEmpty || r.chance(1, in: 2) { primary.insert(.activateSecondaryControls) }
        var exit = VMExitControls(rawValue: randomControls(&r, MSRIndex.vmxTrueExitControls, oneIn: 3))
        exit.insert(.hostAddressSpaceSize)
        if !pin.contains(.activateVMXPreemptionTimer) { exit.remove(.saveVMXPreemptionTimer) }
        var entry = VMEntryControls(rawValue: randomControls(&r, MSRIndex.vmxTrueEntryControls, oneIn: 3))
        entry.insert(.ia32eModeGuest)
        if r.chance(3, in: 4) { entry.insert(.loadEFER) }
        v[.pinBasedControls] = adjusted(pin.rawValue, MSRIndex.vmxTruePinbasedControls)
        v[.primaryProcessorBasedControls] = adjusted(primary.rawValue, MSRIndex.vmxTrueProcbasedControls)
        v[.secondaryProcessorBasedControls] = adjusted(secondary.rawValue, MSRIndex.vmxProcbasedControls2)
        v[.exitControls] = adjusted(exit.rawValue, MSRIndex.vmxTrueExitControls)
        v[.entryControls] = adjusted(entry.rawValue, MSRIndex.vmxTrueEntryControls)

        // Control fields.
        v[.exceptionBitmap] = r.weighted([(3, 0), (2, 0xFFFF_FFFF), (5, r.next() & 0xFFFF_FFFF)])
        if r.chance(1, in: 3) { v[.pageFaultErrorCodeMask] = UInt64(r.below(32)); v[.pageFaultErrorCodeMatch] = UInt64(r.below(32)) }
        v[.cr0GuestHostMask] = r.chance(1, in: 2) ? 0 : r.next() & 0xE005_003F
        v[.cr0ReadShadow] = r.chance(1, in: 2) ? l1CR0 : r.next() & 0xE005_003F
        v[.cr4GuestHostMask] = r.chance(1, in: 2) ? CR4.vmxe : r.next() & 0x0037_2FFF
        v[.cr4ReadShadow] = r.chance(1, in: 2) ? 0 : r.next() & 0x0037_2FFF
        v[.cr3TargetCount] = r.weighted([(30, 0), (10, UInt64(r.below(5))), (1, UInt64(r.below(8)))])
        for f in [VMCSField.cr3Target0, .cr3Target1, .cr3Target2, .cr3Target3] { v[f] = r.chance(1, in: 2) ? FuzzLayout.l2TablesEPT : r.next() }
        v[.tscOffset] = r.interesting()
        v[.tprThreshold] = r.weighted([(30, 0), (2, UInt64(r.below(16))), (1, r.interesting() & 0xFFFF_FFFF)])
        v[.ioBitmapA] = structureAddress(&r, good: FuzzLayout.bitmap(r.below(4)))
        v[.ioBitmapB] = structureAddress(&r, good: FuzzLayout.bitmap(r.below(4)))
        v[.msrBitmaps] = structureAddress(&r, good: FuzzLayout.bitmap(4 + r.below(4)))
        v[.vmreadBitmapAddress] = structureAddress(&r, good: FuzzLayout.bitmap(8 + r.below(4)))
        v[.vmwriteBitmapAddress] = structureAddress(&r, good: FuzzLayout.bitmap(8 + r.below(4)))
        v[.virtualAPICAddress] = structureAddress(&r, good: FuzzLayout.apicPage(r.below(FuzzLayout.apicPages)), written: true)
        v[.apicAccessAddress] = structureAddress(&r, good: r.chance(1, in: 3) ? 0xFEE0_0000 : FuzzLayout.apicPage(r.below(FuzzLayout.apicPages)))
        choice.eptp = ept12.pointer(&r)
        v[.eptPointer] = choice.eptp
        let vpid = UInt16(r.weighted([(24, UInt64(1 + r.below(8))), (12, UInt64(1 + r.below(0xFFFF))), (1, 0)]))
        v[.virtualProcessorIdentifier] = UInt64(vpid)
        if secondary.contains(.enableVPID) { choice.vpid = vpid }
        v[.vmcsLinkPointer] = secondary.contains(.vmcsShadowing) && r.chance(3, in: 4)
            ? FuzzLayout.vmcsRegion(12 + r.below(4)) : r.weighted([(20, ~0), (1, FuzzLayout.vmcsRegion(r.below(16))), (1, r.next())])
        for (address, count) in [(VMCSField.entryMSRLoadAddress, VMCSField.entryMSRLoadCount),
                                 (.exitMSRStoreAddress, .exitMSRStoreCount), (.exitMSRLoadAddress, .exitMSRLoadCount)] {
            // Lists L1's context receives (VM-exit MSR loads) are mostly the careful ones.
            let careful = address != .entryMSRLoadAddress && r.chance(9, in: 10)
            let list = FuzzLayout.msrList(careful ? r.below(2) : r.below(FuzzLayout.msrLists)) + UInt64(r.below(8)) * 16
            v[address] = r.chance(1, in: 10) ? structureAddress(&r, good: list, written: address == .exitMSRStoreAddress) : list
            v[count] = careful ? r.weighted([(30, 0), (10, UInt64(1 + r.below(8))), (1, UInt64(r.below(600))), (1, r.interesting())])
                               : r.weighted([(14, 0), (5, UInt64(1 + r.below(4))), (1, UInt64(r.below(600))), (1, r.interesting())])
        }
        // Event injection (§25.8.3, checked by §27.2.1.3): mostly events VM entry accepts.
        if r.chance(1, in: 6) {
            let type = UInt64(r.weighted([(4, 0), (2, 2), (4, 3), (2, 4), (1, 5), (2, 6), (1, 7), (1, 1)]))
            var vector: UInt64
            switch type {
            case 2: vector = 2
            case 3: vector = UInt64(r.pick([0, 1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19]))
            case 6: vector = UInt64(r.pick([3, 4]))
            case 7: vector = 0
            default: vector = UInt64(r.below(256))
            }
            let takesErrorCode = type == 3 && [8, 10, 11, 12, 13, 14, 17].contains(vector)
            var errorCode = takesErrorCode ? UInt64(1) << 11 : 0
            if r.chance(1, in: 15) { errorCode ^= 1 << 11; vector = UInt64(r.below(256)) }
            v[.entryInterruptionInformation] = 1 << 31 | type << 8 | vector | errorCode | (r.chance(1, in: 40) ? r.next() & 0x7FFF_F000 : 0)
            v[.entryExceptionErrorCode] = r.chance(1, in: 2) ? 0 : r.next() & (r.chance(1, in: 10) ? 0xFFFF_FFFF : 0x7FFF)
            v[.entryInstructionLength] = r.chance(1, in: 10) ? UInt64(r.below(17)) : UInt64(1 + r.below(15))
        }
        v[.vmxPreemptionTimerValue] = r.weighted([(2, UInt64(r.below(100))), (2, UInt64(r.below(10000))), (1, r.next() & 0xFFFF_FFFF)])

        writeHostState(v, &r)
        writeGuestState(v, &r, ept: choice.ept, unrestricted: secondary.contains(.unrestrictedGuest))

        // Break it, sometimes.
        if r.chance(1, in: 4) {
            choice.mutations = 1 + r.below(3)
            for _ in 0..<choice.mutations { mutate(v, &r) }
        }
        return (v, choice)
    }

    /// §27.2.3: L1 (64-bit, its GDT/IDT/TSS), returning to the landing.
    func writeHostState(_ v: VMCS, _ r: inout FuzzRandom) {
        v[.hostCR0] = l1CR0 | (r.chance(1, in: 4) ? CR0.wp : 0)
        v[.hostCR3] = l1CR3
        v[.hostCR4] = l1CR4
        v[.hostCSSelector] = UInt64(L1Boot.code64)
        for f in [VMCSField.hostSSSelector, .hostDSSelector, .hostESSelector] { v[f] = UInt64(r.chance(9, in: 10) ? L1Boot.data : 0) }
        v[.hostFSSelector] = 0; v[.hostGSSelector] = 0
        v[.hostTRSelector] = UInt64(L1Layout.area(0).trSelector)
        v[.hostTRBase] = l1.tss
        v[.hostGDTRBase] = l1.gdt
        v[.hostIDTRBase] = l1.idt
        v[.hostFSBase] = r.chance(1, in: 2) ? 0 : r.next() & 0x7FFF_FFFF_FFFF
        v[.hostGSBase] = r.chance(1, in: 2) ? 0 : r.next() & 0x7FFF_FFFF_FFFF
        v[.hostIA32SysenterCS] = UInt64(r.below(0x100))
        v[.hostIA32SysenterESP] = r.next() & 0x7FFF_FFFF_FFFF
        v[.hostIA32SysenterEIP] = r.next() & 0x7FFF_FFFF_FFFF
        v[.hostIA32EFER] = l1EFER | (r.chance(1, in: 4) ? EFER.sce : 0)
        v[.hostIA32PAT] = r.chance(15, in: 16) ? 0x0007_0406_0007_0406 : r.next() & 0x0707_0707_0707_0707
        v[.hostRIP] = l1.landing
        v[.hostRSP] = FuzzLayout.l2StackTop
    }

    /// §27.3.1: a 64-bit L2 at CPL 0 in its home (tables for EPT12 or for EPT01).
    func writeGuestState(_ v: VMCS, _ r: inout FuzzRandom, ept: Bool, unrestricted: Bool) {
        v[.guestCR0] = CR0.pe | CR0.ne | CR0.pg | CR0.et | (r.chance(1, in: 2) ? CR0.wp : 0) | (r.chance(1, in: 8) ? CR0.ts | CR0.mp : 0)
        v[.guestCR3] = ept ? FuzzLayout.l2TablesEPT : FuzzLayout.l2TablesNoEPT
        v[.guestCR4] = CR4.pae | CR4.vmxe | (r.chance(1, in: 3) ? CR4.pge : 0) | (r.chance(1, in: 4) ? 1 << 9 | 1 << 10 : 0)
        v[.guestIA32EFER] = EFER.lme | EFER.lma | (r.chance(1, in: 2) ? EFER.nxe | EFER.sce : 0)
        let segments: [(VMCSField, VMCSField, VMCSField, VMCSField, UInt16, UInt64)] = [
            (.guestCSSelector, .guestCSBase, .guestCSLimit, .guestCSAccessRights, FuzzLayout.l2Code64, 0xA09B),
            (.guestSSSelector, .guestSSBase, .guestSSLimit, .guestSSAccessRights, FuzzLayout.l2Data, 0xC093),
            (.guestDSSelector, .guestDSBase, .guestDSLimit, .guestDSAccessRights, FuzzLayout.l2Data, 0xC093),
            (.guestESSelector, .guestESBase, .guestESLimit, .guestESAccessRights, FuzzLayout.l2Data, 0xC093),
            (.guestFSSelector, .guestFSBase, .guestFSLimit, .guestFSAccessRights, FuzzLayout.l2Data, 0xC093),
            (.guestGSSelector, .guestGSBase, .guestGSLimit, .guestGSAccessRights, FuzzLayout.l2Data, 0xC093),
        ]
        for (selector, base, limit, rights, value, ar) in segments {
            v[selector] = UInt64(value); v[base] = 0; v[limit] = 0xFFFF_FFFF; v[rights] = ar
        }
        if r.chance(1, in: 4) { v[.guestFSBase] = r.next() & 0x7FFF_FFFF_FFFF; v[.guestGSBase] = r.next() & 0x7FFF_FFFF_FFFF }
        v[.guestTRSelector] = UInt64(FuzzLayout.l2TR); v[.guestTRBase] = FuzzLayout.l2TSS
        v[.guestTRLimit] = 0x67; v[.guestTRAccessRights] = 0x8B
        v[.guestLDTRSelector] = 0; v[.guestLDTRBase] = 0; v[.guestLDTRLimit] = 0; v[.guestLDTRAccessRights] = 0x1_0000
        v[.guestGDTRBase] = FuzzLayout.l2GDT; v[.guestGDTRLimit] = 0x27
        v[.guestIDTRBase] = FuzzLayout.l2IDT; v[.guestIDTRLimit] = 0xFFF
        v[.guestDR7] = r.chance(9, in: 10) ? 0x400 : 0x400 | UInt64(r.below(256))
        v[.guestRSP] = FuzzLayout.l2StackTop - UInt64(r.below(16)) * 8
        v[.guestRIP] = FuzzL2Code.start
        v[.guestRFLAGS] = 2 | (r.chance(1, in: 3) ? 1 << 9 : 0) | (r.chance(1, in: 20) ? 1 << 8 : 0)
        v[.guestActivityState] = r.weighted([(30, 0), (1, 1), (1, 2), (1, 3), (1, UInt64(r.below(8)))])
        v[.guestInterruptibilityState] = r.weighted([(20, 0), (1, 1), (1, 2), (1, 8), (1, UInt64(r.below(32)))])
        v[.guestPendingDebugExceptions] = r.weighted([(20, 0), (1, 1 << 14), (1, UInt64(r.below(16))), (1, r.next() & 0x1_F00F)])
        v[.guestIA32DebugCtl] = r.chance(9, in: 10) ? 0 : UInt64(r.below(4))
        v[.guestIA32PAT] = 0x0007_0406_0007_0406
        v[.guestIA32SysenterCS] = 0; v[.guestIA32SysenterESP] = 0; v[.guestIA32SysenterEIP] = 0
        v[.guestSMBASE] = 0
        // PAE without EPT reads the PDPTEs itself; with EPT they come from here.
        for f in [VMCSField.guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3] { v[f] = r.chance(3, in: 4) ? 0 : r.next() }
        _ = unrestricted
    }

    /// Fields a mutation may hit: all supported ones except the host state L1 needs to come back
    /// to its landing (`vitalHostFields`), which only a rare self-harming mutation touches.
    static let vitalHostFields: Set<UInt32> = Set([VMCSField.hostRIP, .hostCR3, .hostGDTRBase, .hostIDTRBase, .hostTRBase].map(\.encoding))
    static let mutableFields: [VMCSField] = VMCSFieldTable.entries.filter { $0.supported && !vitalHostFields.contains($0.field.encoding) }.map(\.field)

    func mutate(_ v: VMCS, _ r: inout FuzzRandom) {
        let f = r.pick(Self.mutableFields)
        switch r.below(4) {
        case 0: v[f] = r.interesting()
        case 1, 2: v[f] = r.flipBits(v[f], width: f.width == .bits16 ? 16 : f.width == .bits32 ? 32 : 64)
        default: v[f] = r.next()
        }
        // Host CR4.SMEP/SMAP would make L1's user-accessible pages unusable at its landing.
        if f == .hostCR4 { v[f] &= ~(CR4.smep | CR4.smap) }
        if Self.writtenStructures.contains(f.encoding) && FuzzLayout.inL1Constant(v[f]) { v[f] = FuzzLayout.apicPage(0) }
    }
}
