/// What the processor knows while it re-executes a guest instruction for L0
/// (`Processor.emulateInstruction(vmcs:bus:vmx:)`): the service's whole state, set for that one
/// instruction and cleared after it. Everything the interpreter does differently for L0 reads
/// it — exits L0 resolves not recurring, unmapped accesses and port I/O going to `bus`, VMX
/// instructions taking root-operation semantics, event windows left to the next VM entry.
struct L0Emulation {
    /// The access behind an EPT-violation exit: the linear page the guest accessed, the
    /// guest-physical page it translated to and whether it wrote — the exit's own guest-linear
    /// and guest-physical addresses (SDM Vol. 3C §28.2.1), so the emulated access needs no
    /// second page walk (`translate`).
    struct TranslationHint {
        let linearPage: UInt64
        let guestPhysicalPage: UInt64
        let write: Bool
    }

    /// Where guest-physical accesses EPT does not map (or that reach no RAM) and all port I/O
    /// go instead of exiting (SDM Vol. 3C §29.3.3.2: the EPT violation L0 resolves).
    let bus: DeviceBus
    /// A guest hypervisor's virtual VMX root operation, for its VMX instructions.
    let guestVMXRoot: GuestVMXRootOperation?
    let translationHint: TranslationHint?
}
