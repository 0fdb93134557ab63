import X86Assembler
@testable import CPU

/// What a test's L2 is: a 64-bit guest sharing L1's GDT and page tables, starting at `code`
/// on its own stack, with the controls L1 asks for. `setUpVMCS` writes a VMCS for it that
/// passes every VM-entry check (SDM Vol. 3C §27.2, §27.3) unless `overrides` break one.
struct L2Guest {
    var code: Label
    /// Which of the processor's L2 stacks (`CPUArea.l2StackTop`).
    var stack = 0
    var pin: PinBasedControls = []
    var primary: PrimaryProcessorBasedControls = []
    var secondary: SecondaryProcessorBasedControls = []
    var exit: VMExitControls = []
    var entry: VMEntryControls = []
    var exceptionBitmap: UInt32 = 0
    /// EPTP12 (sets "enable EPT").
    var eptPointer: UInt64?
    /// VPID12 (sets "enable VPID").
    var vpid: UInt16?
    /// L2's IDT (L1's when nil: L2 is not meant to take exceptions through it).
    var idt: Label?
    var preemptionTimer: UInt32?
    /// VMWRITEs after the rest (a test's deliberate breakage, or extra fields).
    var overrides: [(VMCSField, UInt64)] = []

    init(code: Label) { self.code = code }
}

extension L1Program {
    /// A control value as L1 computes it from a capability MSR pair (SDM Vol. 3D Appendix
    /// A.3.1): the allowed-0 bits set, the wanted bits, which must be allowed-1.
    func adjusted(_ wanted: UInt32, _ msr: UInt32) -> UInt64 {
        let pair = capabilities.msr(msr) ?? 0
        let allowed0 = UInt32(truncatingIfNeeded: pair), allowed1 = UInt32(truncatingIfNeeded: pair >> 32)
        precondition(wanted & ~allowed1 == 0, "control bits 0x\(String(wanted & ~allowed1, radix: 16)) of MSR 0x\(String(msr, radix: 16)) are not offered")
        return UInt64(wanted | allowed0)
    }

    /// VMWRITEs of the current VMCS for `l2`: controls (TRUE capability MSRs), host state
    /// (L1 as it runs now, RIP at the exit landing), guest state (64-bit, flat segments).
    func setUpVMCS(_ l2: L2Guest) {
        var primary = l2.primary, secondary = l2.secondary
        if l2.eptPointer != nil { secondary.insert(.enableEPT) }
        if l2.vpid != nil { secondary.insert(.enableVPID) }
        if !secondary.isEmpty { primary.insert(.activateSecondaryControls) }
        set(.pinBasedControls, adjusted(l2.pin.rawValue, MSRIndex.vmxTruePinbasedControls))
        set(.primaryProcessorBasedControls, adjusted(primary.rawValue, MSRIndex.vmxTrueProcbasedControls))
        if !secondary.isEmpty { set(.secondaryProcessorBasedControls, adjusted(secondary.rawValue, MSRIndex.vmxProcbasedControls2)) }
        set(.exitControls, adjusted(l2.exit.union([.hostAddressSpaceSize, .loadEFER]).rawValue, MSRIndex.vmxTrueExitControls))
        set(.entryControls, adjusted(l2.entry.union([.ia32eModeGuest, .loadEFER]).rawValue, MSRIndex.vmxTrueEntryControls))
        set(.exceptionBitmap, UInt64(l2.exceptionBitmap))
        for f in [VMCSField.pageFaultErrorCodeMask, .pageFaultErrorCodeMatch, .cr3TargetCount, .exitMSRStoreCount,
                  .exitMSRLoadCount, .entryMSRLoadCount, .entryInterruptionInformation, .cr0GuestHostMask,
                  .cr4GuestHostMask, .cr0ReadShadow, .cr4ReadShadow, .tscOffset] {
            set(f, 0)
        }
        if let v = l2.vpid { set(.virtualProcessorIdentifier, UInt64(v)) }
        if let e = l2.eptPointer { set(.eptPointer, e) }
        if primary.contains(.useIOBitmaps) { set(.ioBitmapA, area.ioBitmapA); set(.ioBitmapB, area.ioBitmapB) }
        if primary.contains(.useMSRBitmaps) { set(.msrBitmaps, area.msrBitmap) }
        if let t = l2.preemptionTimer { set(.vmxPreemptionTimerValue, UInt64(t)) }
        setUpHostState()
        setUpGuestState(l2)
        for (f, v) in l2.overrides { set(f, v) }
    }

    /// §27.2.2–§27.2.4 and §28.5: L1 itself, resuming at the exit landing. (HOST_RSP is
    /// written at each entry.)
    func setUpHostState() {
        a.mov(rax, cr0); set(.hostCR0, from: rax)
        a.mov(rax, cr3); set(.hostCR3, from: rax)
        a.mov(rax, cr4); set(.hostCR4, from: rax)
        for (f, v) in [(VMCSField.hostCSSelector, UInt64(L1Boot.code64)), (.hostSSSelector, UInt64(L1Boot.data)),
                       (.hostDSSelector, UInt64(L1Boot.data)), (.hostESSelector, UInt64(L1Boot.data)),
                       (.hostFSSelector, 0), (.hostGSSelector, 0), (.hostTRSelector, UInt64(area.trSelector)),
                       (.hostFSBase, 0), (.hostGSBase, 0), (.hostIA32SysenterCS, 0), (.hostIA32SysenterESP, 0),
                       (.hostIA32SysenterEIP, 0)] {
            set(f, v)
        }
        a.mov(rax, tss[cpu]); set(.hostTRBase, from: rax)
        a.mov(rax, gdt); set(.hostGDTRBase, from: rax)
        a.mov(rax, idt); set(.hostIDTRBase, from: rax)
        readEFER(); set(.hostIA32EFER, from: rax)
        a.mov(rax, landings[cpu]); set(.hostRIP, from: rax)
    }

    /// §27.3.1: a 64-bit guest at CPL 0 with L1's control registers, GDT and EFER.
    func setUpGuestState(_ l2: L2Guest) {
        a.mov(rax, cr0); set(.guestCR0, from: rax)
        a.mov(rax, cr3); set(.guestCR3, from: rax)
        a.mov(rax, cr4); set(.guestCR4, from: rax)
        readEFER(); set(.guestIA32EFER, from: rax)
        let flat: [(VMCSField, VMCSField, VMCSField, VMCSField, UInt64, UInt64)] = [
            (.guestCSSelector, .guestCSBase, .guestCSLimit, .guestCSAccessRights, UInt64(L1Boot.code64), 0xA09B),
            (.guestSSSelector, .guestSSBase, .guestSSLimit, .guestSSAccessRights, UInt64(L1Boot.data), 0xC093),
            (.guestDSSelector, .guestDSBase, .guestDSLimit, .guestDSAccessRights, UInt64(L1Boot.data), 0xC093),
            (.guestESSelector, .guestESBase, .guestESLimit, .guestESAccessRights, UInt64(L1Boot.data), 0xC093),
            (.guestFSSelector, .guestFSBase, .guestFSLimit, .guestFSAccessRights, UInt64(L1Boot.data), 0xC093),
            (.guestGSSelector, .guestGSBase, .guestGSLimit, .guestGSAccessRights, UInt64(L1Boot.data), 0xC093),
        ]
        for (selector, base, limit, rights, value, ar) in flat {
            set(selector, value); set(base, 0); set(limit, 0xFFFF_FFFF); set(rights, ar)
        }
        set(.guestTRSelector, UInt64(area.trSelector))
        a.mov(rax, tss[cpu]); set(.guestTRBase, from: rax)
        set(.guestTRLimit, 0x67); set(.guestTRAccessRights, 0x8B)           // busy 64-bit TSS
        set(.guestLDTRSelector, 0); set(.guestLDTRBase, 0); set(.guestLDTRLimit, 0)
        set(.guestLDTRAccessRights, 0x1_0000)                                 // unusable
        a.mov(rax, gdt); set(.guestGDTRBase, from: rax); set(.guestGDTRLimit, gdtLimit)
        a.mov(rax, l2.idt ?? idt); set(.guestIDTRBase, from: rax); set(.guestIDTRLimit, 256 * 16 - 1)
        set(.guestDR7, 0x400)
        set(.guestRSP, area.l2StackTop(l2.stack))
        a.mov(rax, l2.code); set(.guestRIP, from: rax)
        set(.guestRFLAGS, 2)
        for f in [VMCSField.guestActivityState, .guestInterruptibilityState, .guestPendingDebugExceptions,
                  .guestIA32SysenterCS, .guestIA32SysenterESP, .guestIA32SysenterEIP, .guestIA32DebugCtl] {
            set(f, 0)
        }
        set(.vmcsLinkPointer, ~0)
    }

    /// RDMSR IA32_EFER into RAX (64 bits).
    func readEFER() {
        a.mov(ecx, 0xC000_0080); a.rdmsr(); a.shl(rdx, 32); a.or(rax, rdx)
    }

    /// L2's own IDT (emitted with the trailer): `handlers[v]` for vector v, L1's stubs elsewhere
    /// never being reached.
    func l2IDT(_ handlers: [Int: Label]) -> Label {
        let table = Label()
        trailer.append { p in
            p.a.align(16, fill: 0)
            p.a.bind(table)
            for v in 0..<256 {
                if let h = handlers[v] { L1Boot.emitGate(p.a, handler: h.address!) } else { p.a.zeros(16) }
            }
        }
        return table
    }
}

extension L1Program {
    /// L2's code, emitted in place (L1 jumps over it); returns its first instruction.
    func l2Code(_ body: () -> Void) -> Label {
        let skip = a.label(), start = a.label()
        a.jmp(skip)
        a.align(16, fill: 0xCC)
        a.bind(start)
        body()
        a.bind(skip)
        return start
    }
}
