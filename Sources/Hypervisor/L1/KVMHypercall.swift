import CPU
import Platform

/// VMCALL from L1 outside VMX operation: the KVM hypercall ABI (Linux
/// Documentation/virt/kvm/x86/hypercalls.rst), so guests written for KVM — kvm-unit-tests'
/// `hypercall`, `vmexit_vmcall` and the PV-IPI check of `apic` — find the same L0 here.
///
/// RAX holds the hypercall number, RBX, RCX, RDX, RSI the arguments; the result is returned
/// in RAX. Outside 64-bit mode the number and arguments are their low 32 bits (the ABI's
/// 32-bit convention). Only CPL 0 may call (else -KVM_EPERM). VMCALL itself always exits
/// in VMX non-root operation (SDM Vol. 3C §26.1.2), so it reaches L0 as exit reason 18.
enum KVMHypercall: UInt64 {
    case vapicPollIRQ = 1
    case sendIPI = 10
    case schedYield = 11

    /// Return values (negated errno values of the ABI).
    static let enosys: UInt64 = UInt64(bitPattern: -1000)
    static let eperm: UInt64 = UInt64(bitPattern: -1)
    static let einval: UInt64 = UInt64(bitPattern: -22)
}

extension VirtualMachine {
    /// VMMCALL, the hypercall instruction of AMD's SVM, is an invalid opcode to this VMX
    /// processor (SDM Vol. 2B: 0F 01 D9 is not defined): L1's #UD exits (VMCS01 intercepts
    /// #UD only) and L0, as KVM does, performs the hypercall when the faulting instruction is
    /// VMMCALL — guests that read an AMD vendor (e.g. `-cpu qemu64`) use it. Any other #UD
    /// goes back to L1.
    func handleInvalidOpcode(_ v: VCPU) {
        let vmcs = v.vmcs01
        let info = vmcs.exitInterruption
        guard info.vector == Vector.ud, info.type == .hardwareException else {
            inject(v, vector: info.vector)
            return
        }
        if v.processor.guestCodeBytes(vmcs: vmcs, count: 3) == Self.vmmcall {
            vmcs[.exitInstructionLength] = 3
            handleVMCALL(v)
        } else {
            inject(v, vector: Vector.ud)
        }
    }

    static let vmmcall: [UInt8] = [0x0F, 0x01, 0xD9]

    /// Performs the hypercall and completes the VMCALL (RIP past it).
    func handleVMCALL(_ v: VCPU) {
        let vmcs = v.vmcs01
        let p = v.processor
        let long = guestIn64BitMode(vmcs)
        let width: UInt64 = long ? ~0 : 0xFFFF_FFFF
        let cpl = (vmcs[.guestSSAccessRights] >> 5) & 3
        let nr = p.gpr[GPR.rax.rawValue] & width
        let a0 = p.gpr[GPR.rbx.rawValue] & width, a1 = p.gpr[GPR.rcx.rawValue] & width
        let a2 = p.gpr[GPR.rdx.rawValue] & width, a3 = p.gpr[GPR.rsi.rawValue] & width
        var result: UInt64
        if cpl != 0 {
            result = KVMHypercall.eperm
        } else {
            switch KVMHypercall(rawValue: nr) {
            case .vapicPollIRQ, .schedYield:
                // Nothing to poll (interrupts reach L1 at the next entry) and no host
                // scheduler to yield to: the vCPUs are scheduled deterministically.
                result = 0
            case .sendIPI:
                result = sendPVIPI(bitmap: (a0, a1), lowestAPICID: a2, icr: a3, cluster: long ? 64 : 32)
            case nil:
                result = KVMHypercall.enosys
            }
        }
        p.gpr[GPR.rax.rawValue] = long ? result : result & 0xFFFF_FFFF
        skipInstruction(v)
    }

    /// KVM_HC_SEND_IPI: bit i of the first argument names APIC ID `lowestAPICID + i`, bit i
    /// of the second `lowestAPICID + cluster + i` (cluster = 64 in 64-bit mode, 32 outside);
    /// the ICR's vector and delivery mode (fixed or NMI) are sent to each, physical
    /// destination. Returns how many local APICs received it; other delivery modes are
    /// -KVM_EINVAL.
    private func sendPVIPI(bitmap: (UInt64, UInt64), lowestAPICID: UInt64, icr: UInt64, cluster: Int) -> UInt64 {
        guard let mode = APICMessage.DeliveryMode(rawValue: UInt8((icr >> 8) & 7)),
              mode == .fixed || mode == .nmi else { return KVMHypercall.einval }
        let m = APICMessage(vector: UInt8(icr & 0xFF), deliveryMode: mode, levelTriggered: false,
                            assert: true, shorthand: .none, destination: 0, source: nil)
        var delivered: UInt64 = 0
        for i in 0..<(2 * cluster) {
            let word = i < cluster ? bitmap.0 : bitmap.1
            guard word & (1 << UInt64(i % cluster)) != 0 else { continue }
            let (id, overflow) = lowestAPICID.addingReportingOverflow(UInt64(i))
            guard !overflow, id <= UInt64(UInt32.max) else { continue }
            if apicBus.deliver(m, toAPICID: UInt32(id)) { delivered += 1 }
        }
        return delivered
    }
}
