import Foundation
@testable import CPU

/// The fuzz's tally: every step's result (VMsucceed, VMfailInvalid, VMfailValid by error
/// number, faults), every L2 run (its exit reason, or the VM-entry failure and its
/// qualification), every machine-level end (VMX abort, L1 lost, L2 that never came back),
/// and the invariant violations with the seed and case that reproduce them.
struct FuzzOutcomes {
    private(set) var counts: [String: Int] = [:]
    private(set) var violations: [String] = []
    var cases = 0, steps = 0, l2Runs = 0, ept02LeavesChecked = 0, ept02LeavesAgainstEPT12 = 0, rebuilds = 0

    mutating func count(_ category: String, _ what: String) { counts["\(category): \(what)", default: 0] += 1 }

    mutating func violation(_ message: String) {
        if violations.count < 200 { violations.append(message) }
    }

    static let vectorNames: [UInt64: String] = [0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 6: "#UD", 8: "#DF", 10: "#TS",
                                                11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 17: "#AC"]

    /// A step's result as the report names it.
    static func describe(_ r: StepResult) -> String {
        if r.rflags == StepResult.guestRan { return "VM entry → L1's exit landing" }
        if r.vector != StepResult.noFault {
            let name = vectorNames[r.vector] ?? "vector \(r.vector)"
            return [13, 14, 12, 8, 10, 11, 17].contains(r.vector) ? "\(name)(\(r.errorCode == 0 ? "0" : "error code"))" : name
        }
        if r.rflags == StepResult.notReached { return "not reached" }
        switch r.rflags & StepResult.statusFlags {
        case 0: return "VMsucceed"
        case 1: return "VMfailInvalid"
        case 0x40: return "VMfailValid(\(r.value))"
        case let f: return "flags 0x\(String(f, radix: 16))"
        }
    }

    /// VMfailValid error numbers each instruction may report (SDM Vol. 3C §31.4 Table 31-1 and
    /// the instructions' Operation sections).
    static let allowedErrors: [FuzzOp: Set<UInt64>] = [
        .vmxon: [15], .vmxoff: [23], .vmclear: [2, 3], .vmptrld: [9, 10, 11],
        .vmreadRegister: [12], .vmreadMemory: [12], .vmwriteRegister: [12, 13], .vmwriteMemory: [12, 13],
        .vmlaunch: [4, 7, 8, 26], .vmresume: [5, 7, 8, 26], .advanceAndResume: [5, 7, 8, 12, 13, 26],
        .invept: [28], .invvpid: [28],
    ]

    func report(seed: UInt64, seconds: Double) -> String {
        var lines = ["Hostile-L1 fuzz: seed 0x\(String(seed, radix: 16)), \(cases) cases, \(steps) steps, \(l2Runs) L2 runs, "
                     + "\(rebuilds) machine resets, \(ept02LeavesChecked) EPT02 leaves checked (\(ept02LeavesAgainstEPT12) against EPT12), "
                     + String(format: "%.1f s (%.0f cases/s)", seconds, Double(cases) / max(seconds, 1e-9))]
        for (k, v) in counts.sorted(by: { $0.key < $1.key }) { lines.append(String(format: "%10d  %@", v, k)) }
        lines.append("invariant violations: \(violations.count)")
        lines += violations.prefix(40)
        return lines.joined(separator: "\n")
    }
}

/// When EPT02 must agree with EPT12 (SDM Vol. 3C §29.4: translations derived from EPT12 may
/// be cached — stale — until L1 invalidates them). `version` counts changes of EPT12's memory
/// (the arena, which holds every EPT12 table but links into L1's constant code and non-RAM);
/// an EPT02 hierarchy is checkable when nothing changed since it was created or since L1's
/// last INVEPT that covers its EP4TA (single-context for EPTP bits 51:12, whatever the A/D
/// flag; all-context; VMXOFF).
struct EPT12Staleness {
    private(set) var version = 0
    private var validFrom: [UInt64: (root: UInt64, version: Int)] = [:]
    private var poolGeneration = -1

    mutating func ept12Changed() { version += 1 }

    /// A successful INVEPT (nil: all-context, or VMXOFF).
    mutating func invalidated(ep4ta: UInt64?) {
        for (key, entry) in validFrom where ep4ta == nil || key & 0x000F_FFFF_FFFF_F000 == ep4ta {
            validFrom[key] = (entry.root, version)
        }
    }

    /// Roots L0 has now: new ones (or all after a pool reclaim) start valid now.
    mutating func sync(roots: [UInt64: UInt64], poolGeneration generation: Int) {
        if generation != poolGeneration { validFrom = [:]; poolGeneration = generation }
        for key in Array(validFrom.keys) where roots[key] == nil { validFrom[key] = nil }
        for (key, root) in roots where validFrom[key]?.root != root { validFrom[key] = (root, version) }
    }

    func checkable(_ key: UInt64) -> Bool { validFrom[key]?.version == version }
}
