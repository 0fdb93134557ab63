import Foundation
import X86Assembler
import CPU

/// A processor with 16 MiB and a builder of VMCSs for 64-bit test guests.
final class VMXTestGuest {
    static let code: UInt64 = 0x10_0000
    let memory = try! PhysicalMemory(size: 16 << 20)
    let bus = TestBus()
    lazy var cpu = Processor(memory: memory, bus: bus)
    /// Every VM entry of a VMX test compares the cached entry checks with the full check
    /// (`VMEntryCheckCache.verify`: a difference traps, naming both rows).
    init() { VMEntryCheckCache.verify = true }

    /// A VMCS for a 64-bit guest at `code` with 1 GiB identity-mapped (tables at 0x1000).
    func vmcs(_ build: (Assembler) -> Void) throws -> VMCS {
        let a = Assembler(mode: .bits64, origin: Self.code)
        build(a)
        try memory.write(a.assemble(), at: Self.code)
        try memory.store(UInt64(0x2007), at: 0x1000)
        try memory.store(UInt64(0x3007), at: 0x2000)
        for k in 0..<512 { try memory.store(UInt64(k) << 21 | 0x87, at: 0x3000 + UInt64(k) * 8) }
        let v = VMCS()
        v[.pinBasedControls] = UInt64(PinBasedControls.default1.rawValue)
        v[.primaryProcessorBasedControls] = UInt64(PrimaryProcessorBasedControls.default1.rawValue & ~(3 << 15))
        v[.exitControls] = UInt64(VMExitControls.default1.rawValue | VMExitControls.hostAddressSpaceSize.rawValue)
        v[.entryControls] = UInt64(VMEntryControls.default1.rawValue | VMEntryControls.ia32eModeGuest.rawValue)
        v[.hostCR0] = 0x8000_0031; v[.hostCR4] = 0x2020; v[.hostCR3] = 0x1000
        v[.hostCSSelector] = 8; v[.hostSSSelector] = 0x10; v[.hostTRSelector] = 0x18; v[.hostRIP] = 0x1234
        v[.guestCR0] = 0x8000_0031; v[.guestCR4] = 0x2020; v[.guestCR3] = 0x1000
        v[.guestRIP] = Self.code; v[.guestRSP] = 0x8_0000; v[.guestRFLAGS] = 2; v[.guestDR7] = 0x400
        v[.guestCSSelector] = 8; v[.guestCSLimit] = 0xFFFF_FFFF; v[.guestCSAccessRights] = 0xA09B
        for (sel, lim, ar) in [(VMCSField.guestSSSelector, VMCSField.guestSSLimit, VMCSField.guestSSAccessRights),
                               (.guestDSSelector, .guestDSLimit, .guestDSAccessRights),
                               (.guestESSelector, .guestESLimit, .guestESAccessRights),
                               (.guestFSSelector, .guestFSLimit, .guestFSAccessRights),
                               (.guestGSSelector, .guestGSLimit, .guestGSAccessRights)] {
            v[sel] = 0x10; v[lim] = 0xFFFF_FFFF; v[ar] = 0xC093
        }
        v[.guestLDTRAccessRights] = 0x1_0000
        v[.guestTRSelector] = 0x18; v[.guestTRLimit] = 0x67; v[.guestTRAccessRights] = 0x8B
        v[.guestGDTRLimit] = 0x1F; v[.guestIDTRLimit] = 0xFFF
        return v
    }

}
