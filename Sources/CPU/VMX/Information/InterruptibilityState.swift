/// The guest interruptibility-state field (SDM Vol. 3C §25.4.2, Table 25-3): what blocks
/// events at the instruction boundary where the guest resumes. Bits 31:5 are reserved; bit 4
/// (enclave interruption) is reserved here too (no SGX), which the entry checks enforce on the
/// raw field.
public struct InterruptibilityState: OptionSet, Equatable, Sendable {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Bit 0: blocking by STI (for the instruction after STI, SDM Vol. 3A §6.8.3).
    @inlinable public static var blockingBySTI: InterruptibilityState { InterruptibilityState(rawValue: 1 << 0) }
    /// Bit 1: blocking by MOV SS / POP SS.
    @inlinable public static var blockingByMovSS: InterruptibilityState { InterruptibilityState(rawValue: 1 << 1) }
    /// Bit 2: blocking by SMI (in SMM).
    @inlinable public static var blockingBySMI: InterruptibilityState { InterruptibilityState(rawValue: 1 << 2) }
    /// Bit 3: blocking by NMI (or, with "virtual NMIs", virtual-NMI blocking).
    @inlinable public static var blockingByNMI: InterruptibilityState { InterruptibilityState(rawValue: 1 << 3) }
    /// Bit 4: enclave interruption.
    @inlinable public static var enclaveInterruption: InterruptibilityState { InterruptibilityState(rawValue: 1 << 4) }

    /// Blocking by STI or by MOV SS: what holds back external interrupts (and, on this
    /// processor, NMIs as Table 25-3 permits) for one instruction.
    @inlinable public static var blockingBySTIOrMovSS: InterruptibilityState { [.blockingBySTI, .blockingByMovSS] }

    /// The field as the processor holds it: its interrupt shadow and NMI blocking.
    init(shadow: InterruptShadow, nmiBlocked: Bool) {
        var s: InterruptibilityState = []
        if shadow.contains(.sti) { s.insert(.blockingBySTI) }
        if shadow.contains(.movSS) { s.insert(.blockingByMovSS) }
        if nmiBlocked { s.insert(.blockingByNMI) }
        self = s
    }

    /// The interrupt shadow this field describes.
    var shadow: InterruptShadow {
        var shadow: InterruptShadow = []
        if contains(.blockingBySTI) { shadow.insert(.sti) }
        if contains(.blockingByMovSS) { shadow.insert(.movSS) }
        return shadow
    }
}

extension VMCS {
    /// The guest interruptibility-state field, typed.
    @inlinable public var guestInterruptibility: InterruptibilityState {
        get { typed(.guestInterruptibilityState) }
        set { setTyped(.guestInterruptibilityState, newValue) }
    }
}
