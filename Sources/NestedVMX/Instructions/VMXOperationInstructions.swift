import CPU

/// VMXON, VMXOFF and the checks every VMX instruction makes before reading its operands (SDM
/// Vol. 3C ch. 31 "VMXON—Enter VMX Operation", "VMXOFF—Leave VMX Operation", the Operation
/// sections of the others; §24.7 "Enabling and Entering VMX Operation", §24.8 "Restrictions
/// on VMX Operation").
extension VirtualVMX {
    /// IA32_FEATURE_CONTROL bits (SDM Vol. 4 Table 2-2): lock 0, VMX inside SMX 1, VMX
    /// outside SMX 2.
    static let featureControlLock: UInt64 = 1 << 0
    static let featureControlVMXOutsideSMX: UInt64 = 1 << 2

    /// The checks before operands (everything ahead of "addr ← …" in the pseudocode). The
    /// processor has already raised #UD for real, virtual-8086 and compatibility mode.
    public func check(_ instruction: VMXInstruction, cpl: Int) -> VMXRootResult? {
        if instruction == .vmxon {
            // §31 VMXON: #UD with CR4.VMXE = 0 (L1's view); VMfail in VMX root operation.
            guard l1CR4 & CR4.vmxe != 0 else { return .undefinedOpcode }
            if inVMXOperation { return cpl > 0 ? .generalProtection : .fail(.vmxonInVMXRoot) }
            if cpl > 0 { return .generalProtection }
            let cr0 = l1CR0, cr4 = l1CR4, c = capabilities
            if cr0 & c.cr0Fixed0 != c.cr0Fixed0 || cr0 & ~c.cr0Fixed1 != 0 || cr4 & c.cr4Fixed0 != c.cr4Fixed0
                || cr4 & ~c.cr4Fixed1 != 0 {
                nested.note("VMXON: #GP(0) — CR0 0x\(hex(cr0)) / CR4 0x\(hex(cr4)) do not have the bits IA32_VMX_CR0/CR4_FIXED0/1 fix (SDM Vol. 3C §24.8)")
                return .generalProtection
            }
            let fc = processor.msr.featureControl
            if fc & Self.featureControlLock == 0 || fc & Self.featureControlVMXOutsideSMX == 0 {
                nested.note("VMXON: #GP(0) — IA32_FEATURE_CONTROL = 0x\(hex(fc)): lock (bit 0) and VMX outside SMX (bit 2) must be 1 (SDM Vol. 3C §24.7)")
                return .generalProtection
            }
            return nil
        }
        guard inVMXOperation else { return .undefinedOpcode }
        if cpl > 0 { return .generalProtection }
        return nil
    }

    /// VMXON m64: the VMXON region must be 4-KByte aligned within the physical-address width
    /// and begin with the VMCS revision identifier (bit 31 clear); then VMX operation starts
    /// with no current VMCS, INIT blocked (§24.8).
    public func vmxon(region: UInt64) -> VMXRootResult {
        guard Self.alignedWithinWidth(region, capabilities.physicalAddressBits) else {
            nested.note("VMXON: VMfailInvalid — VMXON pointer 0x\(hex(region)) is not 4-KByte aligned within MAXPHYADDR")
            return .failInvalid
        }
        let revision = l1.load(UInt32.self, at: region) ?? ~0
        guard revision == VMXCapabilities.revisionIdentifier else {
            nested.note("VMXON: VMfailInvalid — the VMXON region holds revision 0x\(hex(UInt64(revision))), not 0x\(hex(UInt64(VMXCapabilities.revisionIdentifier))) (IA32_VMX_BASIC[30:0])")
            return .failInvalid
        }
        vmxonRegion = region
        current = nil
        inVMXOperation = true
        holdFixedBits(true)
        updateL1VMCSShadowing()
        return .succeed
    }

    /// VMXOFF: leaves VMX operation (INIT no longer blocked). Active vmcs12s are written back
    /// (software should VMCLEAR them first; writing them back is always allowed) and EPT02 and
    /// the VMCS02s are dropped.
    public func vmxoff() -> VMXRootResult {
        holdFixedBits(false)
        inVMXOperation = false
        current = nil
        vmxonRegion = ~0
        cache.deactivateAll(to: l1)
        ept02.dropAll()
        updateL1VMCSShadowing()
        return .succeed
    }

    static func alignedWithinWidth(_ a: UInt64, _ bits: Int) -> Bool { a & 0xFFF == 0 && a >> UInt64(bits) == 0 }
}

func hex(_ v: UInt64) -> String { String(v, radix: 16, uppercase: true) }
