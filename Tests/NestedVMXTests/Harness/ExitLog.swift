import X86Assembler
@testable import CPU

/// The VM exits one `runGuest` loop saw, in order: for each, the exit-information fields
/// L1 VMREADs (SDM Vol. 3C §25.9), some of L2's state (§28.3) and L2's RAX…RDX as the exit
/// left them in the registers.
struct ExitLog {
    let count: Slot
    let first: Slot
    let capacity: Int
    /// The first VMLAUNCH/VMRESUME that VMfailed (the loop then stops).
    let entryFailure: OutcomeRecord

    /// What each record holds, in order.
    enum Item: Int, CaseIterable {
        case reason, qualification, guestLinearAddress, guestPhysicalAddress, instructionLength,
             instructionInformation, interruptionInformation, interruptionErrorCode, idtVectoring,
             guestRIP, guestRSP, activityState, interruptibility, preemptionTimer, rax, rbx, rcx, rdx

        var field: VMCSField? {
            switch self {
            case .reason: return .exitReason
            case .qualification: return .exitQualification
            case .guestLinearAddress: return .guestLinearAddress
            case .guestPhysicalAddress: return .guestPhysicalAddress
            case .instructionLength: return .exitInstructionLength
            case .instructionInformation: return .exitInstructionInformation
            case .interruptionInformation: return .exitInterruptionInformation
            case .interruptionErrorCode: return .exitInterruptionErrorCode
            case .idtVectoring: return .idtVectoringInformation
            case .guestRIP: return .guestRIP
            case .guestRSP: return .guestRSP
            case .activityState: return .guestActivityState
            case .interruptibility: return .guestInterruptibilityState
            case .preemptionTimer: return .vmxPreemptionTimerValue
            case .rax, .rbx, .rcx, .rdx: return nil
            }
        }
        var gpr: UInt8? { [.rax: 0, .rcx: 1, .rdx: 2, .rbx: 3][self] }
    }
    static let recordSlots = Item.allCases.count

    func slot(_ k: Int, _ item: Item) -> Slot { Slot(index: first.index + k * Self.recordSlots + item.rawValue) }
}

/// Instruction-caused exits whose instruction L1 completes by advancing L2's RIP by the exit
/// instruction length (§28.2.5): CPUID, HLT, INVD, INVLPG, RDPMC, RDTSC, VMCALL, the VMX
/// instructions, MOV CR/DR, I/O, RDMSR, WRMSR, MWAIT, MONITOR, PAUSE, descriptor-table
/// accesses, INVEPT, RDTSCP, INVVPID, WBINVD, XSETBV.
let instructionExitReasons: [ExitReason] = [
    .cpuid, .hlt, .invd, .invlpg, .rdpmc, .rdtsc, .vmcall, .vmclear, .vmlaunch, .vmptrld, .vmptrst, .vmread,
    .vmresume, .vmwrite, .vmxoff, .vmxon, .crAccess, .drAccess, .ioInstruction, .rdmsr, .wrmsr, .mwait, .monitor,
    .pause, .gdtrIdtrAccess, .ldtrTrAccess, .invept, .rdtscp, .invvpid, .wbinvd, .xsetbv,
]

extension L1Program {
    func exitLog(capacity: Int = 16) -> ExitLog {
        let count = slot()
        let records = slots(capacity * ExitLog.recordSlots)
        return ExitLog(count: count, first: records[0], capacity: capacity, entryFailure: outcomeRecord())
    }

    /// Runs the current VMCS's guest and handles its exits until L2 says it is done
    /// (`l2Done`), an entry fails or is a VM-entry failure (reason bit 31), or the log is full.
    /// Each exit is logged, then `onExit` runs (see `ifExitReason`, `ifExit(number:)`), then —
    /// with `completeInstructions` — an instruction-caused exit's instruction is skipped; then
    /// VMRESUME with L2's registers restored.
    func runGuest(_ log: ExitLog, launch: Bool = true, completeInstructions: Bool = true, onExit: () -> Void = {}) {
        activeLog = log
        defer { activeLog = nil }
        let exited = a.label(), done = a.label()
        a.mov(log.count.memory, 0)
        emitEntry(launch: launch, record: log.entryFailure, continuation: exited, restoreGPRs: false)
        a.jmp(done)
        a.bind(exited)
        a.mov(Globals.fixup.memory, 0)
        a.mov(rax, log.count.memory)
        a.cmp(rax, Int64(log.capacity)); a.j(.ae, done)
        a.imul(rdi, rax, Int64(ExitLog.recordSlots * 8))
        a.add(rdi, Int64(log.first.address))
        for item in ExitLog.Item.allCases {
            if let f = item.field { vmread(f) } else { a.mov(rax, qword[Int64(area.savedGPR(item.gpr!))]) }
            a.mov(qword[rdi + Int64(item.rawValue * 8)], rax)
        }
        a.inc(log.count.memory)
        vmread(.exitReason)
        a.mov(qword[Int64(area.lastExitReason)], rax)
        a.bt(rax, 31); a.j(.c, done)                                       // VM-entry failure
        let notDone = a.label()
        a.cmp(rax, Int64(ExitReason.vmcall.rawValue)); a.jne(notDone)
        a.cmp(qword[Int64(area.savedGPR(0))], Int64(Self.l2DoneMagic)); a.je(done)
        a.bind(notDone)
        onExit()
        if completeInstructions {
            ifExitReason(in: instructionExitReasons) { advanceGuestRIP() }
        }
        emitEntry(launch: false, record: log.entryFailure, continuation: exited, restoreGPRs: true)
        a.bind(done)
    }

    /// The usual L2 run: VMCS `vmcs` of this processor made current and set up for `guest`,
    /// then `runGuest` from VMLAUNCH; returns the log.
    @discardableResult
    func runL2(_ guest: L2Guest, vmcs: Int = 0, onExit: () -> Void = {}) -> ExitLog {
        makeCurrent(area.vmcs(vmcs))
        setUpVMCS(guest)
        let log = exitLog()
        runGuest(log, onExit: onExit)
        return log
    }

    /// Each of `guests` in turn, the k-th on VMCS region k (so one run compares variants of
    /// an L2 that differ in a control); the logs in the same order.
    func runL2s(_ guests: [L2Guest], onExit: () -> Void = {}) -> [ExitLog] {
        guests.enumerated().map { k, g in runL2(g, vmcs: k, onExit: onExit) }
    }

    /// `body` when the exit just logged has one of `reasons` (basic exit reason).
    func ifExitReason(in reasons: [ExitReason], _ body: () -> Void) {
        let run = a.label(), skip = a.label()
        for r in reasons {
            a.cmp(qword[Int64(area.lastExitReason)], Int64(r.rawValue)); a.je(run)
        }
        a.jmp(skip)
        a.bind(run)
        body()
        a.bind(skip)
    }
    func ifExitReason(_ reason: ExitReason, _ body: () -> Void) { ifExitReason(in: [reason], body) }

    /// `body` for the `number`th exit of the loop being emitted (1-based).
    func ifExit(number: Int, _ body: () -> Void) {
        guard let log = activeLog else { preconditionFailure("ifExit(number:) belongs in runGuest's onExit") }
        let skip = a.label()
        a.cmp(log.count.memory, Int64(number)); a.jne(skip)
        body()
        a.bind(skip)
    }

    /// Guest RIP += VM-exit instruction length.
    func advanceGuestRIP() {
        vmread(.exitInstructionLength); a.mov(rcx, rax)
        vmread(.guestRIP); a.add(rax, rcx)
        set(.guestRIP, from: rax)
    }
}
