import Foundation
@testable import CPU
@testable import Hypervisor
@testable import NestedVMX
import Tracing

/// The hostile-L1 fuzz (issue 17, requirement 3): runs `FuzzCaseGenerator`'s cases on the fuzz
/// L1 and, after every L2 run and every case, checks what L0 must guarantee whatever L1 does —
///
/// - L0 returns: every case ends in L1's step loop, or in a machine-level outcome L0 reports
///   (L1 shut down, L2 never came back to L1 within the budget for a reason `FuzzStuckL2`
///   names); an entry into a VMCS02 that fails, an `l0Failure` that names an L0 bug, L0
///   resolving the same L2 exit forever, or a watchdog NMI L0 never delivers is a violation
///   (a crash ends the test process);
/// - L2 runs only with controls vmcs12 asked for or L0 adds by design (`VMCS02Invariants`);
/// - EPT02 maps only L1 RAM, and what EPT12 maps (`EPT02Invariants`, `EPT12Staleness`);
/// - L0's own memory and L1's constant memory never change (`MemoryGuard`);
/// - every VMX instruction reports VMsucceed, VMfailInvalid, VMfailValid with an error number
///   its SDM page lists, or a fault, and faults at CPL 3.
final class HostileL1Fuzz {
    let seed: UInt64
    private(set) var outcomes = FuzzOutcomes()
    private var machine: FuzzMachine
    private var generator: FuzzCaseGenerator
    private var staleness = EPT12Staleness()
    private var arena: [UInt64] = []
    private var guardedMemory: MemoryGuard
    private var l2HomeDirty = false
    /// Since the last full check an L2 ran without EPT, or changed EPT12 (or its changes are
    /// still there): L1's memory was L2's to write (`MemoryGuard`).
    private var l1MemoryExposed = false
    /// The EPT12 arena holds entries an L2 wrote, until the generator rewrites it: through them
    /// L1's memory stays L2's to write in later cases too.
    private var ept12EditedByL2 = false
    private var steps: [FuzzStep] = []
    private var processedSteps = 0
    private var entriesBefore: UInt64 = 0
    private(set) var caseNumber = 0
    /// A case to trace in detail (its steps, results and nested VMX's log are printed).
    var traceCase: Int?
    /// Tally nested VMX's log lines (`--vmx-log`: each VMfail and entry failure with its rule),
    /// numbers stripped, as a report section.
    var tallyRules = false
    /// Instructions a case may retire between two signals before the watchdog steps in.
    static let runBudget: UInt64 = 400_000
    /// Every this many cases: every EPT02 hierarchy and the guarded memory are checked (each
    /// case: about 1.5 times the run time of every 64th, and it found EPT02 staleness the
    /// sparser check missed).
    static let fullCheckInterval = 1

    init(seed: UInt64) throws {
        self.seed = seed
        machine = try FuzzMachine()
        generator = FuzzCaseGenerator(seed: seed, machine: machine)
        generator.attach(machine)
        guardedMemory = MemoryGuard(machine: machine)
        arena = readArena()
    }

    private var processorCapabilities: VMXCapabilities { machine.vcpu.processor.vmxCapabilities }

    func run(cases: Int, deadline: Date? = nil) {
        for _ in 0..<cases {
            if let d = deadline, Date() > d { break }
            runCase()
            if outcomes.violations.count >= 50 { break }
        }
        fullCheck()
    }

    private func violation(_ message: String) {
        outcomes.violation("seed 0x\(String(seed, radix: 16)) case \(caseNumber): \(message)")
    }

    // MARK: One case

    func runCase() {
        caseNumber += 1
        outcomes.cases += 1
        let tracing = traceCase == caseNumber
        machine.keepsLog = tracing || tallyRules
        machine.log = []
        steps = generator.next(l2HomeDirty: l2HomeDirty)
        l2HomeDirty = false
        if generator.ept12Rewritten { staleness.ept12Changed(); arena = readArena(); ept12EditedByL2 = false }
        processedSteps = 0
        entriesBefore = machine.vmx.virtualEntries
        outcomes.steps += steps.count
        if tracing { print("case \(caseNumber) steps:\n" + steps.map { "  \($0.op) \($0.flags.rawValue >> 8) A=0x\(hex($0.a)) B=0x\(hex($0.b))" }.joined(separator: "\n")) }

        var watchdog = false, signals = 0
        loop: while true {
            switch machine.run(budget: Self.runBudget) {
            case .caseDone:
                break loop
            case .guestRan:
                signals += 1
                guestRan()
                if signals > 2 * FuzzLayout.maximumSteps {
                    violation("L1 landed after VM entries more often than the case has steps")
                    return rebuild("L1 looping at its landing")
                }
            case .other(let o):
                switch o {
                case .instructionLimit where machine.vcpu.inL2, .deadlock where machine.vcpu.inL2, .timeLimit where machine.vcpu.inL2:
                    if o != .deadlock, let loop = l0Livelock() { violation(loop) }
                    if watchdog {
                        switch FuzzStuckL2.verdict(vcpu: machine.vcpu) {
                        case .explained(let why): outcomes.count("machine", "L2 never came back to L1 after the NMI: \(why)")
                        case .lostNMI(let what): violation(what)
                        }
                        return rebuild("L2 stuck")
                    }
                    // The watchdog: an NMI exits L2 (NMI exiting) or reaches its handler (VMCALL).
                    outcomes.count("machine", "L2 \(o == .instructionLimit ? "out of budget" : "halted"): NMI sent")
                    watchdog = true
                    machine.vcpu.apicNMI()
                case .shutdown:
                    let abort = machine.vmx.current.map { $0.vmcs.abortIndicator } ?? 0
                    outcomes.count("machine", abort != 0 ? "VMX abort \(abort) (L1 in shutdown)" : "L1 shut down (triple fault)")
                    return rebuild("shutdown")
                case .l0Failure(_, let message):
                    if tracing { printState() }
                    if message.contains("L0 bug") || message.contains("VMCS02") {
                        violation("L0 failure: \(message)")
                    } else {
                        let what = message.replacingOccurrences(of: "0x[0-9A-Fa-f]+", with: "…", options: .regularExpression)
                        outcomes.count("machine", "L0 stopped the machine: \(what.prefix(200))")
                    }
                    return rebuild("l0Failure")
                default:
                    outcomes.count("machine", "run ended with \(o)")
                    return rebuild("\(o)")
                }
            }
        }
        finishCase(tracing: tracing)
        if caseNumber % Self.fullCheckInterval == 0 { fullCheck() }
    }

    private func rebuild(_ why: String) {
        outcomes.rebuilds += 1
        tallyLog()
        for k in processedSteps..<steps.count {
            let r = result(k)
            if r.rflags != StepResult.notReached || r.vector != StepResult.noFault { countStep(k, r) }
        }
        do {
            try machine.reboot()
        } catch {
            do { machine = try FuzzMachine() } catch { return violation("a new machine did not boot: \(error)") }
        }
        generator.attach(machine)
        staleness = EPT12Staleness()
        arena = readArena()
        guardedMemory = MemoryGuard(machine: machine)
        l2HomeDirty = false
        l1MemoryExposed = false
        ept12EditedByL2 = false
    }

    // MARK: Steps

    private func result(_ k: Int) -> StepResult {
        let a = FuzzLayout.results + UInt64(k) * 32
        return StepResult(rflags: machine.qword(a), vector: machine.qword(a + 8), errorCode: machine.qword(a + 16),
                          value: machine.qword(a + 24))
    }

    /// Steps before `end` change what EPT02 may cache: a successful INVEPT or VMXOFF
    /// invalidates, a store into the EPT12 arena changes EPT12.
    private func applyStepEffects(upTo end: Int) {
        while processedSteps < min(end, steps.count) {
            let s = steps[processedSteps], r = result(processedSteps)
            processedSteps += 1
            let succeeded = r.vector == StepResult.noFault && r.rflags != StepResult.notReached
                && r.rflags != StepResult.guestRan && r.rflags & StepResult.statusFlags == 0
            switch s.op {
            case .invept where succeeded && !s.flags.contains(.cpl3):
                // Single-context: the EPTP in the descriptor (only when the test knows it: a slot).
                let slot = s.b >= FuzzLayout.operands && s.b < FuzzLayout.operand(FuzzLayout.operandSlots)
                if s.a == 2 { staleness.invalidated(ep4ta: nil) }
                else if s.a == 1 && slot { staleness.invalidated(ep4ta: machine.qword(s.b) & 0x000F_FFFF_FFFF_F000) }
            case .vmxoff where succeeded && !s.flags.contains(.cpl3):
                staleness.invalidated(ep4ta: nil)
            case .store where r.vector == StepResult.noFault:
                if s.b >= FuzzLayout.ept12Arena && s.b < FuzzLayout.ept12Arena + UInt64(FuzzLayout.ept12Pages) * 4096 {
                    staleness.ept12Changed()
                    arena = readArena()
                }
            default: break
            }
        }
    }

    private func countStep(_ k: Int, _ r: StepResult) {
        let s = steps[k]
        let name = "step \(s.op)\(s.flags.contains(.cpl3) ? " at CPL 3" : "")\(s.flags.contains(.afterMOVSS) ? " after MOV SS" : "")"
        let what = FuzzOutcomes.describe(r)
        outcomes.count(name, what)
        guard s.op.isVMXInstruction else { return }
        if s.flags.contains(.cpl3) {
            if r.value == StepResult.completedMarker { violation("\(s.op) completed at CPL 3 (SDM: #GP(0) or #UD)") }
            else if r.vector != 6 && r.vector != 13 && r.vector != 14 && r.vector != StepResult.noFault { violation("\(s.op) at CPL 3 raised vector \(r.vector)") }
            return
        }
        if r.vector == StepResult.noFault && r.rflags != StepResult.notReached && r.rflags != StepResult.guestRan {
            let f = r.rflags & StepResult.statusFlags
            if f != 0 && f != 1 && f != 0x40 { violation("\(s.op) left status flags 0x\(hex(f)), not a VMX convention (SDM §31.2)") }
            if f == 0x40, let allowed = FuzzOutcomes.allowedErrors[s.op], !allowed.contains(r.value) {
                violation("\(s.op) reported VMfailValid(\(r.value)), which its SDM page does not list")
            }
        }
    }

    private func finishCase(tracing: Bool) {
        applyStepEffects(upTo: steps.count)
        tallyLog()
        for k in steps.indices { countStep(k, result(k)) }
        if tracing {
            for k in steps.indices { print("  \(k) \(steps[k].op): \(FuzzOutcomes.describe(result(k)))") }
            print(machine.log.joined(separator: "\n"))
        }
    }

    private func tallyLog() {
        guard tallyRules else { return }
        for line in machine.log {
            let rule = line.replacingOccurrences(of: "0x[0-9A-Fa-f]+", with: "…", options: .regularExpression)
            outcomes.count("rule", String(rule.prefix(160)))
        }
        machine.log = []
    }

    // MARK: After each L2 run

    private func guestRan() {
        let index = Int(machine.qword(FuzzLayout.stepIndex))
        applyStepEffects(upTo: index)
        let vmx = machine.vmx
        let entries = vmx.virtualEntries
        let ran = entries != entriesBefore
        entriesBefore = entries
        l2HomeDirty = true
        guard let v12 = vmx.current else {
            outcomes.count("L2", "landing with no current VMCS")
            return
        }
        let reason = v12.vmcs.exitReasonField
        if reason.isEntryFailure {
            outcomes.count("VM-entry failure", "reason \(reason.basicReason) qualification \(v12.vmcs[.exitQualification])")
        } else if ran {
            outcomes.l2Runs += 1
            outcomes.count("L2 ran, exit to L1", "\(reason.reason.map { "\($0)" } ?? "reason \(reason.basicReason)")")
        } else {
            outcomes.count("L2", "landing without a VM entry")
        }
        if ran && !Self.secondary(v12.vmcs).contains(.enableEPT) { l1MemoryExposed = true }
        if ran {
            let context = VMCS02Invariants.Context(vmx: vmx, vmcs01: machine.vcpu.vmcs01, processor: processorCapabilities,
                                                   offered: machine.nested.capabilities, l1: machine.nested.l1)
            for v in VMCS02Invariants.violations(v12: v12, context) { violation(v) }
        }
        syncEPT02()
        if traceCase == caseNumber {
            print("  guest ran at step \(index): \(reason), entered: \(ran), EPTP12 0x\(hex(v12.vmcs[.eptPointer])), staleness version \(staleness.version), roots \(vmx.ept02.roots.map { "0x\(hex($0.key))→0x\(hex($0.value)) checkable \(staleness.checkable($0.key))" })")
        }
        if ran, let g = Optional(v12.vmcs), Self.secondary(g).contains(.enableEPT) {
            checkEPT02(key: EPT02.key(EPTPointer(g[.eptPointer])))
        }
    }

    static func secondary(_ g: VMCS) -> SecondaryProcessorBasedControls {
        let primary = PrimaryProcessorBasedControls(rawValue: UInt32(truncatingIfNeeded: g[.primaryProcessorBasedControls]))
        return primary.contains(.activateSecondaryControls)
            ? SecondaryProcessorBasedControls(rawValue: UInt32(truncatingIfNeeded: g[.secondaryProcessorBasedControls])) : []
    }

    /// New EPT02 roots, and whether L2 (or anything but the test) changed EPT12 during the run:
    /// any bit but the accessed and dirty flags the processor sets (clearing one is a change,
    /// §29.3.5: software invalidates after clearing them).
    private func syncEPT02() {
        staleness.sync(roots: machine.vmx.ept02.roots, poolGeneration: machine.vmx.ept02.pool.generation)
        let now = readArena()
        var changed = false
        for k in now.indices where (now[k] ^ arena[k]) & ~0x300 != 0 || arena[k] & ~now[k] & 0x300 != 0 { changed = true; break }
        if changed { staleness.ept12Changed(); l1MemoryExposed = true; ept12EditedByL2 = true }
        arena = now
    }

    private func checkEPT02(key: UInt64) {
        guard let root = machine.vmx.ept02.roots[key] else { return }
        var problems: [String] = []
        let l1 = machine.nested.l1
        let leaves = EPT02Invariants.leaves(root: root, pool: machine.vmx.ept02.pool, memory: machine.memory, l1: l1, problems: &problems)
        outcomes.ept02LeavesChecked += leaves.count
        if staleness.checkable(key) {
            let c = machine.nested.capabilities
            let walker = IndependentEPTWalker(memory: machine.memory, ramTop: l1.ramTop, physicalAddressBits: c.physicalAddressBits,
                                              executeOnly: c.ept.executeOnly, pages1G: c.ept.pages1G, pages2M: c.ept.pages2M)
            EPT02Invariants.checkAgainstEPT12(leaves, eptp12: key, walker: walker, problems: &problems)
            outcomes.ept02LeavesAgainstEPT12 += leaves.count
        }
        for p in problems.prefix(3) { violation("EPT02 for EPTP12 0x\(hex(key)): \(p)") }
    }

    private func fullCheck() {
        syncEPT02()
        for key in machine.vmx.ept02.roots.keys.sorted() { checkEPT02(key: key) }
        for c in guardedMemory.changes(machine.memory) {
            if c.l0 || !l1MemoryExposed { violation(c.what) }
            else { outcomes.count("L1 memory", "changed after an L2 without EPT or one that rewrote EPT12 ran (L1's choice)") }
        }
        if l1MemoryExposed { guardedMemory.resnapshotL1(machine.memory) }
        l1MemoryExposed = ept12EditedByL2
    }

    private func readArena() -> [UInt64] {
        let p = machine.memory.pointer(to: FuzzLayout.ept12Arena)!.assumingMemoryBound(to: UInt64.self)
        return Array(UnsafeBufferPointer(start: p, count: FuzzLayout.ept12Pages * 512))
    }

    /// For a traced case: the guest-state fields of vmcs12 and VMCS02 that event and
    /// debug-exception checks look at, and nested VMX's log so far.
    private func printState() {
        guard let v12 = machine.vmx.current else { return print("  no current VMCS") }
        let fields: [VMCSField] = [.guestRIP, .guestRFLAGS, .guestInterruptibilityState, .guestActivityState,
                                   .guestPendingDebugExceptions, .guestIA32DebugCtl, .guestDR7, .entryControls,
                                   .pinBasedControls, .primaryProcessorBasedControls, .entryInterruptionInformation]
        for f in fields {
            print("  \(f): vmcs12 0x\(hex(v12.vmcs[f])) VMCS02 \(v12.vmcs02.map { "0x\(hex($0[f]))" } ?? "none")")
        }
        for e in machine.vm.exitTrace.events.suffix(12) {
            print("  exit L\(e.level.rawValue) \(e.reason)\(e.entryFailure ? " (entry failure)" : "") RIP 0x\(hex(e.guestRIP)) qualification 0x\(hex(e.qualification)) \(e.disposition)")
        }
        print(machine.log.joined(separator: "\n"))
    }

    // MARK: Hangs

    /// L0 resolving the same L2 exit at the same place forever (an EPT02 fill that does not
    /// fill, say): the newest events are all L2 exits L0 handled, one reason, one RIP.
    private func l0Livelock() -> String? {
        let recent = machine.vm.exitTrace.events.suffix(256)
        guard recent.count >= 256, let last = recent.last, last.level == .l2, last.disposition == .handledByL0 else { return nil }
        let same = recent.allSatisfy {
            $0.level == .l2 && $0.disposition == .handledByL0 && $0.reason == last.reason && $0.guestRIP == last.guestRIP
                && $0.qualification == last.qualification
        }
        return same ? "L0 handles L2's \(last.reason) exit at RIP 0x\(hex(last.guestRIP)) (qualification 0x\(hex(last.qualification))) over and over: L2 makes no progress" : nil
    }
}
