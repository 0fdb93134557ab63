import CPU

/// VMCLEAR, VMPTRLD, VMPTRST and the current-VMCS pointer (SDM Vol. 3C ch. 31 "VMCLEAR",
/// "VMPTRLD", "VMPTRST"; §25.1 "VMCS States", §25.11.3 "Initializing a VMCS").
extension VirtualVMX {
    public var hasCurrentVMCS: Bool { current != nil }
    public var currentVMCSPointer: UInt64 { current?.address ?? ~0 }

    /// VMCLEAR m64: address 4-KByte aligned within MAXPHYADDR (VMfail 2), not the VMXON pointer
    /// (VMfail 3); the VMCS's data is written to its region, its launch state becomes clear,
    /// and if it was current there is no current VMCS any more.
    public func vmclear(_ address: UInt64) -> VMXRootResult {
        if let e = pointerOperandError(address, "VMCLEAR", misaligned: .vmclearInvalidAddress,
                                       vmxonPointer: .vmclearVMXONPointer) { return .fail(e) }
        if let v = cache.active(address) {
            v.vmcs.launched = false
            if current === v {
                current = nil
                updateL1VMCSShadowing()
            }
            cache.deactivate(address, to: l1)
        } else {
            l1.store(UInt32(0), at: address + VMCS12.launchStateOffset)
        }
        return .succeed
    }

    /// VMPTRLD m64: address aligned within MAXPHYADDR (VMfail 9), not the VMXON pointer
    /// (VMfail 10), the region's revision identifier ours (VMfail 11; a shadow VMCS may be
    /// made current since VMCS shadowing is offered); the VMCS becomes active and current.
    public func vmptrld(_ address: UInt64) -> VMXRootResult {
        if let e = pointerOperandError(address, "VMPTRLD", misaligned: .vmptrldInvalidAddress,
                                       vmxonPointer: .vmptrldVMXONPointer) { return .fail(e) }
        let word = l1.load(UInt32.self, at: address) ?? ~0
        guard word & 0x7FFF_FFFF == VMXCapabilities.revisionIdentifier,
              word >> 31 == 0 || capabilities.secondary.contains(.vmcsShadowing) else {
            nested.note("VMPTRLD: VMfail 11 — the region at 0x\(hex(address)) holds revision 0x\(hex(UInt64(word))), not 0x\(hex(UInt64(VMXCapabilities.revisionIdentifier))) (IA32_VMX_BASIC[30:0])")
            return .fail(.vmptrldIncorrectRevision)
        }
        let v = cache.activate(address, from: l1)
        // The region's first word is authoritative for the shadow-VMCS indicator (L1 may have
        // changed it while the VMCS was inactive).
        v.vmcs.revision = word
        current = v
        updateL1VMCSShadowing()
        return .succeed
    }

    /// The VMCS-pointer operand checks VMCLEAR and VMPTRLD share (ch. 31 Operation): 4-KByte
    /// aligned within MAXPHYADDR, then not the VMXON pointer — each with its instruction's error.
    func pointerOperandError(_ address: UInt64, _ instruction: String, misaligned: VMInstructionError,
                             vmxonPointer: VMInstructionError) -> VMInstructionError? {
        if !Self.alignedWithinWidth(address, capabilities.physicalAddressBits) {
            nested.note("\(instruction): VMfail \(misaligned.rawValue) — operand 0x\(hex(address)) is not 4-KByte aligned within MAXPHYADDR")
            return misaligned
        }
        if address == vmxonRegion {
            nested.note("\(instruction): VMfail \(vmxonPointer.rawValue) — operand 0x\(hex(address)) is the VMXON pointer")
            return vmxonPointer
        }
        return nil
    }

    /// VMfailValid: the error goes into the current vmcs12's VM-instruction error field (§31.2).
    public func recordFailure(_ error: VMInstructionError) {
        current?.vmcs[.vmInstructionError] = UInt64(error.rawValue)
    }
}
