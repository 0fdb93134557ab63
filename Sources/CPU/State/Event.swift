/// Exception and interrupt vectors (SDM Vol. 3A §6.3.1, Table 6-1).
public enum Vector {
    public static let de: UInt8 = 0
    public static let db: UInt8 = 1
    public static let nmi: UInt8 = 2
    public static let bp: UInt8 = 3
    public static let of: UInt8 = 4
    public static let br: UInt8 = 5
    public static let ud: UInt8 = 6
    public static let nm: UInt8 = 7
    public static let df: UInt8 = 8
    public static let ts: UInt8 = 10
    public static let np: UInt8 = 11
    public static let ss: UInt8 = 12
    public static let gp: UInt8 = 13
    public static let pf: UInt8 = 14
    public static let mf: UInt8 = 16
    public static let ac: UInt8 = 17
    public static let mc: UInt8 = 18
    public static let xm: UInt8 = 19
    public static let ve: UInt8 = 20
    public static let cp: UInt8 = 21

    /// Vectors whose delivery pushes an error code (SDM Vol. 3A §6.13, Table 6-1).
    public static func pushesErrorCode(_ v: UInt8) -> Bool {
        switch v {
        case df, ts, np, ss, gp, pf, ac, cp: return true
        default: return false
        }
    }

    /// Exception classes for double-fault detection (SDM Vol. 3A §6.15, Table 6-4/6-5).
    public enum Class { case benign, contributory, pageFault }
    public static func exceptionClass(_ v: UInt8) -> Class {
        switch v {
        case de, ts, np, ss, gp: return .contributory
        case pf, ve: return .pageFault
        default: return .benign
        }
    }
}

/// Interruption types as the VM-entry interruption-information and IDT-vectoring
/// fields encode them (SDM Vol. 3C §25.8.3, Table 25-17).
public enum InterruptionType: UInt8, Sendable {
    case external = 0
    case nmi = 2
    case hardwareException = 3
    case softwareInterrupt = 4
    case privilegedSoftwareException = 5
    case softwareException = 6
    case other = 7
}

/// An event being delivered through the IDT: an exception, interrupt or NMI.
public struct Event: Equatable, Sendable {
    public var vector: UInt8
    public var type: InterruptionType
    public var errorCode: UInt32
    public var hasErrorCode: Bool
    /// Instruction length for software interrupts / exceptions (the saved RIP is past it).
    public var instructionLength: UInt8

    public init(vector: UInt8, type: InterruptionType, errorCode: UInt32 = 0, hasErrorCode: Bool = false,
                instructionLength: UInt8 = 0) {
        self.vector = vector
        self.type = type
        self.errorCode = errorCode
        self.hasErrorCode = hasErrorCode
        self.instructionLength = instructionLength
    }

    public static func exception(_ v: UInt8) -> Event {
        Event(vector: v, type: .hardwareException)
    }
    public static func exception(_ v: UInt8, errorCode: UInt32) -> Event {
        Event(vector: v, type: .hardwareException, errorCode: errorCode, hasErrorCode: true)
    }
    /// A hardware exception's saved RIP is the faulting instruction, except for the
    /// trap-class exceptions delivered as "software exceptions" (INT3, INTO) and INT n.
    public var savesNextRIP: Bool {
        type == .softwareInterrupt || type == .softwareException || type == .privilegedSoftwareException
    }
}

/// Why a guest instruction did not complete normally. Thrown (typed) by instruction
/// handlers and memory accesses; caught by the run loop.
public enum Fault: Error, Sendable {
    /// An exception to deliver through the guest IDT (or to turn into a VM exit).
    case exception(Event)
    /// A VM exit; its information has been recorded in `Processor.pendingExit`.
    case vmExit
    /// Processor shutdown (triple fault) outside VMX non-root operation.
    case shutdown
}

extension Fault {
    public static func gp(_ code: UInt32 = 0) -> Fault { .exception(.exception(Vector.gp, errorCode: code)) }
    public static func ss(_ code: UInt32 = 0) -> Fault { .exception(.exception(Vector.ss, errorCode: code)) }
    public static func np(_ code: UInt32) -> Fault { .exception(.exception(Vector.np, errorCode: code)) }
    public static func ts(_ code: UInt32) -> Fault { .exception(.exception(Vector.ts, errorCode: code)) }
    public static var ud: Fault { .exception(.exception(Vector.ud)) }
    public static var de: Fault { .exception(.exception(Vector.de)) }
    public static var nm: Fault { .exception(.exception(Vector.nm)) }
    /// #MF: x87 floating-point error (SDM Vol. 3A §6.15 interrupt 16), no error code.
    public static var mf: Fault { .exception(.exception(Vector.mf)) }
    /// #XM: an unmasked SIMD floating-point exception (SDM Vol. 3A §6.15 interrupt 19).
    public static var xm: Fault { .exception(.exception(Vector.xm)) }
    public static func ac() -> Fault { .exception(.exception(Vector.ac, errorCode: 0)) }
}
