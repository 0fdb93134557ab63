import X86Assembler
@testable import CPU

/// What one attempted instruction did, as L1 recorded it: the fault it raised (vector and
/// error code) or the arithmetic flags after it and — for VMfailValid — the VM-instruction
/// error (SDM Vol. 3C §31.2 "Conventions").
struct OutcomeRecord {
    let vector: Slot, errorCode: Slot, flags: Slot, instructionError: Slot
}

/// The flags VMX instructions report with (§31.2): CF, PF, AF, ZF, SF, OF.
let vmxStatusFlags: Int64 = 0x8D5

extension L1Program {
    func outcomeRecord() -> OutcomeRecord {
        OutcomeRecord(vector: slot(), errorCode: slot(), flags: slot(), instructionError: slot())
    }

    /// Runs `body` (usually one instruction) with every status flag set beforehand, so that
    /// VMsucceed, VMfailInvalid and VMfailValid each show; a fault in `body` is caught and
    /// recorded instead. For VMfailValid, L1 VMREADs the VM-instruction error (0x4400).
    @discardableResult
    func attempt(_ body: () -> Void) -> OutcomeRecord {
        let r = outcomeRecord()
        let resume = a.label()
        arm(r, resume: resume)
        a.push(vmxStatusFlags | 2); a.popf()
        body()
        recordStatus(r)
        a.bind(resume)
        return r
    }

    /// `attempt` at CPL 3: IRETQ to ring 3 (RFLAGS with every status flag set), `body`, and — if
    /// the body did not fault — a UD2, so L1 always gets back to CPL 0 through a fault.
    @discardableResult
    func attemptAtCPL3(_ body: () -> Void) -> OutcomeRecord {
        let r = outcomeRecord()
        let resume = a.label(), user = a.label()
        arm(r, resume: resume)
        a.mov(rax, rsp)
        a.push(Int64(L1Boot.userData)); a.push(rax); a.push(vmxStatusFlags | 2)
        a.push(Int64(L1Boot.userCode64)); a.mov(rax, user); a.push(rax)
        a.iretq()
        a.bind(user)
        body()
        a.ud2()
        a.bind(resume)
        return r
    }

    /// The fault handler's way back (`L1Boot.emitFaultCommon`): where to continue, on which
    /// stack, and where to record.
    func arm(_ r: OutcomeRecord, resume: Label) {
        a.mov(rax, resume); a.mov(Globals.fixup.memory, rax)
        a.mov(Globals.savedRSP.memory, rsp)
        a.mov(rax, Int64(r.vector.address)); a.mov(Globals.faultRecord.memory, rax)
        a.mov(r.vector.memory, -1)
    }

    /// Flags after the body; the VM-instruction error when the flags say VMfailValid exactly.
    func recordStatus(_ r: OutcomeRecord) {
        let done = a.label()
        a.pushf(); a.pop(rax)
        a.mov(Globals.fixup.memory, 0)
        a.mov(r.flags.memory, rax)
        a.and(rax, vmxStatusFlags)
        a.cmp(rax, 0x40)
        a.jne(done)
        a.mov(rbx, Int64(VMCSField.vmInstructionError.encoding))
        a.vmread(rax, rbx)
        a.mov(r.instructionError.memory, rax)
        a.bind(done)
    }
}

/// An attempted instruction's result as the test asserts it.
enum VMXOutcome: Equatable, CustomStringConvertible {
    /// VMsucceed: the status flags all clear.
    case succeed
    /// VMfailInvalid: CF alone.
    case failInvalid
    /// VMfailValid: ZF alone, with the error VMREAD found.
    case failValid(UInt64)
    /// A fault (vector, error code; 0 for faults without one).
    case fault(vector: UInt64, errorCode: UInt64)
    /// Status flags no VMX instruction produces (hex).
    case flags(UInt64)

    static let gp0 = VMXOutcome.fault(vector: 13, errorCode: 0)
    static let ud = VMXOutcome.fault(vector: 6, errorCode: 0)
    static func failValid(_ e: VMInstructionError) -> VMXOutcome { .failValid(UInt64(e.rawValue)) }

    var description: String {
        switch self {
        case .succeed: return "VMsucceed"
        case .failInvalid: return "VMfailInvalid"
        case .failValid(let e): return "VMfailValid(\(e)\(VMInstructionError(rawValue: UInt32(truncatingIfNeeded: e)).map { ": \($0)" } ?? ""))"
        case .fault(let v, let e): return "fault \(v) (error code \(e))"
        case .flags(let f): return "flags 0x\(String(f, radix: 16))"
        }
    }
}
