/// An effective-address expression: base + index × scale + displacement.
public struct Address: Sendable {
    public var base: Register?
    public var index: Register?
    public var scale: UInt8 = 1
    public var displacement: Int64 = 0
    /// RIP-relative: displacement relative to the end of the instruction (64-bit mode).
    public var ripRelative = false
    /// An absolute address taken from a label (plus `displacement`), resolved at assembly.
    public var label: Label?

    public init(base: Register? = nil, index: Register? = nil, scale: UInt8 = 1, displacement: Int64 = 0) {
        self.base = base
        self.index = index
        self.scale = scale
        self.displacement = displacement
    }

    /// `[rip + displacement]`.
    public static func rip(_ displacement: Int64) -> Address {
        var a = Address(displacement: displacement)
        a.ripRelative = true
        return a
    }
}

extension Address {
    /// `[label + displacement]`: an absolute disp32 resolved when the label is bound.
    public static func at(_ label: Label, _ displacement: Int64 = 0) -> Address {
        var a = Address(displacement: displacement)
        a.label = label
        return a
    }
}

/// A scaled index register: `rcx * 4`.
public struct ScaledIndex: Sendable {
    public let register: Register
    public let scale: UInt8
}

public func * (lhs: Register, rhs: Int) -> ScaledIndex {
    precondition([1, 2, 4, 8].contains(rhs), "scale must be 1, 2, 4 or 8")
    return ScaledIndex(register: lhs, scale: UInt8(rhs))
}
public func + (lhs: Register, rhs: Int64) -> Address { Address(base: lhs, displacement: rhs) }
public func - (lhs: Register, rhs: Int64) -> Address { Address(base: lhs, displacement: -rhs) }
public func + (lhs: Register, rhs: Register) -> Address { Address(base: lhs, index: rhs) }
public func + (lhs: Register, rhs: ScaledIndex) -> Address {
    Address(base: lhs, index: rhs.register, scale: rhs.scale)
}
public func + (lhs: Address, rhs: Int64) -> Address {
    var a = lhs; a.displacement &+= rhs; return a
}
public func - (lhs: Address, rhs: Int64) -> Address {
    var a = lhs; a.displacement &-= rhs; return a
}

/// A memory operand: an address, an access width, and an optional segment override.
public struct Memory: Sendable {
    public var address: Address
    /// Width in bytes (1, 2, 4, 8; 6/10 for descriptor-table pseudo-descriptors; 16 for CMPXCHG16B).
    public var size: Int
    public var segment: SegmentRegister?

    public init(_ address: Address, size: Int, segment: SegmentRegister? = nil) {
        self.address = address
        self.size = size
        self.segment = segment
    }

    /// The same operand with a segment override prefix.
    public func on(_ segment: SegmentRegister) -> Memory {
        var m = self; m.segment = segment; return m
    }
}

/// Builds memory operands of one width: `qword[rax + 8]`, `dword[0x1000]`.
public struct MemoryWidth: Sendable {
    public let size: Int
    public subscript(_ address: Address) -> Memory { Memory(address, size: size) }
    public subscript(_ base: Register) -> Memory { Memory(Address(base: base), size: size) }
    public subscript(_ absolute: Int64) -> Memory { Memory(Address(displacement: absolute), size: size) }
    public subscript(_ label: Label) -> Memory { Memory(.at(label), size: size) }
}

public let byte = MemoryWidth(size: 1)
public let word = MemoryWidth(size: 2)
public let dword = MemoryWidth(size: 4)
public let qword = MemoryWidth(size: 8)
/// A 16-byte operand (CMPXCHG16B, INVEPT/INVVPID/INVPCID descriptors).
public let oword = MemoryWidth(size: 16)
/// Any memory operand whose width the instruction implies (LGDT, INVLPG, VMPTRLD, …).
public let mem = MemoryWidth(size: 0)

/// A register or memory operand (ModRM.rm).
public enum RegisterOrMemory: Sendable {
    case register(Register)
    case memory(Memory)

    var size: Int {
        switch self {
        case .register(let r): return r.size
        case .memory(let m): return m.size
        }
    }
}

/// Anything that can stand in ModRM.rm.
public protocol RMOperand: Sendable {
    var rm: RegisterOrMemory { get }
}
extension Register: RMOperand {
    public var rm: RegisterOrMemory { .register(self) }
}
extension Memory: RMOperand {
    public var rm: RegisterOrMemory { .memory(self) }
}
