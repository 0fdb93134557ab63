/// Information for VM exits that occur during event delivery (SDM Vol. 3C §25.9.3, §28.2.3):
/// the IDT-vectoring information and error code fields describe the event (exception,
/// interrupt, NMI — including one injected by VM entry, §27.6.1.2) whose delivery through the
/// IDT caused the VM exit: a fault during delivery that the exception bitmap turns into an exit,
/// or an EPT violation/misconfiguration while reading the IDT or writing the stack.
/// Not "during event delivery" (§28.2.3): an event that causes the exit directly (an NMI with
/// "NMI exiting", an exception in the bitmap), a double fault produced by the original event
/// that then exits, the fetch of the handler's first instruction, and triple faults.
extension Processor {
    /// The format of the IDT-vectoring information field (§25.9.3): vector (7:0), type
    /// (10:8), error code valid (11), valid (31).
    static func idtVectoringInformation(_ e: Event) -> InterruptionInformation {
        InterruptionInformation(vector: e.vector, type: e.type, deliversErrorCode: pushesErrorCode(e))
    }

    /// SDM Vol. 3C §28.2.3 — records that the pending VM exit happened while `e` was being
    /// delivered: IDT-vectoring information, its error code, and for software interrupts and
    /// exceptions the VM-exit instruction length (§28.2.4: the length of INT n / INT3 / INTO /
    /// INT1 whose delivery was interrupted). §28.1: an event that causes a VM exit indirectly
    /// first takes the processor out of an inactive state, so the exit saves "active" (HLT
    /// woken by the event; shutdown by an NMI), and there is no blocking by STI or MOV SS when
    /// the exit commences.
    func recordEventDuringDelivery(_ e: Event) {
        if activity == .hlt || (activity == .shutdown && e.type == .nmi) { activity = .active }
        shadowRetired = ~0
        pendingExit.idtVectoringInfo = Self.idtVectoringInformation(e)
        pendingExit.idtVectoringErrorCode = Self.pushesErrorCode(e) ? e.errorCode : 0
        if e.type == .softwareInterrupt || e.type == .softwareException || e.type == .privilegedSoftwareException {
            pendingExit.instructionLength = UInt32(e.instructionLength)
        }
    }
}
