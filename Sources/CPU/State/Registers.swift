/// General-purpose register numbers in the encoding order of the ModR/M `reg`/`rm`
/// fields extended by REX (SDM Vol. 2A §2.1.5, Table 2-2; §2.2.1.2).
public enum GPR: Int, CaseIterable, Sendable {
    case rax = 0, rcx, rdx, rbx, rsp, rbp, rsi, rdi
    case r8, r9, r10, r11, r12, r13, r14, r15
}

/// Segment registers in the order the `sreg` field of MOV Sreg encodes them
/// (SDM Vol. 2A §3.1.1.3, "Sreg"), which is also the VMCS guest-state order.
public enum SegmentRegisterIndex: Int, CaseIterable, Sendable {
    case es = 0, cs, ss, ds, fs, gs
}

/// A segment register with its hidden descriptor cache (SDM Vol. 3A §3.4.3).
///
/// `accessRights` uses the VMCS "access rights" format (SDM Vol. 3C §25.4.1, Table 25-2):
/// bits 3:0 type, 4 S, 6:5 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G, 16 segment unusable.
public struct SegmentRegister: Equatable, Sendable {
    public var selector: UInt16
    public var base: UInt64
    public var limit: UInt32
    public var accessRights: UInt32

    public init(selector: UInt16 = 0, base: UInt64 = 0, limit: UInt32 = 0xFFFF, accessRights: UInt32 = 0x93) {
        self.selector = selector
        self.base = base
        self.limit = limit
        self.accessRights = accessRights
    }

    public static let unusableBit: UInt32 = 1 << 16

    public var type: UInt32 { accessRights & 0xF }
    public var isSystem: Bool { accessRights & 0x10 == 0 }
    public var dpl: Int { Int((accessRights >> 5) & 3) }
    public var present: Bool { accessRights & 0x80 != 0 }
    public var longMode: Bool { accessRights & (1 << 13) != 0 }
    public var defaultBig: Bool { accessRights & (1 << 14) != 0 }
    public var granularity: Bool { accessRights & (1 << 15) != 0 }
    public var unusable: Bool { accessRights & SegmentRegister.unusableBit != 0 }
    /// Code segment (S=1, type bit 3 set).
    public var isCode: Bool { accessRights & 0x18 == 0x18 }
    /// Expand-down data segment (S=1, type bit 3 clear, bit 2 set).
    public var isExpandDown: Bool { accessRights & 0x1C == 0x14 }

    /// The descriptor-cache contents a real-mode (or virtual-8086) segment load produces
    /// (SDM Vol. 3A §20.1.1): base = selector × 16, limit and attributes unchanged except base.
    public static func realMode(selector: UInt16, code: Bool = false) -> SegmentRegister {
        SegmentRegister(selector: selector, base: UInt64(selector) << 4, limit: 0xFFFF,
                        accessRights: code ? 0x9B : 0x93)
    }

    /// Builds the cached form of a legacy 8-byte segment descriptor (SDM Vol. 3A §3.4.5).
    public static func fromDescriptor(selector: UInt16, low: UInt32, high: UInt32) -> SegmentRegister {
        let base = UInt64((low >> 16) | ((high & 0xFF) << 16) | (high & 0xFF00_0000))
        var limit = (low & 0xFFFF) | (high & 0x000F_0000)
        let ar = (high >> 8) & 0xF0FF
        if ar & 0x8000 != 0 { limit = (limit << 12) | 0xFFF }
        return SegmentRegister(selector: selector, base: base, limit: limit, accessRights: ar)
    }
}

/// GDTR / IDTR: base and 16-bit limit (SDM Vol. 3A §2.4.1, §2.4.3).
public struct DescriptorTableRegister: Equatable, Sendable {
    public var base: UInt64
    public var limit: UInt32
    public init(base: UInt64 = 0, limit: UInt32 = 0xFFFF) {
        self.base = base
        self.limit = limit
    }
}
