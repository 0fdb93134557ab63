/// One step of a fuzz case: what the hostile L1 executes next (`FuzzL1` interprets the list).
/// A record is four qwords in L1 memory: the operation (bits 7:0) with its flags, then operands
/// A, B, C whose meaning depends on the operation. Memory operands are addresses; the test
/// stores what they point at before the case when the address is L1 RAM.
enum FuzzOp: UInt8, CaseIterable {
    /// `VMXON [B]`, `VMCLEAR [B]`, `VMPTRLD [B]`, `VMPTRST [B]`.
    case vmxon, vmxoff, vmclear, vmptrld, vmptrst
    /// `VMREAD RDX, RBX` (RBX = A); `VMREAD [B], RBX`.
    case vmreadRegister, vmreadMemory
    /// `VMWRITE RBX, RAX` (RBX = A, RAX = B); `VMWRITE RBX, [B]`.
    case vmwriteRegister, vmwriteMemory
    /// VMLAUNCH / VMRESUME, HOST_RSP and HOST_RIP written first unless `keepsHostState`.
    case vmlaunch, vmresume
    /// `INVEPT RAX, [B]`, `INVVPID RAX, [B]` (RAX = A).
    case invept, invvpid
    /// What an L1 does after most exits: guest RIP += exit instruction length, then VMRESUME.
    case advanceAndResume
    /// L1 writes its memory directly: 512 qwords from A to B (a VMCS image into a region, active
    /// or not); one qword A at B.
    case copyImage, store
    /// `MOV CR4, A` (VMX operation forbids clearing CR4.VMXE).
    case writeCR4

    /// Takes an m64 (or m128) operand at B.
    var readsMemoryOperand: Bool { [.vmxon, .vmclear, .vmptrld, .vmwriteMemory, .invept, .invvpid].contains(self) }
    /// A VMX instruction (the others are plain L1 code).
    var isVMXInstruction: Bool { ![.copyImage, .store, .writeCR4].contains(self) }
    var entersGuest: Bool { [.vmlaunch, .vmresume, .advanceAndResume].contains(self) }
}

struct FuzzStep {
    /// Flags in bits 15:8 of the first qword.
    struct Flags: OptionSet {
        let rawValue: UInt64
        /// Executed at CPL 3 (every VMX instruction faults there).
        static let cpl3 = Flags(rawValue: 1 << 8)
        /// Right after `MOV SS` (VMLAUNCH/VMRESUME: VMfailValid 26).
        static let afterMOVSS = Flags(rawValue: 1 << 9)
        /// VMLAUNCH/VMRESUME without writing HOST_RSP/HOST_RIP first.
        static let keepsHostState = Flags(rawValue: 1 << 10)
    }

    var op: FuzzOp
    var flags: Flags = []
    var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0

    static let size: UInt64 = 32

    var words: [UInt64] { [UInt64(op.rawValue) | flags.rawValue, a, b, c] }
}

/// What L1 recorded for a step (32 bytes at `FuzzLayout.results`).
struct StepResult {
    /// RFLAGS after the instruction; `notReached` when a fault or the case's end came first;
    /// `guestRan` when a VM entry led to L1's exit landing (an exit or an entry failure).
    var rflags: UInt64
    /// The fault's vector, or `noFault`.
    var vector: UInt64
    var errorCode: UInt64
    /// VMREAD's value, or the VM-instruction error after VMfailValid; at CPL 3 `completedMarker`
    /// when the instruction did not fault.
    var value: UInt64

    static let notReached: UInt64 = 0xDEAD_0000_0000_0001
    static let guestRan: UInt64 = 0xDEAD_0000_0000_0002
    static let noFault: UInt64 = ~0
    static let completedMarker: UInt64 = 0x5AFE_C0DE

    /// The VMX status flags of §31.2 "Conventions" (CF, PF, AF, ZF, SF, OF).
    static let statusFlags: UInt64 = 0x8D5
}
