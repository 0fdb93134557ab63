/// The ports an L2 guest sees (every port but 80H exits to L1, Bitmaps.swift): a transmit-only
/// 16550 at COM1 — THR collects the guest's output, LSR always says "transmitter empty", IIR
/// "no interrupt", other registers read 0 and ignore writes — and an isa-debug-exit at F4H,
/// where the guest writes its status when it is done. Other ports behave as an empty bus (reads
/// return all ones, writes are dropped).
enum GuestPorts {
    static let com1: UInt16 = 0x3F8
    static let debugExit: UInt16 = 0xF4

    /// SDM Vol. 3C §28.2.1, Table 28-5 — exit qualification of an I/O instruction: size − 1
    /// (2:0), IN (3), string (4), REP (5), port (31:16). IN writes AL/AX/EAX (§28.1: RIP still
    /// points at the instruction; L1 advances it).
    static func handle(_ g: UnsafeMutablePointer<Guest>) -> ExitAction {
        let q = VMX.read(.exitQualification)
        let size = (q & 7) + 1
        let isIn = q & 8 != 0
        let port = UInt16(truncatingIfNeeded: q >> 16)
        guard q & 0x10 == 0 else { ExitHandler.unexpected(g, ExitReason.ioInstruction, "string I/O is not emulated") }
        let mask: UInt64 = size == 1 ? 0xFF : size == 2 ? 0xFFFF : 0xFFFF_FFFF
        let rax = g.pointee.registers[GPR.rax]
        var action = ExitAction.resume
        if isIn {
            let value = read(port) & mask
            g.pointee.registers[GPR.rax] = size == 4 ? value : (rax & ~mask) | value
        } else if port == com1 {
            transmit(g, UInt8(truncatingIfNeeded: rax))
        } else if port == debugExit {
            g.pointee.status = UInt8(truncatingIfNeeded: rax)
            action = .finished
        }
        ExitHandler.skipInstruction()
        return action
    }

    static func read(_ port: UInt16) -> UInt64 {
        switch port {
        case com1 + 5: return 0x60          // LSR: THRE | TEMT
        case com1 + 2: return 0x01          // IIR: no interrupt pending
        case com1...(com1 + 7): return 0
        default: return ~0
        }
    }

    /// Collects a byte of the guest's output; a full line goes to L1's console prefixed with the
    /// guest's name.
    static func transmit(_ g: UnsafeMutablePointer<Guest>, _ byte: UInt8) {
        if byte != 10 && byte != 13 {
            g.pointee.line[g.pointee.lineLength] = byte
            g.pointee.lineLength += 1
        }
        if byte == 10 || g.pointee.lineLength == Guest.lineCapacity { flush(g) }
    }

    static func flush(_ g: UnsafeMutablePointer<Guest>) {
        guard g.pointee.lineLength > 0 else { return }
        Console.line {
            Console.put("[")
            Console.put(g.pointee.name)
            Console.put("] ")
            Console.put(bytes: g.pointee.line, count: g.pointee.lineLength)
            Console.put(10)
        }
        g.pointee.lineLength = 0
    }
}
