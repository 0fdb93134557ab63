/// Event delivery through the IDT in every mode (SDM Vol. 3A ch. 6).
extension Processor {
    /// Delivers `e` (an exception raised by an instruction, or an injected event). Returns a
    /// stop reason when delivery ends in a VM exit or shutdown.
    
    func raise(_ e: Event) -> StopReason? {
        // PLACEHOLDER: full delivery (real mode IVT, protected/long mode IDT, #DF, triple fault).
        activity = .shutdown
        return .shutdown
    }

    /// Work deferred to an instruction boundary (`pending` bits).
    
    func handlePending() -> StopReason? {
        pending = 0
        return nil
    }
}
