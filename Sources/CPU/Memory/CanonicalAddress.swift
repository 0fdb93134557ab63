/// Canonical linear addresses (SDM Vol. 1 §3.3.7.1 "Canonical Addressing", Vol. 3A §4.5): with
/// a linear-address width of N bits (48 for 4-level paging, 57 for 5-level), an address is
/// canonical when bits 63:N−1 all equal bit N−1. The one rule every check uses; callers say
/// which width applies (the paging mode in use, the processor's maximum, or — for VMX host
/// state — the host CR4.LA57 a VM exit will load).
public enum CanonicalAddress {
    /// 48 (4-level) or 57 (5-level paging, CR4.LA57 = 1).
    @inline(__always)
    public static func width(la57: Bool) -> Int { la57 ? 57 : 48 }

    @inline(__always)
    public static func isCanonical(_ a: UInt64, width n: Int) -> Bool {
        let shift = UInt64(64 - n)
        return UInt64(bitPattern: Int64(bitPattern: a << shift) >> Int64(shift)) == a
    }
}
