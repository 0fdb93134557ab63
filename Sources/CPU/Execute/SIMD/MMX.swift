/// MMX state and the x87 FPU (SDM Vol. 1 §9.5, §9.6.1): MMX instructions alias MM0–MM7 onto
/// the x87 data registers' significands.
extension Processor {
    /// Every MMX instruction except EMMS: x87 TOP ← 0 and all tags valid (SDM Vol. 1 §9.5.1,
    /// Table 9-3).
    @inline(__always)
    func mmxTransition() {
        extended.control.top = 0
        extended.control.tags = 0
    }

    /// EMMS: all x87 tags empty (SDM Vol. 2A EMMS).
    func execEmms() {
        extended.control.tags = 0xFFFF
    }
}
