/// L1's CPUID policy for its guests (CPUID always exits, SDM Vol. 3C §26.1.2): the hypervisor
/// leaves 40000000H–4FFFFFFFH are L1's own — leaf 40000000H names it "MatryoshkaL1" — and
/// every other leaf is the processor's, with CPUID.1:ECX[31] ("hypervisor present") set and
/// CPUID.1:ECX[5] (VMX) cleared, since L2 gets no VMX.
enum GuestCPUID {
    static let signature: (UInt32, UInt32, UInt32) = (0x7274_614D, 0x6873_6F79, 0x314C_616B)   // "Matr" "yosh" "kaL1"

    static func handle(_ g: UnsafeMutablePointer<Guest>) {
        let r = g.pointee.registers
        let leaf = UInt32(truncatingIfNeeded: r[GPR.rax])
        let subleaf = UInt32(truncatingIfNeeded: r[GPR.rcx])
        var result: CPUIDResult
        if leaf & 0xF000_0000 == 0x4000_0000 {
            result = leaf == 0x4000_0000
                ? CPUIDResult(eax: 0x4000_0000, ebx: signature.0, ecx: signature.1, edx: signature.2)
                : CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)
        } else {
            result = CPUIDResult(leaf: leaf, subleaf: subleaf)
            if leaf == 1 { result.ecx = (result.ecx | 1 << 31) & ~(1 << 5) }
        }
        r[GPR.rax] = UInt64(result.eax)
        r[GPR.rbx] = UInt64(result.ebx)
        r[GPR.rcx] = UInt64(result.ecx)
        r[GPR.rdx] = UInt64(result.edx)
        ExitHandler.skipInstruction()
    }
}
