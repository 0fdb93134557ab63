import CPU

/// Table indices (`VMCSFieldTable.entries`) of the fields virtual VM exits and entries write
/// one by one (SDM Vol. 3C §28.5 host-state loading; §27.3 the VMCS02 update), looked up once
/// per process: they are moved with `VMCS.subscript(index:)`, inlined, instead of mapping an
/// encoding to its index at every access. Each `VirtualVMX` keeps a copy, reached from `self`.
struct FieldIndices {
    static let shared = FieldIndices()

    // Controls and lists.
    // (The control fields, interruptibility and entry-interruption go through VMCS's typed
    // accessors, which inline the same way.)
    let eptPointer = index(.eptPointer), virtualProcessorIdentifier = index(.virtualProcessorIdentifier)
    let virtualAPICAddress = index(.virtualAPICAddress), vmcsLinkPointer = index(.vmcsLinkPointer)
    let vmInstructionError = index(.vmInstructionError)
    let vmreadBitmapAddress = index(.vmreadBitmapAddress), vmwriteBitmapAddress = index(.vmwriteBitmapAddress)
    let exitMSRLoadAddress = index(.exitMSRLoadAddress)
    let cr0GuestHostMask = index(.cr0GuestHostMask), cr4GuestHostMask = index(.cr4GuestHostMask)
    let cr0ReadShadow = index(.cr0ReadShadow), cr4ReadShadow = index(.cr4ReadShadow)
    // Host-state area (§25.5).
    let hostCR0 = index(.hostCR0), hostCR3 = index(.hostCR3), hostCR4 = index(.hostCR4)
    let hostIA32SysenterCS = index(.hostIA32SysenterCS), hostIA32SysenterESP = index(.hostIA32SysenterESP)
    let hostIA32SysenterEIP = index(.hostIA32SysenterEIP)
    let hostIA32PAT = index(.hostIA32PAT), hostIA32EFER = index(.hostIA32EFER)
    let hostESSelector = index(.hostESSelector), hostCSSelector = index(.hostCSSelector)
    let hostSSSelector = index(.hostSSSelector), hostDSSelector = index(.hostDSSelector)
    let hostFSSelector = index(.hostFSSelector), hostGSSelector = index(.hostGSSelector)
    let hostTRSelector = index(.hostTRSelector)
    let hostFSBase = index(.hostFSBase), hostGSBase = index(.hostGSBase), hostTRBase = index(.hostTRBase)
    let hostGDTRBase = index(.hostGDTRBase), hostIDTRBase = index(.hostIDTRBase)
    let hostRIP = index(.hostRIP), hostRSP = index(.hostRSP)
    // Guest-state area (§25.4) and the MSR-list counts: the processor's layout, shared with VM
    // entry and exit.
    let layout = VMCSLayout.shared
}

/// The table index of a field every processor implements (a constant of the field table).
private func index(_ f: VMCSField) -> Int {
    guard let k = VMCSFieldTable.index(of: f) else { preconditionFailure("VMCS field \(f) is not in the field table") }
    return k
}
