import CPU

/// INVEPT and INVVPID from L1 (SDM Vol. 3C ch. 31 "INVEPT", "INVVPID"; §29.4.3.1): the
/// descriptor and type checks (VMfail 28), then what L0 has cached for L1's EPTPs and VPIDs —
/// EPT02 hierarchies, VPID02 translations — dropped with the processor's own INVEPT/INVVPID.
extension VirtualVMX {
    public func invept(type: UInt64, descriptor: (low: UInt64, high: UInt64)) -> VMXRootResult {
        switch INVEPTType(rawValue: type) {
        case .singleContext:
            let eptp12 = EPTPointer(descriptor.low)
            guard eptp12.isValid(for: capabilities) else {
                nested.note("INVEPT: VMfail 28 — single-context EPTP 0x\(hex(descriptor.low)) would fail VM entry (SDM Vol. 3C §27.2.1.1)")
                return .fail(.invalidINVEPTOrINVVPIDOperand)
            }
            for eptp02 in ept02.drop(eptp12) { try? processor.invept(.singleContext, eptp: eptp02) }
        case .allContext:
            ept02.dropAll()
            try? processor.invept(.allContext, eptp: EPTPointer(0))
        case nil:
            nested.note("INVEPT: VMfail 28 — type \(type) is not supported (IA32_VMX_EPT_VPID_CAP bits 25, 26)")
            return .fail(.invalidINVEPTOrINVVPIDOperand)
        }
        return .succeed
    }

    public func invvpid(type: UInt64, descriptor: (low: UInt64, high: UInt64)) -> VMXRootResult {
        guard let t = INVVPIDType(rawValue: type), capabilities.invvpidTypes & (1 << t.rawValue) != 0 else {
            nested.note("INVVPID: VMfail 28 — type \(type) is not supported (IA32_VMX_EPT_VPID_CAP bits 40–43)")
            return .fail(.invalidINVEPTOrINVVPIDOperand)
        }
        let d = INVVPIDDescriptor(low: descriptor.low, linearAddress: descriptor.high)
        guard d.reservedBitsClear else {
            nested.note("INVVPID: VMfail 28 — descriptor bits 63:16 are 0x\(hex(d.low >> 16)), not 0")
            return .fail(.invalidINVEPTOrINVVPIDOperand)
        }
        if t != .allContext && d.vpid == 0 {
            nested.note("INVVPID: VMfail 28 — VPID 0000H with type \(type)")
            return .fail(.invalidINVEPTOrINVVPIDOperand)
        }
        if t == .individualAddress && !CanonicalAddress.isCanonical(d.linearAddress, width: capabilities.linearAddressBits) {
            nested.note("INVVPID: VMfail 28 — linear address 0x\(hex(d.linearAddress)) is not canonical")
            return .fail(.invalidINVEPTOrINVVPIDOperand)
        }
        let targets: [UInt16] = t == .allContext ? Array(vpid02.values) : vpid02[d.vpid].map { [$0] } ?? []
        for vpid in targets {
            let mapped = INVVPIDDescriptor(vpid: vpid, linearAddress: d.linearAddress)
            try? processor.invvpid(t == .allContext ? .singleContext : t, mapped)
        }
        return .succeed
    }
}
