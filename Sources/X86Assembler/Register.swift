/// A general-purpose register operand: its number in the ModRM/REX encoding and its width.
/// AH, CH, DH and BH are the legacy high-byte registers, encodable only without a REX prefix.
public struct Register: Hashable, Sendable, CustomStringConvertible {
    /// 0…15 (RAX…R15).
    public let number: UInt8
    /// Width in bytes: 1, 2, 4 or 8.
    public let size: Int
    /// AH/CH/DH/BH (encoded as 4…7 without REX).
    public let isHighByte: Bool

    public init(number: UInt8, size: Int, isHighByte: Bool = false) {
        precondition(number < 16 && [1, 2, 4, 8].contains(size), "invalid register")
        self.number = number
        self.size = size
        self.isHighByte = isHighByte
    }

    /// SPL, BPL, SIL, DIL: byte registers 4…7 that exist only with a REX prefix.
    var needsREX: Bool { size == 1 && !isHighByte && number >= 4 && number < 8 }

    public var description: String {
        let names64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"]
        if isHighByte { return ["ah", "ch", "dh", "bh"][Int(number) - 4] }
        if number >= 8 {
            let suffix = [1: "b", 2: "w", 4: "d", 8: ""][size] ?? ""
            return "r\(number)\(suffix)"
        }
        let base = String(names64[Int(number)].dropFirst())
        switch size {
        case 8: return "r" + base
        case 4: return "e" + base
        case 2: return base
        default:
            return ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"][Int(number)]
        }
    }
}

public let rax = Register(number: 0, size: 8), rcx = Register(number: 1, size: 8)
public let rdx = Register(number: 2, size: 8), rbx = Register(number: 3, size: 8)
public let rsp = Register(number: 4, size: 8), rbp = Register(number: 5, size: 8)
public let rsi = Register(number: 6, size: 8), rdi = Register(number: 7, size: 8)
public let r8 = Register(number: 8, size: 8), r9 = Register(number: 9, size: 8)
public let r10 = Register(number: 10, size: 8), r11 = Register(number: 11, size: 8)
public let r12 = Register(number: 12, size: 8), r13 = Register(number: 13, size: 8)
public let r14 = Register(number: 14, size: 8), r15 = Register(number: 15, size: 8)

public let eax = Register(number: 0, size: 4), ecx = Register(number: 1, size: 4)
public let edx = Register(number: 2, size: 4), ebx = Register(number: 3, size: 4)
public let esp = Register(number: 4, size: 4), ebp = Register(number: 5, size: 4)
public let esi = Register(number: 6, size: 4), edi = Register(number: 7, size: 4)
public let r8d = Register(number: 8, size: 4), r9d = Register(number: 9, size: 4)
public let r10d = Register(number: 10, size: 4), r11d = Register(number: 11, size: 4)
public let r12d = Register(number: 12, size: 4), r13d = Register(number: 13, size: 4)
public let r14d = Register(number: 14, size: 4), r15d = Register(number: 15, size: 4)

public let ax = Register(number: 0, size: 2), cx = Register(number: 1, size: 2)
public let dx = Register(number: 2, size: 2), bx = Register(number: 3, size: 2)
public let sp = Register(number: 4, size: 2), bp = Register(number: 5, size: 2)
public let si = Register(number: 6, size: 2), di = Register(number: 7, size: 2)
public let r8w = Register(number: 8, size: 2), r9w = Register(number: 9, size: 2)

public let al = Register(number: 0, size: 1), cl = Register(number: 1, size: 1)
public let dl = Register(number: 2, size: 1), bl = Register(number: 3, size: 1)
public let spl = Register(number: 4, size: 1), bpl = Register(number: 5, size: 1)
public let sil = Register(number: 6, size: 1), dil = Register(number: 7, size: 1)
public let r8b = Register(number: 8, size: 1), r9b = Register(number: 9, size: 1)
public let ah = Register(number: 4, size: 1, isHighByte: true)
public let ch = Register(number: 5, size: 1, isHighByte: true)
public let dh = Register(number: 6, size: 1, isHighByte: true)
public let bh = Register(number: 7, size: 1, isHighByte: true)

/// Segment registers in their ModRM.reg encoding (SDM Vol. 2A §3.1.1.3, "Sreg").
public enum SegmentRegister: UInt8, Sendable {
    case es = 0, cs, ss, ds, fs, gs

    /// The segment-override prefix byte (SDM Vol. 2A §2.1.1).
    var overridePrefix: UInt8 { [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65][Int(rawValue)] }
}

/// A control register CR0…CR8 (encoded in ModRM.reg; CR8 needs REX.R).
public struct ControlRegister: Sendable {
    public let number: UInt8
    public init(_ n: UInt8) { number = n }
}
public let cr0 = ControlRegister(0), cr2 = ControlRegister(2), cr3 = ControlRegister(3)
public let cr4 = ControlRegister(4), cr8 = ControlRegister(8)

/// A debug register DR0…DR7.
public struct DebugRegister: Sendable {
    public let number: UInt8
    public init(_ n: UInt8) { number = n }
}
public let dr0 = DebugRegister(0), dr1 = DebugRegister(1), dr2 = DebugRegister(2)
public let dr3 = DebugRegister(3), dr6 = DebugRegister(6), dr7 = DebugRegister(7)

/// Condition codes in the tttn encoding (SDM Vol. 2D Appendix B.1.4.7).
public enum Condition: UInt8, Sendable {
    case o = 0, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g
    public static let c = Condition.b, nc = Condition.ae, z = Condition.e, nz = Condition.ne
}
