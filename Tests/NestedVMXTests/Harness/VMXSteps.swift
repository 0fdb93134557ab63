import X86Assembler
@testable import CPU

/// The VMX steps of a guest hypervisor, each a few instructions (SDM Vol. 3C §24.7 "Enabling
/// and Entering VMX Operation", §25.11.3 "Initializing a VMCS", ch. 31 for the instructions).
/// Register use: RAX and RBX (and RCX/RDX for MSRs) are scratch.
extension L1Program {
    static let featureControl: UInt32 = 0x3A
    static let vmxBasic: UInt32 = 0x480

    // MARK: Before VMXON

    /// CR4.VMXE = 1.
    func setCR4VMXE() {
        a.mov(rax, cr4); a.or(rax, 1 << 13); a.mov(cr4, rax)
    }

    /// WRMSR IA32_FEATURE_CONTROL (SDM Vol. 4 Table 2-2: bit 0 lock, bit 2 VMX outside SMX).
    func writeFeatureControl(_ value: UInt64) {
        a.mov(ecx, Int64(Self.featureControl)); a.mov(eax, Int64(value)); a.xor(edx, edx); a.wrmsr()
    }

    /// The VMCS revision identifier from IA32_VMX_BASIC[30:0] into the region's first word.
    func writeRevision(at region: UInt64) {
        a.mov(ecx, Int64(Self.vmxBasic)); a.rdmsr(); a.and(eax, 0x7FFF_FFFF)
        a.mov(dword[Int64(region)], eax)
    }

    /// Any 32-bit value as the region's first word.
    func writeRegionWord(at region: UInt64, _ value: UInt32) {
        a.mov(dword[Int64(region)], Int64(value))
    }

    /// CR4.VMXE, IA32_FEATURE_CONTROL = 5 (locked, VMX outside SMX), the revision, VMXON; the
    /// run ends (`setupFailed`) if VMXON does not succeed.
    func enableVMX() {
        setCR4VMXE()
        writeFeatureControl(5)
        writeRevision(at: area.vmxonRegion)
        vmxon(area.vmxonRegion)
        checkSetup(field: 0xFFFF_0001)
    }

    // MARK: Instructions with a memory operand

    /// A qword in the processor's operand page holding `value`, as the m64 operand.
    func pointer(_ value: UInt64, at k: Int = 0) -> Memory {
        let at = Int64(area.operands) + Int64(8 * k)
        a.mov(rax, unsigned: value)
        a.mov(qword[at], rax)
        return qword[at]
    }

    func vmxon(_ region: UInt64) { let m = pointer(region); a.vmxon(m) }
    func vmclear(_ region: UInt64) { let m = pointer(region); a.vmclear(m) }
    func vmptrld(_ region: UInt64) { let m = pointer(region); a.vmptrld(m) }

    /// VMCLEAR and VMPTRLD of a region whose revision L1 writes first: it becomes current.
    func makeCurrent(_ region: UInt64) {
        writeRevision(at: region)
        vmclear(region)
        checkSetup(field: 0xFFFF_0002)
        vmptrld(region)
        checkSetup(field: 0xFFFF_0003)
    }

    /// VMPTRST into `s`.
    func vmptrst(into s: Slot) { a.vmptrst(s.memory) }

    // MARK: VMREAD / VMWRITE

    /// VMWRITE of `value` (no check: a test attempts it).
    func vmwrite(_ field: VMCSField, _ value: UInt64) { vmwrite(encoding: UInt64(field.encoding), value) }
    func vmwrite(encoding: UInt64, _ value: UInt64) {
        a.mov(rbx, unsigned: encoding); a.mov(rax, unsigned: value); a.vmwrite(rbx, rax)
    }

    /// VMWRITE that must succeed (VMCS setup): otherwise the run ends naming the field.
    func set(_ field: VMCSField, _ value: UInt64) {
        vmwrite(field, value)
        checkSetup(field: UInt64(field.encoding))
    }

    /// VMWRITE of a register's value that must succeed.
    func set(_ field: VMCSField, from r: Register) {
        precondition(r.number != 3, "RBX holds the encoding")
        a.mov(rbx, Int64(field.encoding)); a.vmwrite(rbx, r)
        checkSetup(field: UInt64(field.encoding))
    }

    /// VMREAD of `field` into `s` (the status flags are not kept).
    func vmread(_ field: VMCSField, into s: Slot) {
        a.mov(rbx, Int64(field.encoding)); a.vmread(rax, rbx); a.mov(s.memory, rax)
    }

    /// VMREAD of `field` into RAX.
    func vmread(_ field: VMCSField) {
        a.mov(rbx, Int64(field.encoding)); a.vmread(rax, rbx)
    }

    /// Ends the run (`setupFailed`) unless the last VMX instruction succeeded (CF = ZF = 0),
    /// recording `field` (an encoding, or a step's number) and the flags.
    func checkSetup(field: UInt64) {
        let ok = a.label()
        a.j(.a, ok)                                   // CF = 0 and ZF = 0
        a.pushf(); a.pop(rax); a.mov(Globals.setupFailedFlags.memory, rax)
        a.mov(rax, unsigned: field); a.mov(Globals.setupFailedField.memory, rax)
        exit(ExitCode.setupFailed)
        a.bind(ok)
    }
}
