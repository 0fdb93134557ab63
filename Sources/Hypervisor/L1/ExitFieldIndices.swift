import CPU

/// The VMCS table indices (`VMCSFieldTable.index(of:)`) of the fields L0 reads or writes at
/// every exit it resolves (SDM Vol. 3C §25.4 guest state, §25.9 exit information), looked up
/// once: `VMCS.subscript(index:)` inlines to a load, or a compare and store, where an access by
/// encoding is an out-of-line call.
struct ExitFieldIndices {
    let guestRIP: Int, guestRFLAGS: Int, guestCSAccessRights: Int
    let exitQualification: Int, exitInstructionLength: Int

    init() {
        func k(_ f: VMCSField) -> Int { VMCSFieldTable.index(of: f)! }
        guestRIP = k(.guestRIP); guestRFLAGS = k(.guestRFLAGS); guestCSAccessRights = k(.guestCSAccessRights)
        exitQualification = k(.exitQualification); exitInstructionLength = k(.exitInstructionLength)
    }
}
