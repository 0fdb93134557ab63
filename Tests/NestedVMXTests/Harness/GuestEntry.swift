import X86Assembler
@testable import CPU

/// A VMLAUNCH or VMRESUME as L1 observed it: VMfail (the outcome) or a VM exit — including a
/// VM-entry failure, which is a VM exit to the host RIP (SDM Vol. 3C §27.8) — after which L1
/// continued at the exit landing.
struct EntryRecord {
    let outcome: OutcomeRecord
    let exited: Slot
}

extension L1Program {
    /// VMLAUNCH (`launch`) or VMRESUME of the current VMCS. Either way L1 continues after this
    /// code: with `exited` = 1 once its guest has exited, or with the VMfail recorded.
    @discardableResult
    func enter(launch: Bool, restoreGPRs: Bool = false, _ before: () -> Void = {}) -> EntryRecord {
        let r = EntryRecord(outcome: outcomeRecord(), exited: slot())
        let exited = a.label(), done = a.label()
        a.mov(r.exited.memory, 0)
        emitEntry(launch: launch, record: r.outcome, continuation: exited, restoreGPRs: restoreGPRs, before)
        a.jmp(done)
        a.bind(exited)
        a.mov(Globals.fixup.memory, 0)
        a.mov(r.exited.memory, 1)
        a.bind(done)
        return r
    }

    /// HOST_RSP = RSP and the landing's continuation, then (with every status flag set, faults
    /// caught into `record`) `before`, the saved L2 GPRs when `restoreGPRs`, and the
    /// instruction. Falls through only when it VMfails (the outcome recorded).
    func emitEntry(launch: Bool, record: OutcomeRecord, continuation: Label, restoreGPRs: Bool,
                   _ before: () -> Void = {}) {
        let resume = a.label()
        a.mov(rbx, Int64(VMCSField.hostRSP.encoding)); a.vmwrite(rbx, rsp)
        a.mov(rax, continuation); a.mov(qword[Int64(area.continuation)], rax)
        arm(record, resume: resume)
        a.push(vmxStatusFlags | 2); a.popf()
        before()
        if restoreGPRs {
            for r in 0..<16 where r != 4 {
                a.mov(Register(number: UInt8(r), size: 8), qword[Int64(area.savedGPR(UInt8(r)))])
            }
        }
        if launch { a.vmlaunch() } else { a.vmresume() }
        recordStatus(record)
        a.bind(resume)
    }

    /// L2 tells L1 it is done: VMCALL with RAX = `l2DoneMagic` (`runGuest` stops on it).
    func l2Done() {
        a.mov(eax, Int64(Self.l2DoneMagic))
        a.vmcall()
    }
    static let l2DoneMagic: UInt32 = 0x444F_4E45
}
