/// MMX state and the x87 FPU (SDM Vol. 1 §9.5, §9.6.1): MMX instructions alias MM0–MM7 onto
/// the x87 data registers' significands.
extension Processor {
    /// EMMS: all x87 tags empty (SDM Vol. 2A EMMS; `ExtendedState.emms`).
    func execEmms() {
        extended.emms()
    }
}
