import CPU

/// SDM Vol. 3C §28.5 "Loading Host State" (and §28.6, §27.8): vmcs12's host-state area becomes
/// L1's state — which lives in VMCS01's guest-state area — as the table-like steps below.
extension VirtualVMX {
    /// §28.5.1: bits of CR0 a VM exit does not modify (ET, CD, NW, 63:32, 28:19, 17, 15:6).
    static let cr0Unmodified: UInt64 = 0xFFFF_FFFF_0000_0000 | CR0.et | CR0.cd | CR0.nw | 0x1FF8_0000 | (1 << 17) | 0xFFC0

    /// The host segment registers (§28.5.2): selector field, base field (0 for the ones
    /// without), VMCS01 guest fields, and the attributes the SDM fixes.
    struct HostSegment {
        let selector: VMCSField
        let base: VMCSField?
        let fields: GuestStateArea.SegmentFields
        let code: Bool
    }
    static let hostSegments: [HostSegment] = [
        HostSegment(selector: .hostESSelector, base: nil, fields: GuestStateArea.segmentFields[0].1, code: false),
        HostSegment(selector: .hostCSSelector, base: nil, fields: GuestStateArea.segmentFields[1].1, code: true),
        HostSegment(selector: .hostSSSelector, base: nil, fields: GuestStateArea.segmentFields[2].1, code: false),
        HostSegment(selector: .hostDSSelector, base: nil, fields: GuestStateArea.segmentFields[3].1, code: false),
        HostSegment(selector: .hostFSSelector, base: .hostFSBase, fields: GuestStateArea.segmentFields[4].1, code: false),
        HostSegment(selector: .hostGSSelector, base: .hostGSBase, fields: GuestStateArea.segmentFields[5].1, code: false),
    ]

    /// Loads vmcs12's host state into L1 (VMCS01's guest-state area), then the VM-exit MSR-load
    /// list in that context. False after a VMX abort (the list failed, or a PAE host's PDPTEs
    /// are invalid).
    func loadHostState(from v12: VMCS12, exitDueToNMI: Bool) -> Bool {
        let g = v12.vmcs, d = vmcs01
        let exit = g.exitControls
        let host64 = exit.contains(.hostAddressSpaceSize)
        let width: UInt64 = host64 ? ~0 : 0xFFFF_FFFF
        let l2CR0 = v12.vmcs02?[.guestCR0] ?? d[.guestCR0]
        let l2EFER = v12.vmcs02?[.guestIA32EFER] ?? d[.guestIA32EFER]

        // §28.5.1: control registers, debug registers, MSRs.
        d[.guestCR0] = (g[.hostCR0] & ~Self.cr0Unmodified) | (l2CR0 & Self.cr0Unmodified) | capabilities.cr0Fixed0
        d[.guestCR3] = g[.hostCR3]
        d[.guestCR4] = g[.hostCR4] | capabilities.cr4Fixed0
        d[.guestDR7] = 0x400
        d[.guestIA32DebugCtl] = 0
        d[.guestIA32SysenterCS] = g[.hostIA32SysenterCS] & 0xFFFF_FFFF
        d[.guestIA32SysenterESP] = g[.hostIA32SysenterESP] & width
        d[.guestIA32SysenterEIP] = g[.hostIA32SysenterEIP] & width
        if exit.contains(.loadPAT) { d[.guestIA32PAT] = g[.hostIA32PAT] }
        var efer = exit.contains(.loadEFER) ? g[.hostIA32EFER] : l2EFER
        if !exit.contains(.loadEFER) { efer = host64 ? efer | EFER.lma | EFER.lme : efer & ~(EFER.lma | EFER.lme) }
        d[.guestIA32EFER] = efer
        if host64 { d.entryControls.insert(.ia32eModeGuest) } else { d.entryControls.remove(.ia32eModeGuest) }
        // L1's view of the CR bits L0 owns: CR0.NE as loaded, CR0.PE/PG and CR4.VMXE set (VMX
        // operation fixes them).
        d[.cr0ReadShadow] = (d[.cr0ReadShadow] & ~d[.cr0GuestHostMask]) | (d[.guestCR0] & d[.cr0GuestHostMask])
        d[.cr4ReadShadow] = (d[.cr4ReadShadow] & ~d[.cr4GuestHostMask]) | (d[.guestCR4] & d[.cr4GuestHostMask])

        // §28.5.2: segment and descriptor-table registers.
        for s in Self.hostSegments {
            let selector = UInt16(truncatingIfNeeded: g[s.selector])
            let base = s.base.map { g[$0] & width } ?? 0
            var ar: UInt32
            if s.code {
                ar = 0xB | 1 << 4 | 1 << 7 | 1 << 15 | (host64 ? 1 << 13 : 1 << 14)        // type 11, S, P, G; L or D/B
            } else if selector == 0 && s.selector != .hostSSSelector {
                ar = 1 << 16                                                            // unusable
            } else {
                ar = 0x3 | 1 << 4 | 1 << 7 | 1 << 14 | 1 << 15 | (selector == 0 ? 1 << 16 : 0)
            }
            GuestStateArea.store(GuestStateArea.Segment(selector: selector, base: base, limit: 0xFFFF_FFFF, accessRights: ar),
                                 s.fields, into: d)
        }
        GuestStateArea.store(GuestStateArea.Segment(selector: UInt16(truncatingIfNeeded: g[.hostTRSelector]),
                                                    base: g[.hostTRBase] & width, limit: 0x67, accessRights: 0xB | 1 << 7),
                             GuestStateArea.trFields, into: d)
        GuestStateArea.store(.unusable, GuestStateArea.ldtrFields, into: d)
        d[.guestGDTRBase] = g[.hostGDTRBase] & width; d[.guestGDTRLimit] = 0xFFFF
        d[.guestIDTRBase] = g[.hostIDTRBase] & width; d[.guestIDTRLimit] = 0xFFFF

        // §28.5.3: RIP, RSP, RFLAGS.
        d[.guestRIP] = g[.hostRIP] & width
        d[.guestRSP] = g[.hostRSP] & width
        d[.guestRFLAGS] = 2

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
        d[.guestActivityState] = UInt64(ActivityState.active.rawValue)
        d.guestInterruptibility = exitDueToNMI ? .blockingByNMI : d.guestInterruptibility.intersection(.blockingByNMI)
        d[.guestPendingDebugExceptions] = 0
        d.entryInterruption = .none
        transitionFlush(g)
        updateL1VMCSShadowing()

        // §28.6: the VM-exit MSR-load list, in L1's context.
        let loads = msrList(at: g[.exitMSRLoadAddress], count: g[.exitMSRLoadCount])
        if let f = processor.loadMSRList(loads.entries, inGuestContextOf: d) ?? loads.failure {
            _ = abort(v12, .loadingHostMSRsFailed, "VM-exit MSR-load entry \(f.entryNumber)")
            return false
        }
        return true
    }
}
