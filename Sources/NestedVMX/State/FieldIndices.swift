import CPU

/// Table indices (`VMCSFieldTable.entries`) of the fields virtual VM exits and entries write
/// one by one (SDM Vol. 3C §28.5 host-state loading; §27.3 the VMCS02 update), looked up once
/// per process: they are moved with `VMCS.subscript(index:)`, inlined, instead of mapping an
/// encoding to its index at every access. Each `VirtualVMX` keeps a copy, reached from `self`.
struct FieldIndices {
    /// The four guest-state fields of one segment register (§25.4.1).
    struct Segment {
        let selector: Int, base: Int, limit: Int, accessRights: Int
        init(_ f: GuestStateArea.SegmentFields) {
            selector = index(f.selector); base = index(f.base); limit = index(f.limit); accessRights = index(f.accessRights)
        }
    }

    static let shared = FieldIndices()

    // Controls and lists.
    // (The control fields, interruptibility and entry-interruption go through VMCS's typed
    // accessors, which inline the same way.)
    let entryMSRLoadCount = index(.entryMSRLoadCount), exitMSRStoreCount = index(.exitMSRStoreCount)
    let eptPointer = index(.eptPointer), virtualProcessorIdentifier = index(.virtualProcessorIdentifier)
    let virtualAPICAddress = index(.virtualAPICAddress), vmcsLinkPointer = index(.vmcsLinkPointer)
    let vmInstructionError = index(.vmInstructionError)
    let vmreadBitmapAddress = index(.vmreadBitmapAddress), vmwriteBitmapAddress = index(.vmwriteBitmapAddress)
    let exitMSRLoadAddress = index(.exitMSRLoadAddress), exitMSRLoadCount = index(.exitMSRLoadCount)
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
    // Guest-state area (§25.4).
    let guestCR0 = index(.guestCR0), guestCR3 = index(.guestCR3), guestCR4 = index(.guestCR4)
    let guestDR7 = index(.guestDR7), guestIA32DebugCtl = index(.guestIA32DebugCtl)
    let guestIA32SysenterCS = index(.guestIA32SysenterCS), guestIA32SysenterESP = index(.guestIA32SysenterESP)
    let guestIA32SysenterEIP = index(.guestIA32SysenterEIP)
    let guestIA32PAT = index(.guestIA32PAT), guestIA32EFER = index(.guestIA32EFER)
    let es = Segment(GuestStateArea.segmentFields[0].1), cs = Segment(GuestStateArea.segmentFields[1].1)
    let ss = Segment(GuestStateArea.segmentFields[2].1), ds = Segment(GuestStateArea.segmentFields[3].1)
    let fs = Segment(GuestStateArea.segmentFields[4].1), gs = Segment(GuestStateArea.segmentFields[5].1)
    let tr = Segment(GuestStateArea.trFields), ldtr = Segment(GuestStateArea.ldtrFields)
    let guestGDTRBase = index(.guestGDTRBase), guestGDTRLimit = index(.guestGDTRLimit)
    let guestIDTRBase = index(.guestIDTRBase), guestIDTRLimit = index(.guestIDTRLimit)
    let guestRIP = index(.guestRIP), guestRSP = index(.guestRSP), guestRFLAGS = index(.guestRFLAGS)
    let guestActivityState = index(.guestActivityState)
    let guestPendingDebugExceptions = index(.guestPendingDebugExceptions)
}

/// The table index of a field every processor implements (a constant of the field table).
private func index(_ f: VMCSField) -> Int {
    guard let k = VMCSFieldTable.index(of: f) else { preconditionFailure("VMCS field \(f) is not in the field table") }
    return k
}
