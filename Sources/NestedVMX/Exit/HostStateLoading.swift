import CPU

/// SDM Vol. 3C §28.5 "Loading Host State" (and §28.6, §27.8): vmcs12's host-state area becomes
/// L1's state — which lives in VMCS01's guest-state area — as the table-like steps below.
extension VirtualVMX {
    /// §28.5.1: bits of CR0 a VM exit does not modify (ET, CD, NW, 63:32, 28:19, 17, 15:6).
    static let cr0Unmodified: UInt64 = 0xFFFF_FFFF_0000_0000 | CR0.et | CR0.cd | CR0.nw | 0x1FF8_0000 | (1 << 17) | 0xFFC0

    /// Loads vmcs12's host state into L1 (VMCS01's guest-state area), then the VM-exit MSR-load
    /// list in that context. False after a VMX abort (the list failed, or a PAE host's PDPTEs
    /// are invalid). Every field is read from vmcs12 once and moved by its precomputed table
    /// index (`FieldIndices`); values written are already within their fields' widths.
    func loadHostState(from v12: VMCS12, exitDueToNMI: Bool) -> Bool {
        let g = v12.vmcs, d = vmcs01
        let exit = g.exitControls
        let host64 = exit.contains(.hostAddressSpaceSize)
        let width: UInt64 = host64 ? ~0 : 0xFFFF_FFFF
        let v02 = v12.vmcs02 ?? d
        let l2CR0 = v02[index: ix.layout.cr0], l2EFER = v02[index: ix.layout.efer]

        // §28.5.1: control registers, debug registers, MSRs.
        let cr0 = (g[index: ix.hostCR0] & ~Self.cr0Unmodified) | (l2CR0 & Self.cr0Unmodified) | capabilities.cr0Fixed0
        let cr4 = g[index: ix.hostCR4] | capabilities.cr4Fixed0
        let cr3 = g[index: ix.hostCR3]
        d[index: ix.layout.cr0] = cr0
        d[index: ix.layout.cr3] = cr3
        d[index: ix.layout.cr4] = cr4
        d[index: ix.layout.dr7] = 0x400
        d[index: ix.layout.debugCtl] = 0
        d[index: ix.layout.sysenterCS] = g[index: ix.hostIA32SysenterCS] & 0xFFFF_FFFF
        d[index: ix.layout.sysenterESP] = g[index: ix.hostIA32SysenterESP] & width
        d[index: ix.layout.sysenterEIP] = g[index: ix.hostIA32SysenterEIP] & width
        if exit.contains(.loadPAT) { d[index: ix.layout.pat] = g[index: ix.hostIA32PAT] }
        var efer = exit.contains(.loadEFER) ? g[index: ix.hostIA32EFER] : l2EFER
        if !exit.contains(.loadEFER) { efer = host64 ? efer | EFER.lma | EFER.lme : efer & ~(EFER.lma | EFER.lme) }
        d[index: ix.layout.efer] = efer
        if host64 { d.entryControls.insert(.ia32eModeGuest) } else { d.entryControls.remove(.ia32eModeGuest) }
        // L1's view of the CR bits L0 owns: CR0.NE as loaded, CR0.PE/PG and CR4.VMXE set (VMX
        // operation fixes them).
        let cr0Mask = d[index: ix.cr0GuestHostMask], cr4Mask = d[index: ix.cr4GuestHostMask]
        d[index: ix.cr0ReadShadow] = (d[index: ix.cr0ReadShadow] & ~cr0Mask) | (cr0 & cr0Mask)
        d[index: ix.cr4ReadShadow] = (d[index: ix.cr4ReadShadow] & ~cr4Mask) | (cr4 & cr4Mask)

        // §28.5.2: segment and descriptor-table registers. CS: type 11, S, P, G, and L (IA-32e
        // host) or D/B; SS, and the others with a non-null selector: type 3, S, P, D/B, G (SS
        // unusable with a null selector); the others with a null selector unusable.
        func load(_ s: VMCSLayout.Segment, selector: UInt64, base: UInt64, limit: UInt64, accessRights: UInt64) {
            d[index: s.selector] = selector; d[index: s.base] = base
            d[index: s.limit] = limit; d[index: s.accessRights] = accessRights
        }
        let data: UInt64 = 0x3 | 1 << 4 | 1 << 7 | 1 << 14 | 1 << 15, unusable: UInt64 = 1 << 16
        func loadData(_ s: VMCSLayout.Segment, selector: Int, base: UInt64 = 0) {
            let sel = g[index: selector] & 0xFFFF
            load(s, selector: sel, base: base, limit: 0xFFFF_FFFF, accessRights: sel == 0 ? unusable : data)
        }
        load(ix.layout.cs, selector: g[index: ix.hostCSSelector] & 0xFFFF, base: 0, limit: 0xFFFF_FFFF,
             accessRights: 0xB | 1 << 4 | 1 << 7 | 1 << 15 | (host64 ? 1 << 13 : 1 << 14))
        let ssSelector = g[index: ix.hostSSSelector] & 0xFFFF
        load(ix.layout.ss, selector: ssSelector, base: 0, limit: 0xFFFF_FFFF, accessRights: data | (ssSelector == 0 ? unusable : 0))
        loadData(ix.layout.es, selector: ix.hostESSelector)
        loadData(ix.layout.ds, selector: ix.hostDSSelector)
        loadData(ix.layout.fs, selector: ix.hostFSSelector, base: g[index: ix.hostFSBase] & width)
        loadData(ix.layout.gs, selector: ix.hostGSSelector, base: g[index: ix.hostGSBase] & width)
        load(ix.layout.tr, selector: g[index: ix.hostTRSelector] & 0xFFFF, base: g[index: ix.hostTRBase] & width, limit: 0x67,
             accessRights: 0xB | 1 << 7)
        load(ix.layout.ldtr, selector: 0, base: 0, limit: 0, accessRights: unusable)
        d[index: ix.layout.gdtrBase] = g[index: ix.hostGDTRBase] & width; d[index: ix.layout.gdtrLimit] = 0xFFFF
        d[index: ix.layout.idtrBase] = g[index: ix.hostIDTRBase] & width; d[index: ix.layout.idtrLimit] = 0xFFFF

        // §28.5.3: RIP, RSP, RFLAGS.
        d[index: ix.layout.rip] = g[index: ix.hostRIP] & width
        d[index: ix.layout.rsp] = g[index: ix.hostRSP] & width
        d[index: ix.layout.rflags] = 2

        // §28.5.4: a PAE host (not IA-32e mode) gets its PDPTEs from host CR3.
        if !host64 && d[.guestCR4] & CR4.pae != 0 && d[.guestCR0] & CR0.pg != 0 {
            let base = d[.guestCR3] & 0xFFFF_FFE0
            let fields: [VMCSField] = [.guestPDPTE0, .guestPDPTE1, .guestPDPTE2, .guestPDPTE3]
            for (k, f) in fields.enumerated() {
                let e = l1.load(UInt64.self, at: base + UInt64(k) * 8) ?? ~0
                if e & 1 != 0 && e & (0x1E6 | ~((UInt64(1) << UInt64(capabilities.physicalAddressBits)) - 1)) != 0 {
                    _ = abort(v12, .hostPDPTECheckFailed, "host PDPTE \(k) = 0x\(hex(e)) sets reserved bits")
                    return false
                }
                d[f] = e
            }
        }

        // §28.5.5 (non-register state): active, no STI/MOV-SS blocking, no pending debug
        // exceptions; blocking by NMI after an exit caused by an NMI (§26.2, NMI exiting).
        d[index: ix.layout.activity] = UInt64(ActivityState.active.rawValue)
        d.guestInterruptibility = exitDueToNMI ? .blockingByNMI : d.guestInterruptibility.intersection(.blockingByNMI)
        d[index: ix.layout.pendingDebugExceptions] = 0
        d.entryInterruption = .none
        transitionFlush(g)
        updateL1VMCSShadowing()

        // §28.6: the VM-exit MSR-load list, in L1's context.
        let loads = msrList(at: g[index: ix.exitMSRLoadAddress], count: g[index: ix.layout.exitMSRLoadCount])
        if let f = processor.loadMSRList(loads.entries, inGuestContextOf: d) ?? loads.failure {
            _ = abort(v12, .loadingHostMSRsFailed, "VM-exit MSR-load entry \(f.entryNumber)")
            return false
        }
        return true
    }
}
