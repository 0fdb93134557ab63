/// Where the processor finds the VMCS a VMCS link pointer names (SDM Vol. 3C §25.2 "Format of
/// the VMCS Region", §25.10 "VMCS Types: Ordinary and Shadow").
///
/// A VMCS here is a Swift object whose memory image is implementation-specific (§25.2), so a
/// physical address alone does not lead to its fields. L0 places each VMCS it wants the
/// processor to reach by address — the shadow VMCSs of "VMCS shadowing" — in a region with
/// `registerVMCS(_:at:)`, which also writes the region's first word (revision identifier and
/// shadow-VMCS indicator) to memory, as the VM-entry checks on the link pointer read it
/// (§27.3.1.5). VM entry then resolves the link pointer through this registry once.
extension VMCS {
    /// Bit 31 of the region's first word: 1 for a shadow VMCS, 0 for an ordinary one (§25.10).
    public var shadowVMCSIndicator: Bool {
        get { revision >> 31 != 0 }
        set { revision = (revision & 0x7FFF_FFFF) | (newValue ? 1 << 31 : 0) }
    }
}

/// One state of a processor's VMCS registry: replaced at every change, so a VMCS holding the
/// token its controls were unpacked under (`VMCS.unpackedUnder`) knows by identity that the
/// same processor's registry has not changed since.
final class VMCSRegistryToken {}

extension Processor {
    /// Places `vmcs` in the 4-KByte VMCS region at physical `address`: the processor's VMREAD
    /// and VMWRITE in non-root operation reach it when a link pointer names `address`. Writes
    /// the revision identifier and shadow-VMCS indicator to the region's first 4 bytes.
    public func registerVMCS(_ vmcs: VMCS, at address: UInt64) {
        if vmcsRegions[address] !== vmcs { regionsChanged() }   // the shadow VMCS is unpacked with the controls
        vmcsRegions[address] = vmcs
        try? memory.store(vmcs.revision, at: address)
    }

    /// Places `vmcs` at `address` as a shadow VMCS whatever its own indicator says: L0 lets a
    /// guest hypervisor's VMREAD/VMWRITE reach an ordinary VMCS of its through a region of
    /// L0's own (nested VMX). The region's first word gets the revision with bit 31 set.
    public func registerVMCS(_ vmcs: VMCS, at address: UInt64, asShadow: Bool) {
        if vmcsRegions[address] !== vmcs { regionsChanged() }
        vmcsRegions[address] = vmcs
        let word = asShadow ? vmcs.revision | 1 << 31 : vmcs.revision & 0x7FFF_FFFF
        try? memory.store(word, at: address)
    }

    /// Forgets the VMCS in the region at `address` (after L0's VMCLEAR of it, say).
    public func unregisterVMCS(at address: UInt64) {
        if vmcsRegions[address] != nil { regionsChanged() }
        vmcsRegions[address] = nil
    }

    /// Controls unpacked before (the resident ones, those cached in each VMCS) may name a
    /// shadow VMCS that is no longer the registered one.
    private func regionsChanged() {
        residentVMCS = nil
        vmcsRegistryToken = VMCSRegistryToken()
    }

    /// The VMCS registered at `address`, if any.
    public func registeredVMCS(at address: UInt64) -> VMCS? { vmcsRegions[address] }

    /// At VM entry (§27.3.1.5 has checked the link pointer): with "VMCS shadowing" = 1, the
    /// VMREAD/VMWRITE bitmaps (§25.6.15) and the shadow VMCS the link pointer names.
    func unpackShadowingControls(_ v: VMCS, into c: inout NonRootControls) {
        c.currentVMCS = v
        c.vmcsLinkPointer = v[.vmcsLinkPointer]
        guard c.secondary.contains(.vmcsShadowing) else {
            c.shadowVMCS = nil
            return
        }
        c.vmreadBitmap = v[.vmreadBitmapAddress]
        c.vmwriteBitmap = v[.vmwriteBitmapAddress]
        c.shadowVMCS = c.vmcsLinkPointer == ~0 ? nil : vmcsRegions[c.vmcsLinkPointer]
    }
}
