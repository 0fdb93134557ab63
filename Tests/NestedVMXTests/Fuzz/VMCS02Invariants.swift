@testable import CPU
@testable import NestedVMX

/// What must hold of the VMCS02 L2 just ran under (checked by the fuzz after each L2 run):
/// its controls are vmcs12's plus only what L0 adds by design (`VirtualVMX.buildVMCS02`,
/// `setL0Control`), never a control L0 removes, and within the processor's allowed-0/allowed-1
/// settings; every address the processor uses points into L1's RAM or at L0's own pages as the
/// design says; its host state is VMCS01's. vmcs12's own controls were within what nested VMX
/// offers (else VMLAUNCH/VMRESUME had to VMfail 7).
enum VMCS02Invariants {
    /// Controls L0 sets in VMCS02 beyond vmcs12's, by design (VMCS02.swift): unconditional I/O
    /// exiting (L1's I/O bitmaps are consulted at exit time), activate secondary controls,
    /// EPT (EPT02 or EPT01) and VPID (VPID02); interrupt-window, NMI-window and PAUSE exiting on
    /// demand (events L0 delivers to L2, sharing the thread); the VM-exit saves and VM-entry
    /// loads of IA32_EFER, IA32_PAT, debug controls and the preemption timer that keep L2's
    /// state in VMCS02; 64-bit host (L0).
    static let l0AddedPrimary: PrimaryProcessorBasedControls = [.unconditionalIOExiting, .activateSecondaryControls,
                                                                .interruptWindowExiting, .nmiWindowExiting, .pauseExiting]
    static let l0AddedSecondary: SecondaryProcessorBasedControls = [.enableEPT, .enableVPID]
    static let l0AddedExit: VMExitControls = [.hostAddressSpaceSize, .saveDebugControls, .savePAT, .saveEFER, .saveVMXPreemptionTimer]
    static let l0AddedEntry: VMEntryControls = [.loadDebugControls, .loadPAT, .loadEFER]
    /// Controls VMCS02 must never have: posted interrupts (not offered), I/O and MSR bitmaps
    /// (they would make the processor read vmcs12's bitmap addresses, which VMCS02 does not
    /// carry), VM-exit loads of IA32_EFER/IA32_PAT/PERF_GLOBAL_CTRL (L0's host state is not
    /// L1's).
    static let forbiddenPin: PinBasedControls = [.processPostedInterrupts]
    static let forbiddenPrimary: PrimaryProcessorBasedControls = [.useIOBitmaps, .useMSRBitmaps]
    static let forbiddenExit: VMExitControls = [.loadPAT, .loadEFER, .loadPerfGlobalCtrl]

    struct Context {
        let vmx: VirtualVMX
        let vmcs01: VMCS
        /// The processor's capabilities (VMCS02 is checked against these) and what nested VMX
        /// offers (vmcs12 is checked against these).
        let processor: VMXCapabilities
        let offered: VMXCapabilities
        let l1: L1Memory
    }

    static func violations(v12 vmcs12: VMCS12, _ c: Context) -> [String] {
        guard let v02 = vmcs12.vmcs02 else { return ["L2 ran but its vmcs12 has no VMCS02"] }
        let g = vmcs12.vmcs
        var out: [String] = []
        func field32(_ v: VMCS, _ f: VMCSField) -> UInt32 { UInt32(truncatingIfNeeded: v[f]) }

        // vmcs12 as VM entry accepted it: within the offered TRUE capability MSRs.
        let pairs: [(VMCSField, UInt32, String)] = [
            (.pinBasedControls, MSRIndex.vmxTruePinbasedControls, "pin-based"),
            (.primaryProcessorBasedControls, MSRIndex.vmxTrueProcbasedControls, "primary"),
            (.exitControls, MSRIndex.vmxTrueExitControls, "VM-exit"),
            (.entryControls, MSRIndex.vmxTrueEntryControls, "VM-entry"),
        ]
        let primary12 = PrimaryProcessorBasedControls(rawValue: field32(g, .primaryProcessorBasedControls))
        for (f, msr, name) in pairs {
            if !VMXCapabilities.conforms(field32(g, f), to: c.offered.msr(msr) ?? 0) {
                out.append("vmcs12 \(name) controls 0x\(hex(g[f])) are outside what nested VMX offers (IA32_VMX_TRUE_* 0x\(hex(c.offered.msr(msr) ?? 0))) yet L2 ran")
            }
            if !VMXCapabilities.conforms(field32(v02, f), to: c.processor.msr(msr) ?? 0) {
                out.append("VMCS02 \(name) controls 0x\(hex(v02[f])) are outside the processor's allowed-0/allowed-1 settings")
            }
        }
        if primary12.contains(.activateSecondaryControls),
           !VMXCapabilities.conforms(field32(g, .secondaryProcessorBasedControls), to: c.offered.msr(MSRIndex.vmxProcbasedControls2) ?? 0) {
            out.append("vmcs12 secondary controls 0x\(hex(g[.secondaryProcessorBasedControls])) are not offered yet L2 ran")
        }
        if !VMXCapabilities.conforms(field32(v02, .secondaryProcessorBasedControls), to: c.processor.msr(MSRIndex.vmxProcbasedControls2) ?? 0) {
            out.append("VMCS02 secondary controls 0x\(hex(v02[.secondaryProcessorBasedControls])) are not the processor's")
        }

        // VMCS02 = vmcs12 + L0's additions, minus nothing L0 must keep.
        let secondary12 = primary12.contains(.activateSecondaryControls)
            ? SecondaryProcessorBasedControls(rawValue: field32(g, .secondaryProcessorBasedControls)) : []
        let pin02 = PinBasedControls(rawValue: field32(v02, .pinBasedControls))
        let primary02 = PrimaryProcessorBasedControls(rawValue: field32(v02, .primaryProcessorBasedControls))
        let secondary02 = SecondaryProcessorBasedControls(rawValue: field32(v02, .secondaryProcessorBasedControls))
        let exit02 = VMExitControls(rawValue: field32(v02, .exitControls))
        let entry02 = VMEntryControls(rawValue: field32(v02, .entryControls))
        let pin12 = PinBasedControls(rawValue: field32(g, .pinBasedControls))
        let exit12 = VMExitControls(rawValue: field32(g, .exitControls))
        let entry12 = VMEntryControls(rawValue: field32(g, .entryControls))
        func extra(_ name: String, _ v02: UInt32, _ v12: UInt32, _ added: UInt32, _ forbidden: UInt32) {
            let unrequested = v02 & ~v12 & ~added
            if unrequested != 0 { out.append("VMCS02 \(name) controls have bits 0x\(hex(UInt64(unrequested))) neither vmcs12 asked for nor L0 adds") }
            if v02 & forbidden != 0 { out.append("VMCS02 \(name) controls have bits 0x\(hex(UInt64(v02 & forbidden))) L0 must never set") }
        }
        extra("pin-based", pin02.rawValue, pin12.rawValue, 0, forbiddenPin.rawValue)
        extra("primary", primary02.rawValue, primary12.rawValue, l0AddedPrimary.rawValue, forbiddenPrimary.rawValue)
        extra("secondary", secondary02.rawValue, secondary12.rawValue, l0AddedSecondary.rawValue, 0)
        extra("VM-exit", exit02.rawValue, exit12.rawValue, l0AddedExit.rawValue, forbiddenExit.rawValue)
        extra("VM-entry", entry02.rawValue, entry12.rawValue, l0AddedEntry.rawValue, 0)
        // What vmcs12 asked for that changes L2's behaviour (not merely its exits) is kept.
        let keptPin: PinBasedControls = [.externalInterruptExiting, .nmiExiting, .virtualNMIs, .activateVMXPreemptionTimer]
        if !pin02.isSuperset(of: pin12.intersection(keptPin)) { out.append("VMCS02 dropped vmcs12's pin-based controls 0x\(hex(UInt64(pin12.intersection(keptPin).subtracting(pin02).rawValue)))") }
        let keptSecondary: SecondaryProcessorBasedControls = [.unrestrictedGuest, .virtualizeAPICAccesses, .enableRDTSCP, .enableINVPCID, .descriptorTableExiting, .wbinvdExiting]
        if !secondary02.isSuperset(of: secondary12.intersection(keptSecondary)) { out.append("VMCS02 dropped vmcs12's secondary controls 0x\(hex(UInt64(secondary12.intersection(keptSecondary).subtracting(secondary02).rawValue)))") }
        if entry02.contains(.ia32eModeGuest) != entry12.contains(.ia32eModeGuest) {
            out.append("VMCS02's \"IA-32e mode guest\" (\(entry02.contains(.ia32eModeGuest))) is not vmcs12's")
        }
        if !secondary02.contains(.enableEPT) { out.append("VMCS02 runs L2 without EPT: L2 would reach host-physical memory directly") }

        // Addresses the processor uses.
        let vpid = v02[.virtualProcessorIdentifier]
        if vpid == 0 || vpid == c.vmcs01[.virtualProcessorIdentifier] {
            out.append("VMCS02's VPID \(vpid) is 0 or VMCS01's: L2's translations would mix with L1's")
        }
        let pool = c.vmx.ept02.pool
        let eptp02 = EPTPointer(v02[.eptPointer])
        if secondary12.contains(.enableEPT) {
            let root = eptp02.rootAddress(physicalAddressBits: c.processor.physicalAddressBits)
            if root < pool.poolBase || root >= pool.poolEnd || eptp02.levels != 4 || eptp02.memoryType != 6 {
                out.append("VMCS02's EPTP 0x\(hex(eptp02.raw)) is not a 4-level WB root in L0's EPT02 pool")
            }
            if c.vmx.ept02.roots[EPT02.key(EPTPointer(g[.eptPointer]))] != root {
                out.append("VMCS02's EPTP 0x\(hex(eptp02.raw)) is not the EPT02 root L0 keeps for EPTP12 0x\(hex(g[.eptPointer]))")
            }
        } else if eptp02.raw != c.vmcs01[.eptPointer] {
            out.append("vmcs12 without EPT but VMCS02's EPTP 0x\(hex(eptp02.raw)) is not EPT01's 0x\(hex(c.vmcs01[.eptPointer]))")
        }
        if primary02.contains(.useTPRShadow) {
            let a = v02[.virtualAPICAddress]
            let page = a & ~0xFFF
            let ok = (c.l1.isRAM(page, length: 4096) && a == g[.virtualAPICAddress]) || page == c.vmx.pages.scratch
            if !ok { out.append("VMCS02's virtual-APIC address 0x\(hex(a)) is neither vmcs12's L1 RAM page (0x\(hex(g[.virtualAPICAddress]))) nor L0's scratch page") }
        }
        if secondary02.contains(.vmcsShadowing) {
            if v02[.vmreadBitmapAddress] != c.vmx.pages.vmreadBitmap || v02[.vmwriteBitmapAddress] != c.vmx.pages.vmwriteBitmap {
                out.append("VMCS02's VMREAD/VMWRITE bitmaps (0x\(hex(v02[.vmreadBitmapAddress])), 0x\(hex(v02[.vmwriteBitmapAddress]))) are not L0's copies")
            }
            if g[.vmcsLinkPointer] == ~0 ? v02[.vmcsLinkPointer] != ~0 : v02[.vmcsLinkPointer] != c.vmx.pages.shadowLink {
                out.append("VMCS02's link pointer 0x\(hex(v02[.vmcsLinkPointer])) is neither ~0 nor L0's link page for vmcs12's 0x\(hex(g[.vmcsLinkPointer]))")
            }
        } else if v02[.vmcsLinkPointer] != ~0 {
            out.append("VMCS02 without VMCS shadowing has link pointer 0x\(hex(v02[.vmcsLinkPointer]))")
        }
        for f in [VMCSField.entryMSRLoadCount, .exitMSRStoreCount, .exitMSRLoadCount] where v02[f] != 0 {
            out.append("VMCS02's \(f) is \(v02[f]): the processor would process an MSR list L0 did not vet")
        }
        for f in [VMCSField.cr0GuestHostMask, .cr4GuestHostMask, .cr0ReadShadow, .cr4ReadShadow, .exceptionBitmap,
                  .pageFaultErrorCodeMask, .pageFaultErrorCodeMatch, .apicAccessAddress] where v02[f] != g[f] {
            out.append("VMCS02's \(f) 0x\(hex(v02[f])) is not vmcs12's 0x\(hex(g[f]))")
        }
        for e in VMCSFieldTable.entries where e.supported && e.field.type == .hostState && v02[e.field] != c.vmcs01[e.field] {
            out.append("VMCS02's host field \(e.field) 0x\(hex(v02[e.field])) is not VMCS01's")
        }
        // The processor's own control and host-state checks (§27.2) on VMCS02. The one on memory
        // (TPR threshold against the VTPR) is left out: L2 changes the VTPR while it runs (TPR-
        // below-threshold exits), and at the entry it held or that entry failed (a violation).
        let input = VMEntryCheckInput(vmcs: v02, capabilities: c.processor, readPhysical32: { _ in ~0 }, readPhysical64: { _ in nil })
        if let f = input.firstControlOrHostFailure { out.append("VMCS02 fails the processor's entry checks: \(f)") }
        return out
    }
}
