/// VMX root operation as a guest hypervisor sees it (nested VMX): when L0 emulates a VMX
/// instruction its guest executed (`Processor.emulateInstruction(vmcs:bus:vmx:)`), the
/// processor decodes the instruction and reads or writes its operands — with every segment,
/// paging and EPT check and fault of a real access, delivered to the guest — and asks this
/// object, implemented by L0's nested-VMX layer, what the instruction does to the virtual VMX
/// state (SDM Vol. 3C ch. 31 "VMX Instruction Reference", the Operation sections). The split
/// follows the pseudocode: `check` is everything before the memory operand is read.
public protocol GuestVMXRootOperation: AnyObject {
    /// The checks before operands are read: #UD outside VMX operation (for VMXON: with the
    /// guest's CR4.VMXE = 0), #GP(0) at CPL > 0, VMXON's fixed-bit and IA32_FEATURE_CONTROL
    /// rules. Nil: carry on. (#UD for real, virtual-8086 and compatibility mode was raised
    /// before the VM exit, §26.1.1.)
    func check(_ instruction: VMXInstruction, cpl: Int) -> VMXRootResult?
    /// A current VMCS exists (else VMREAD, VMWRITE, VMLAUNCH, VMRESUME are VMfailInvalid).
    var hasCurrentVMCS: Bool { get }
    /// The current-VMCS pointer (VMPTRST; FFFFFFFF_FFFFFFFFH when none).
    var currentVMCSPointer: UInt64 { get }

    func vmxon(region: UInt64) -> VMXRootResult
    func vmxoff() -> VMXRootResult
    func vmclear(_ address: UInt64) -> VMXRootResult
    func vmptrld(_ address: UInt64) -> VMXRootResult
    func vmread(encoding: UInt64) -> Result<UInt64, VMInstructionError>
    func vmwrite(encoding: UInt64, value: UInt64) -> VMInstructionError?
    /// VMLAUNCH/VMRESUME: the instruction's own checks; `.enterGuest` when VM entry is to be
    /// attempted (`emulateInstruction` then returns `.virtualEntry`). `blockedByMOVSS`: the
    /// instruction follows a MOV SS/POP SS (VMfailValid 26).
    func vmentry(launch: Bool, blockedByMOVSS: Bool) -> VMXRootResult
    func invept(type: UInt64, descriptor: (low: UInt64, high: UInt64)) -> VMXRootResult
    func invvpid(type: UInt64, descriptor: (low: UInt64, high: UInt64)) -> VMXRootResult
    /// VMfailValid(`error`) (§31.2): record it in the current VMCS's VM-instruction error
    /// field (the processor sets ZF; without a current VMCS it reports VMfailInvalid instead).
    func recordFailure(_ error: VMInstructionError)
}

/// The VMX instructions whose root-operation semantics a guest hypervisor gets emulated.
public enum VMXInstruction: Sendable, Equatable {
    case vmxon, vmxoff, vmclear, vmptrld, vmptrst, vmread, vmwrite, vmlaunch, vmresume, invept, invvpid
}

/// What a VMX instruction did (§31.2 "Conventions").
public enum VMXRootResult: Equatable, Sendable {
    /// VMsucceed: CF, PF, AF, ZF, SF, OF cleared.
    case succeed
    /// VMfailInvalid: CF set.
    case failInvalid
    /// VMfail(error): VMfailValid with the error recorded when a current VMCS exists, else
    /// VMfailInvalid.
    case fail(VMInstructionError)
    /// The instruction faults: #UD or #GP(0).
    case undefinedOpcode
    case generalProtection
    /// VMLAUNCH/VMRESUME passed their own checks: L0 performs the VM entry.
    case enterGuest(launch: Bool)
}

extension Processor {
    /// Applies a root-operation result: flags for success and failure, the fault otherwise.
    func completeVMXRoot(_ r: VMXRootResult, _ root: GuestVMXRootOperation) throws(Fault) {
        switch r {
        case .succeed: vmSucceed()
        case .failInvalid: vmFailInvalid()
        case .fail(let e):
            if root.hasCurrentVMCS {
                flags.set(RFLAGS.zf)
                root.recordFailure(e)
            } else {
                vmFailInvalid()
            }
        case .undefinedOpcode: throw Fault.ud
        case .generalProtection: throw Fault.gp(0)
        case .enterGuest(let launch):
            // Not retired: the guest hypervisor's state matters again only when the virtual
            // VM exit loads its host state (or the entry fails).
            pendingExit = PendingExit()
            pendingExit.reason = launch ? .vmlaunch : .vmresume
            virtualEntryRequested = true
            throw Fault.vmExit
        }
    }

    /// SDM Vol. 3C ch. 31 — the root-operation semantics of the VMX instruction `i` for L0's
    /// guest hypervisor: checks, then the memory operand, then the operation.
    func emulateVMXRoot(_ i: Inst, _ reason: ExitReason, _ root: GuestVMXRootOperation) throws(Fault) {
        let instruction: VMXInstruction
        switch reason {
        case .vmxon: instruction = .vmxon
        case .vmxoff: instruction = .vmxoff
        case .vmclear: instruction = .vmclear
        case .vmptrld: instruction = .vmptrld
        case .vmptrst: instruction = .vmptrst
        case .vmlaunch: instruction = .vmlaunch
        case .vmresume: instruction = .vmresume
        case .invept: instruction = .invept
        case .invvpid: instruction = .invvpid
        default: throw Fault.ud
        }
        if let r = root.check(instruction, cpl: cpl) { return try completeVMXRoot(r, root) }
        let result: VMXRootResult
        switch instruction {
        case .vmxon: result = root.vmxon(region: try readRM(i, 8))
        case .vmxoff: result = root.vmxoff()
        case .vmclear: result = root.vmclear(try readRM(i, 8))
        case .vmptrld: result = root.vmptrld(try readRM(i, 8))
        case .vmptrst:
            try writeRM(i, 8, root.currentVMCSPointer)
            result = .succeed
        case .vmlaunch, .vmresume:
            result = root.hasCurrentVMCS
                ? root.vmentry(launch: instruction == .vmlaunch, blockedByMOVSS: interruptShadow.contains(.movSS))
                : .failInvalid
        case .invept, .invvpid:
            // The type from the register operand (64 bits in 64-bit mode, else 32); the
            // 128-bit descriptor from memory.
            let type = readReg(i.pointee.reg, is64 ? 8 : 4)
            let ea = effectiveAddress(i), seg = Int(i.pointee.seg)
            let mask = Self.mask(i.pointee.addrSize)
            let low = try readSized(seg, ea, 8), high = try readSized(seg, (ea &+ 8) & mask, 8)
            result = instruction == .invept ? root.invept(type: type, descriptor: (low, high))
                                            : root.invvpid(type: type, descriptor: (low, high))
        case .vmread, .vmwrite:
            throw Fault.ud                          // execVmread / execVmwrite handle these
        }
        try completeVMXRoot(result, root)
    }
}
