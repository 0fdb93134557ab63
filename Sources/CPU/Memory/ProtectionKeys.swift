/// Protection keys (SDM Vol. 3A §4.6.2 "Protection Keys"): with 4- or 5-level paging, bits
/// 62:59 of the leaf paging-structure entry select one of 16 keys. PKRU (CR4.PKE) governs data
/// accesses to user-mode addresses, IA32_PKRS (CR4.PKS) data accesses to supervisor-mode
/// addresses; instruction fetches are never checked. The rights are folded into a TLB entry's
/// permission bits when it is filled, and PKRU / PKRS are part of the TLB set's basis
/// (`pagingControlBasis`), so WRPKRU and WRMSR IA32_PKRS select the set for the new values
/// without invalidating anything (they are not TLB-invalidating operations, §4.10.4.1).
extension Processor {
    /// The protection-key rights register for the leaf `leaf` of an IA-32e walk, as the two
    /// bits (AD = bit 0, WD = bit 1) of its key: PKRU for a user-mode address (`user`),
    /// IA32_PKRS for a supervisor-mode one; 0 (no restriction) when the register is off.
    @inline(__always)
    func protectionKeyRights(leaf: UInt64, user: Bool) -> UInt32 {
        let key = UInt32((leaf >> 59) & 0xF)
        if user {
            return cr4 & CR4.pke != 0 ? (extended.pkru >> (2 * key)) & 3 : 0
        }
        return cr4 & CR4.pks != 0 ? UInt32(truncatingIfNeeded: msr.pkrs >> UInt64(2 * key)) & 3 : 0
    }

    /// §4.6.2: whether the protection key denies a data access that paging itself permits.
    /// AD denies reads and writes; WD denies user-mode writes, and supervisor-mode writes when
    /// CR0.WP = 1.
    static func protectionKeyDenies(_ rights: UInt32, write: Bool, userAccess: Bool, wp: Bool) -> Bool {
        if rights & 1 != 0 { return true }
        return write && rights & 2 != 0 && (userAccess || wp)
    }

    /// The TLB permission bits a key's rights leave (see `protectionKeyDenies`); execute
    /// permissions are untouched.
    static func protectionKeyPermissions(_ perms: UInt32, rights: UInt32, wp: Bool) -> UInt32 {
        var p = perms
        if rights & 1 != 0 {
            p &= ~(TLBPerm.readUser | TLBPerm.readSupervisor | TLBPerm.readSupervisorSMAP | TLBPerm.allWrite)
        } else if rights & 2 != 0 {
            p &= ~TLBPerm.writeUser
            if wp { p &= ~(TLBPerm.writeSupervisor | TLBPerm.writeSupervisorSMAP) }
        }
        return p
    }

    /// The protection-key part of the TLB basis: the PKRU and IA32_PKRS values in force
    /// (0 for a register its CR4 bit leaves off, which restricts nothing either).
    var protectionKeyBasis: UInt64 {
        let u: UInt64 = cr4 & CR4.pke != 0 ? UInt64(extended.pkru) : 0
        let s: UInt64 = cr4 & CR4.pks != 0 ? msr.pkrs & 0xFFFF_FFFF : 0
        return u | s << 32
    }

    /// RDPKRU (SDM Vol. 2B): #UD unless CR4.PKE = 1; #GP(0) if ECX ≠ 0; EAX ← PKRU, EDX ← 0.
    func execRdpkru(_ i: Inst) throws(Fault) {
        if cr4 & CR4.pke == 0 { throw Fault.ud }
        if gpr[GPR.rcx.rawValue] & 0xFFFF_FFFF != 0 { throw Fault.gp(0) }
        gpr[GPR.rax.rawValue] = UInt64(extended.pkru)
        gpr[GPR.rdx.rawValue] = 0
    }

    /// WRPKRU (SDM Vol. 2D): #UD unless CR4.PKE = 1; #GP(0) if ECX or EDX ≠ 0; PKRU ← EAX.
    func execWrpkru(_ i: Inst) throws(Fault) {
        if cr4 & CR4.pke == 0 { throw Fault.ud }
        if gpr[GPR.rcx.rawValue] & 0xFFFF_FFFF != 0 || gpr[GPR.rdx.rawValue] & 0xFFFF_FFFF != 0 { throw Fault.gp(0) }
        loadPKRU(UInt32(truncatingIfNeeded: gpr[GPR.rax.rawValue]))
    }

    /// PKRU ← `v` (WRPKRU, XRSTOR): a new value selects the TLB set for it; nothing is
    /// invalidated.
    func loadPKRU(_ v: UInt32) {
        if v == extended.pkru { return }
        extended.pkru = v
        selectTLBSetForDataAccessControls()
    }

    /// WRMSR IA32_PKRS (SDM Vol. 4 Table 2-2): #GP without PKS or with bits 63:32 set.
    func writePKRS(_ v: UInt64) -> Bool {
        guard model.has(.pks), v >> 32 == 0 else { return false }
        if v == msr.pkrs { return true }
        msr.pkrs = v
        selectTLBSetForDataAccessControls()
        return true
    }
}
