import CPU

/// VMREAD and VMWRITE of the current vmcs12 (SDM Vol. 3C ch. 31 "VMREAD", "VMWRITE"; field
/// support as IA32_VMX_VMCS_ENUM and the VMCS field table report it, §25.11.2). When L0 shadows
/// vmcs12 for L1 (`updateL1VMCSShadowing`) most accesses never exit: the processor reads and
/// writes the same `VMCS` object through VMCS01's link pointer.
extension VirtualVMX {
    public func vmread(encoding: UInt64) -> Result<UInt64, VMInstructionError> {
        guard let v = current else { return .failure(.unsupportedComponent) }
        let r = v.vmcs.read(encoding: encoding)
        if case .failure(let e) = r {
            nested.note("VMREAD: VMfail \(e.rawValue) — encoding 0x\(hex(encoding)): \(e)")
        }
        return r
    }

    public func vmwrite(encoding: UInt64, value: UInt64) -> VMInstructionError? {
        guard let v = current else { return .unsupportedComponent }
        let e = v.vmcs.write(encoding: encoding, value: value, anyFieldWritable: capabilities.vmwriteAnyField)
        if let e { nested.note("VMWRITE: VMfail \(e.rawValue) — encoding 0x\(hex(encoding)) value 0x\(hex(value)): \(e)") }
        return e
    }

    /// L0 shadows the current vmcs12 for L1 (SDM Vol. 3C §25.10, §31 VMREAD/VMWRITE in VMX
    /// non-root operation): with a current VMCS, VMCS01 turns on "VMCS shadowing" with its link
    /// pointer at an L0 page registered as that vmcs12 and VMREAD/VMWRITE bitmaps of zeros for
    /// every field the table supports (for VMWRITE of exit-information fields only with
    /// IA32_VMX_MISC[29] offered), so L1's accesses go straight to vmcs12; the others exit
    /// and get their VMfail in vmcs12 from `vmread`/`vmwrite`.
    func updateL1VMCSShadowing() {
        let d = vmcs01
        if nested.shadowsVMCS12 && inVMXOperation && !inL2, let v = current {
            // Registered once per vmcs12 made current: the region is L0's and its first word
            // (our revision identifier, bit 31 set) the same for every vmcs12 VMPTRLD accepts.
            if processor.registeredVMCS(at: pages.shadowLink) !== v.vmcs {
                processor.registerVMCS(v.vmcs, at: pages.shadowLink, asShadow: true)
            }
            d.secondaryField.insert(.vmcsShadowing)
            d[index: ix.vmcsLinkPointer] = pages.shadowLink
            d[index: ix.vmreadBitmapAddress] = nested.l1ShadowBitmap
            d[index: ix.vmwriteBitmapAddress] = nested.l1ShadowWriteBitmap
        } else {
            d.secondaryField.remove(.vmcsShadowing)
            d[index: ix.vmcsLinkPointer] = ~0
        }
    }
}
