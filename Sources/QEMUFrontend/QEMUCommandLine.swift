import CommandLineSupport

/// The subset of qemu-system-x86_64's command line that kvm-unit-tests' `x86/run` and its
/// `unittests.cfg` entries pass, plus the flags people type by hand (`-nographic`,
/// `-serial file:`), parsed into a machine description. Every accepted flag is in
/// `QEMUCommandLine.flags` (which `-h` prints); anything else is rejected with a message
/// naming the flag, never silently ignored.
public struct QEMUCommandLine: Equatable, Sendable {
    public var kernel: String?
    public var initrd: String?
    public var append: String = ""
    public var memoryBytes: UInt64 = 128 << 20
    public var smp: Int = 1
    public var cpu: String = "qemu64"
    public var noReboot = false
    /// `-no-shutdown`: a guest shutdown stops the machine but not the process.
    public var noShutdown = false
    /// `-nodefaults`: no default serial port backend.
    public var noDefaults = false
    /// `-nographic`: no display; the serial port on stdio.
    public var noGraphic = false
    /// Where a serial port's output goes.
    public enum SerialBackend: Equatable, Sendable {
        case stdio
        case none
        case file(String)
    }
    /// `-serial` as given; nil for the default (`serialBackend`).
    public var serial: SerialBackend?
    /// The only accelerator: Matryoshka's processor ("tcg" to QEMU's scripts).
    public var accelerator = "tcg"
    /// isa-debug-exit's port window, when the device is present.
    public struct DebugExitPorts: Equatable, Sendable {
        public var base: UInt16
        public var size: UInt16
    }
    public var debugExit: DebugExitPorts?
    public var pcTestdev = false
    /// `-machine pit=off`.
    public var pit = true
    /// `-M` / `-machine` type: QEMU's `pc` (i440FX) or `q35`, with or without a version.
    public enum MachineType: String, Sendable { case pc, q35 }
    public var machine: MachineType = .pc
    /// `-machine kernel-irqchip=on|off|split`: where KVM would put the interrupt
    /// controllers; here they are always L0's, so it only has to be a valid value.
    public var kernelIrqchip: String?
    /// `-device intel-iommu[,intremap=on|off][,eim=on|off]` (q35 only).
    public struct IntelIOMMU: Equatable, Sendable {
        public var interruptRemapping = false
        public var extendedInterruptMode = false
    }
    public var intelIOMMU: IntelIOMMU?
    /// `-device edu`.
    public var edu = false
    /// `-device ?`, `-machine help`, `-cpu help`: list and exit.
    public var listDevices = false
    public var listMachines = false
    public var listCPUs = false
    /// `-h` / `--help` / `-version`.
    public var help = false
    public var version = false

    /// What COM1 is connected to: `-serial`; else stdio with `-nographic`; else nothing with
    /// `-nodefaults`; else stdio too — QEMU would show the port on a virtual console in its
    /// window, and Matryoshka has no display to show one on.
    public var serialBackend: SerialBackend {
        if let serial { return serial }
        return noDefaults && !noGraphic ? .none : .stdio
    }

    public var memoryMiB: UInt64 { memoryBytes >> 20 }

    public init() {}

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// The devices `-device ?` lists, in QEMU's format (x86/run greps for "pc-testdev").
    public static let deviceList = """
        name "edu", bus PCI
        name "intel-iommu", bus System, desc "Intel IOMMU (VT-d) DMA Remapping device"
        name "isa-debug-exit", bus ISA
        name "isa-serial", bus ISA, alias "serial"
        name "pc-testdev", bus ISA
        """

    /// First line of `-h` / `-version`: kvm-unit-tests parses "QEMU emulator version X.Y.Z".
    public static let versionLine =
        "QEMU emulator version \(ProductVersion.qemu) (Matryoshka \(ProductVersion.matryoshka) QEMU-compatible front end)"

    public init(arguments: [String]) throws {
        var i = 0
        while i < arguments.count {
            var name = arguments[i]
            if name.hasPrefix("--") { name.removeFirst() }   // QEMU accepts -flag and --flag
            guard let flag = Self.flag(named: name) else { throw ParseError("unsupported option '\(arguments[i])' (-h lists the accepted ones)") }
            var value = ""
            if flag.argument != nil {
                i += 1
                guard i < arguments.count else { throw ParseError("option \(name) needs a value") }
                value = arguments[i]
            }
            try flag.apply(&self, value, name)
            i += 1
        }
        // As QEMU: intel-iommu is a dynamic system-bus device only q35 accepts.
        if intelIOMMU != nil && machine != .q35 {
            throw ParseError("-device intel-iommu: Parameter 'driver' expects a dynamic sysbus device type for the machine")
        }
    }

    /// `-smp 4` or `-smp cpus=4,...`; above the maximum, QEMU's words (kvm-unit-tests'
    /// MAX_SMP probe reads the number after "SMP CPUs").
    static func parseSMP(_ s: String, machine: MachineType) throws -> Int {
        let first = s.split(separator: ",").first.map(String.init) ?? s
        let text = first.hasPrefix("cpus=") ? String(first.dropFirst(5)) : first
        guard let n = Int(text), n >= 1 else { throw ParseError("invalid -smp '\(s)' (1 ... 64 CPUs)") }
        guard n <= 64 else { throw ParseError("Invalid SMP CPUs \(n). The max CPUs supported by machine '\(machine.rawValue)' is 64") }
        return n
    }

    /// `-serial stdio|mon:stdio|none|null|file:PATH`.
    static func parseSerial(_ v: String) throws -> SerialBackend {
        switch v {
        case "stdio", "mon:stdio": return .stdio
        case "none", "null": return .none
        default:
            if v.hasPrefix("file:"), v.count > 5 { return .file(String(v.dropFirst(5))) }
            throw ParseError("-serial \(v) is not supported (stdio, mon:stdio, file:PATH, none or null)")
        }
    }

    /// `-accel NAME[,thread=single|multi][,tb-size=N]` and `-machine accel=A[:B…]`: Matryoshka's
    /// own processor is the only accelerator, called `tcg` as QEMU's emulator is; a list is
    /// accepted if it has `tcg` (QEMU tries them in order), anything else is refused.
    static func parseAccelerator(_ v: String, list: Bool) throws -> String {
        let parts = v.split(separator: ",").map(String.init)
        let names = list ? v.split(separator: ":").map(String.init) : [parts.first ?? v]
        if !list {
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[0] == "thread" && (kv[1] == "single" || kv[1] == "multi") || kv[0] == "tb-size" && Int(kv[1]) != nil else {
                    throw ParseError("-accel \(v): property '\(p)' is not supported (thread=single|multi, tb-size=N)")
                }
            }
        }
        if names.contains("tcg") { return "tcg" }
        let known = ["kvm", "hvf", "whpx", "xen", "nvmm", "qtest"]
        guard let first = names.first, known.contains(first) else {
            throw ParseError("-accel \(names.first ?? v): invalid accelerator \(names.first ?? v)")
        }
        throw ParseError("-accel \(first): not available: Matryoshka emulates the processor itself (use -accel tcg)")
    }

    mutating func parseMachine(_ s: String) throws {
        if s == "help" || s == "?" { listMachines = true; return }
        for part in s.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            switch (kv[0], kv.count == 2 ? kv[1] : nil) {
            case ("accel", let v?): accelerator = try Self.parseAccelerator(v, list: true)
            case ("pit", let v?):
                guard v == "on" || v == "off" else { throw ParseError("-machine pit: Parameter 'pit' does not accept value '\(v)'") }
                pit = v == "on"
            case ("kernel-irqchip", let v?):
                guard ["on", "off", "split"].contains(v) else {
                    throw ParseError("-machine kernel-irqchip: Parameter 'kernel-irqchip' does not accept value '\(v)'")
                }
                kernelIrqchip = v
            case ("type", let t?): machine = try Self.machineType(t)
            case (let t, nil) where part == kv[0]: machine = try Self.machineType(t)
            default: throw ParseError("-machine option '\(part)' is not supported")
            }
        }
    }

    /// `pc`, `q35`, and QEMU's versioned names (`pc-i440fx-7.2`, `pc-q35-8.0`): the devices
    /// here are the same for every version.
    static func machineType(_ t: String) throws -> MachineType {
        if let m = MachineType(rawValue: t) { return m }
        for (prefix, m) in [("pc-i440fx-", MachineType.pc), ("pc-q35-", .q35)] where t.hasPrefix(prefix) {
            let version = t.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
            if (2...3).contains(version.count), version.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) { return m }
        }
        throw ParseError("-machine type '\(t)' is not supported (pc, q35, pc-i440fx-X.Y, pc-q35-X.Y; -machine help)")
    }

    /// `-machine help`.
    public static let machineList = """
        Supported machines are:
        pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-\(ProductVersion.qemu.dropLast(2)))
        pc-i440fx-X.Y        Standard PC (i440FX + PIIX, 1996), any version
        q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-\(ProductVersion.qemu.dropLast(2)))
        pc-q35-X.Y           Standard PC (Q35 + ICH9, 2009), any version
        """
}
