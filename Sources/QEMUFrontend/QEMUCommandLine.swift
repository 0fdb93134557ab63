/// The subset of qemu-system-x86_64's command line that kvm-unit-tests' `x86/run` and its
/// `unittests.cfg` entries pass, parsed into a machine description. Anything else is rejected
/// with a message naming the flag (exit status 2 in the front end), never silently ignored.
public struct QEMUCommandLine: Equatable, Sendable {
    public var kernel: String?
    public var initrd: String?
    public var append: String = ""
    public var memoryMiB: UInt64 = 128
    public var smp: Int = 1
    public var cpu: String = "qemu64"
    public var noReboot = false
    public var serialStdio = false
    public var accelerator = "tcg"
    /// isa-debug-exit's port window, when the device is present.
    public var debugExit: (base: UInt16, size: UInt16)?
    public var pcTestdev = false
    /// `-machine pit=off`.
    public var pit = true
    /// `-M` / `-machine` type: QEMU's `pc` (i440FX) or `q35`.
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
    /// `-device ?` / `-device help`: list devices and exit.
    public var listDevices = false
    /// `-h` / `--help` / `-version`.
    public var help = false
    public var version = false

    public static func == (a: Self, b: Self) -> Bool {
        a.kernel == b.kernel && a.initrd == b.initrd && a.append == b.append && a.memoryMiB == b.memoryMiB
            && a.smp == b.smp && a.cpu == b.cpu && a.noReboot == b.noReboot && a.serialStdio == b.serialStdio
            && a.accelerator == b.accelerator && a.debugExit?.base == b.debugExit?.base
            && a.debugExit?.size == b.debugExit?.size && a.pcTestdev == b.pcTestdev && a.pit == b.pit
            && a.listDevices == b.listDevices && a.help == b.help && a.version == b.version
            && a.machine == b.machine && a.kernelIrqchip == b.kernelIrqchip && a.intelIOMMU == b.intelIOMMU
            && a.edu == b.edu
    }

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
    public static let versionLine = "QEMU emulator version 7.2.0 (Matryoshka QEMU-compatible front end)"

    public init(arguments: [String]) throws {
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < arguments.count else { throw ParseError("option \(flag) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            var arg = arguments[i]
            if arg.hasPrefix("--") { arg.removeFirst() }   // QEMU accepts -flag and --flag
            switch arg {
            case "-kernel": kernel = try value(arg)
            case "-initrd": initrd = try value(arg)
            case "-append": append = try value(arg)
            case "-m": memoryMiB = try Self.parseMemory(try value(arg))
            case "-smp": smp = try Self.parseSMP(try value(arg))
            case "-cpu": cpu = try value(arg)
            case "-no-reboot": noReboot = true
            case "-nodefaults", "-no-user-config", "-enable-kvm": break
            case "-display", "-vga", "-monitor", "-name":
                let v = try value(arg)
                guard v == "none" || arg == "-name" else { throw ParseError("\(arg) \(v) is not supported (only 'none')") }
            case "-serial":
                let v = try value(arg)
                guard v == "stdio" || v == "none" else { throw ParseError("-serial \(v) is not supported (stdio or none)") }
                serialStdio = v == "stdio"
            case "-machine", "-M": try parseMachine(try value(arg))
            case "-accel": accelerator = try value(arg)
            case "-global":
                let v = try value(arg)
                // The PIT lost-tick policy only matters for KVM's in-kernel PIT.
                guard v.hasPrefix("kvm-pit.") else { throw ParseError("-global \(v) is not supported") }
            case "-device": try parseDevice(try value(arg))
            case "-h", "-help": help = true
            case "-version": version = true
            default:
                throw ParseError("unsupported option '\(arguments[i])'")
            }
            i += 1
        }
        // As QEMU: intel-iommu is a dynamic system-bus device only q35 accepts.
        if intelIOMMU != nil && machine != .q35 {
            throw ParseError("-device intel-iommu: Parameter 'driver' expects a dynamic sysbus device type for the machine")
        }
    }

    /// `-m 256`, `-m 2G`, `-m 512M`, `-m size=1g` → MiB.
    static func parseMemory(_ s: String) throws -> UInt64 {
        var text = s.lowercased()
        if text.hasPrefix("size=") { text.removeFirst(5) }
        if let comma = text.firstIndex(of: ",") { text = String(text[..<comma]) }
        var multiplier: UInt64 = 1
        if text.hasSuffix("g") { multiplier = 1024; text.removeLast() }
        else if text.hasSuffix("m") { text.removeLast() }
        else if text.hasSuffix("k") { throw ParseError("memory size '\(s)' is below 1 MiB granularity") }
        guard let n = UInt64(text), n > 0 else { throw ParseError("invalid memory size '\(s)'") }
        let (mib, overflow) = n.multipliedReportingOverflow(by: multiplier)
        guard !overflow, mib <= 64 * 1024 else { throw ParseError("memory size '\(s)' is out of range (1 MiB ... 64 GiB)") }
        return mib
    }

    /// `-smp 4` or `-smp cpus=4,...`.
    static func parseSMP(_ s: String) throws -> Int {
        let first = s.split(separator: ",").first.map(String.init) ?? s
        let text = first.hasPrefix("cpus=") ? String(first.dropFirst(5)) : first
        guard let n = Int(text), n >= 1, n <= 64 else { throw ParseError("invalid -smp '\(s)' (1 ... 64 CPUs)") }
        return n
    }

    mutating func parseMachine(_ s: String) throws {
        for part in s.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            switch (kv[0], kv.count == 2 ? kv[1] : nil) {
            case ("accel", let v?): accelerator = v.split(separator: ":").first.map(String.init) ?? v
            case ("pit", let v?): pit = v != "off"
            case (let t, nil) where MachineType(rawValue: t) != nil: machine = MachineType(rawValue: t)!
            case ("type", let t?):
                guard let m = MachineType(rawValue: t) else { throw ParseError("-machine type '\(t)' is not supported (pc or q35)") }
                machine = m
            case ("kernel-irqchip", let v?):
                guard ["on", "off", "split"].contains(v) else {
                    throw ParseError("-machine kernel-irqchip: Parameter 'kernel-irqchip' does not accept value '\(v)'")
                }
                kernelIrqchip = v
            default: throw ParseError("-machine option '\(part)' is not supported")
            }
        }
    }

    mutating func parseDevice(_ s: String) throws {
        if s == "?" || s == "help" { listDevices = true; return }
        let parts = s.split(separator: ",").map(String.init)
        switch parts.first {
        case "pc-testdev": pcTestdev = true
        case "isa-debug-exit":
            var base: UInt16 = 0x501, size: UInt16 = 2
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let v = Self.parseInteger(kv[1]), v <= 0xFFFF else {
                    throw ParseError("isa-debug-exit: invalid property '\(p)'")
                }
                switch kv[0] {
                case "iobase": base = UInt16(v)
                case "iosize": size = UInt16(v)
                default: throw ParseError("isa-debug-exit: unknown property '\(kv[0])'")
                }
            }
            debugExit = (base, size)
        case "edu":
            if let p = parts.dropFirst().first { throw ParseError("-device edu: property '\(p)' is not supported") }
            edu = true
        case "intel-iommu":
            guard intelIOMMU == nil else { throw ParseError("-device intel-iommu: only one intel-iommu is supported") }
            var iommu = IntelIOMMU()
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { throw ParseError("-device intel-iommu: invalid property '\(p)'") }
                guard kv[0] == "intremap" || kv[0] == "eim" else {
                    throw ParseError("-device intel-iommu: Property 'intel-iommu.\(kv[0])' not found")
                }
                guard kv[1] == "on" || kv[1] == "off" else {
                    throw ParseError("-device intel-iommu: Parameter '\(kv[0])' does not accept value '\(kv[1])'")
                }
                if kv[0] == "intremap" { iommu.interruptRemapping = kv[1] == "on" } else { iommu.extendedInterruptMode = kv[1] == "on" }
            }
            if iommu.extendedInterruptMode && !iommu.interruptRemapping {
                throw ParseError("-device intel-iommu: eim=on cannot be selected without intremap=on")
            }
            intelIOMMU = iommu
        default:
            throw ParseError("-device '\(parts.first ?? s)' is not supported (see -device ?)")
        }
    }

    static func parseInteger(_ s: String) -> UInt64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        return UInt64(s)
    }
}
