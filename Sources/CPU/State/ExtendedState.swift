/// One x87 data register as the FPU holds it: the 80-bit double-extended format
/// (SDM Vol. 1 §4.2.2, Figure 4-3): a 64-bit significand with an explicit integer bit and
/// a sign + 15-bit exponent word. MMX register MMi is `significand` of physical register Ri
/// (SDM Vol. 1 §9.2.1); writing MMi sets `signExponent` to all ones.
public struct X87Register: Sendable, Equatable {
    public var significand: UInt64
    public var signExponent: UInt16
    public init(significand: UInt64 = 0, signExponent: UInt16 = 0) {
        self.significand = significand
        self.signExponent = signExponent
    }
}

/// One 128-bit XMM register (SDM Vol. 1 §10.2.2), as two little-endian quadwords.
public struct XMMRegister: Sendable, Equatable {
    public var low: UInt64
    public var high: UInt64
    public init(low: UInt64 = 0, high: UInt64 = 0) { self.low = low; self.high = high }
}

/// The x87 FPU's control, status and pointer registers (SDM Vol. 1 §8.1, Figure 8-1).
/// `top` is kept apart from `status` (FSW bits 13:11 are assembled on read).
public struct X87Control: Sendable, Equatable {
    /// FCW: 0040H at power-up (SDM Vol. 3A Table 10-1), 037FH after FNINIT.
    public var control: UInt16 = 0x0040
    /// FSW without TOP (bits 13:11 are zero here).
    public var status: UInt16 = 0
    /// Stack top, 0–7.
    public var top: UInt8 = 0
    /// Full tag word, two bits per physical register: 00 valid, 01 zero, 10 special, 11 empty.
    public var tags: UInt16 = 0x5555
    /// Last non-control instruction's opcode (11 bits), instruction and data pointers.
    public var opcode: UInt16 = 0
    public var instructionPointer: UInt64 = 0
    public var instructionSelector: UInt16 = 0
    public var dataPointer: UInt64 = 0
    public var dataSelector: UInt16 = 0

    public init() {}

    /// FSW as FNSTSW stores it (TOP in bits 13:11).
    public var statusWord: UInt16 { (status & ~0x3800) | (UInt16(top & 7) << 11) }

    /// FNINIT / FINIT state (SDM Vol. 1 §8.1.5 and FINIT/FNINIT): FCW 037FH, FSW 0, all tags
    /// empty, pointers and opcode 0.
    public static let initialized: X87Control = {
        var c = X87Control()
        c.control = 0x037F
        c.tags = 0xFFFF
        return c
    }()
}

/// x87, MMX and SSE state of one logical processor (the state FXSAVE/XSAVE save).
/// Register files are allocated once and reached through pointers (no ARC on the hot path).
public final class ExtendedState {
    /// Physical x87 registers R0–R7 (ST(i) is R((top + i) mod 8)).
    public let x87: UnsafeMutablePointer<X87Register>
    public var control = X87Control()
    /// XMM0–XMM15.
    public let xmm: UnsafeMutablePointer<XMMRegister>
    /// MXCSR (SDM Vol. 1 §10.2.3); reset value 1F80H.
    public var mxcsr: UInt32 = 0x1F80
    /// PKRU (SDM Vol. 3A §4.6.2): access-disable (bit 2i) and write-disable (bit 2i + 1) for
    /// protection key i on user-mode addresses. XSAVE state component 9; 0 at RESET.
    public var pkru: UInt32 = 0
    /// MXCSR bits software may set (MXCSR_MASK, SDM Vol. 1 §11.6.6): FZ, RC, masks, flags, DAZ.
    public static let mxcsrMask: UInt32 = 0xFFFF
    /// Four 16-byte slots the x87 implementation hands to the host FPU (X87HostFPU.swift).
    let hostScratch: UnsafeMutableRawPointer

    public init() {
        hostScratch = .allocate(byteCount: 64, alignment: 16)
        hostScratch.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        x87 = .allocate(capacity: 8)
        x87.initialize(repeating: X87Register(), count: 8)
        xmm = .allocate(capacity: 16)
        xmm.initialize(repeating: XMMRegister(), count: 16)
    }

    deinit {
        x87.deallocate()
        xmm.deallocate()
        hostScratch.deallocate()
    }

    /// Power-up / RESET state (SDM Vol. 3A Table 10-1): FCW 0040H, FSW 0, tags 5555H,
    /// data registers +0.0, XMM registers 0, MXCSR 1F80H. INIT leaves it unchanged.
    public func reset() {
        for i in 0..<8 { x87[i] = X87Register() }
        for i in 0..<16 { xmm[i] = XMMRegister() }
        control = X87Control()
        mxcsr = 0x1F80
        pkru = 0
    }

    // MARK: MMX state transitions (SDM Vol. 1 §9.5.1, Table 9-2)

    /// What every MMX instruction except EMMS does to the x87 state first: TOP = 0 and all
    /// tags valid (00). (Writing MMi also sets bits 79:64 of Ri to all ones; the MMX
    /// instruction does that itself.) #MF for a pending x87 exception is raised before
    /// (see `Processor.x87PendingFault()`).
    public func enterMMXState() {
        control.top = 0
        control.tags = 0
    }

    /// EMMS (SDM Vol. 2A EMMS): all tags empty (FFFFH).
    public func emms() {
        control.tags = 0xFFFF
    }
}
