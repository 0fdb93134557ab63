import CommandLineSupport

/// The flags `matryoshka-qemu` accepts: one table drives both the parser and `-h`, so the
/// help lists exactly what is accepted.
extension QEMUCommandLine {
    struct Flag: Sendable {
        /// Spellings, first one shown in `-h` (QEMU also takes each with a second dash).
        var names: [String]
        /// The value's placeholder in `-h`, nil for a flag without a value.
        var argument: String?
        var help: String
        /// Applies the value (empty without one) given under the spelling used.
        var apply: @Sendable (inout QEMUCommandLine, String, String) throws -> Void
    }

    static let flags: [Flag] = [
        Flag(names: ["-kernel"], argument: "FILE", help: "boot FILE: Multiboot (ELF, a.out kludge) or Linux bzImage") { c, v, _ in c.kernel = v },
        Flag(names: ["-initrd"], argument: "FILE", help: "Multiboot module or Linux initrd") { c, v, _ in c.initrd = v },
        Flag(names: ["-append"], argument: "CMDLINE", help: "kernel command line") { c, v, _ in c.append = v },
        Flag(names: ["-m"], argument: "SIZE", help: "RAM: MiB, or with a suffix (512M, 2G, size=1G); 1 MiB ... 64 GiB") { c, v, _ in
            do { c.memoryBytes = try MemorySize.parse(v) } catch let e as CommandLineError { throw ParseError(e.description) }
        },
        Flag(names: ["-smp"], argument: "N", help: "N vCPUs (N or cpus=N,...; 1 ... 64)") { c, v, _ in c.smp = try parseSMP(v, machine: c.machine) },
        Flag(names: ["-cpu"], argument: "MODEL", help: "CPU model and features, e.g. max, qemu64,+x2apic,-pcid (-cpu help)") { c, v, _ in
            if v == "help" || v == "?" { c.listCPUs = true } else { c.cpu = v }
        },
        Flag(names: ["-machine", "-M"], argument: "TYPE[,PROP=V]", help: "pc | q35 | pc-i440fx-X.Y | pc-q35-X.Y, accel=tcg, pit=on|off, kernel-irqchip=on|off|split (-machine help)") { c, v, _ in
            try c.parseMachine(v)
        },
        Flag(names: ["-accel"], argument: "tcg", help: "the only accelerator: Matryoshka's emulated processor (kvm, hvf, … are refused)") { c, v, _ in
            c.accelerator = try parseAccelerator(v, list: false)
        },
        Flag(names: ["-enable-kvm"], argument: nil, help: "refused: no KVM here (Matryoshka emulates the processor)") { _, _, _ in
            throw ParseError("-enable-kvm: KVM is not available: Matryoshka emulates the processor itself (use -accel tcg)")
        },
        Flag(names: ["-device"], argument: "DEV[,PROP=V]", help: "pc-testdev, isa-debug-exit[,iobase=,iosize=], edu, intel-iommu[,intremap=,eim=] (-device ?)") { c, v, _ in
            try c.parseDevice(v)
        },
        Flag(names: ["-serial"], argument: "DEV", help: "COM1: stdio, mon:stdio, file:PATH, none, null") { c, v, _ in
            guard c.serial == nil else { throw ParseError("-serial \(v): Matryoshka has one serial port (COM1), already given") }
            c.serial = try parseSerial(v)
        },
        Flag(names: ["-nographic"], argument: nil, help: "no display; COM1 on stdio unless -serial says otherwise") { c, _, _ in c.noGraphic = true },
        Flag(names: ["-display"], argument: "none", help: "only none (there is no display)") { _, v, f in try requireNone(f, v) },
        Flag(names: ["-vga"], argument: "none", help: "only none") { _, v, f in try requireNone(f, v) },
        Flag(names: ["-monitor"], argument: "none", help: "only none (there is no monitor)") { _, v, f in try requireNone(f, v) },
        Flag(names: ["-name"], argument: "NAME", help: "accepted; names nothing") { _, _, _ in },
        Flag(names: ["-no-reboot"], argument: nil, help: "a triple fault ends the run (without it: the same, there is no firmware to reboot into)") { c, _, _ in c.noReboot = true },
        Flag(names: ["-no-shutdown"], argument: nil, help: "on shutdown or power-off, stop the guest and wait for a signal") { c, _, _ in c.noShutdown = true },
        Flag(names: ["-nodefaults"], argument: nil, help: "no default devices: COM1 goes nowhere without -serial") { c, _, _ in c.noDefaults = true },
        Flag(names: ["-no-user-config"], argument: nil, help: "accepted: there is no user configuration to skip") { _, _, _ in },
        Flag(names: ["-global"], argument: "kvm-pit.PROP=V", help: "only kvm-pit properties (they concern KVM's in-kernel PIT)") { _, v, _ in
            guard v.hasPrefix("kvm-pit.") else { throw ParseError("-global \(v) is not supported") }
        },
        Flag(names: ["-h", "-help"], argument: nil, help: "print this help") { c, _, _ in c.help = true },
        Flag(names: ["-version"], argument: nil, help: "print the version") { c, _, _ in c.version = true },
    ]

    static func flag(named name: String) -> Flag? { flags.first { $0.names.contains(name) } }

    static func requireNone(_ flag: String, _ v: String) throws {
        guard v == "none" else { throw ParseError("\(flag) \(v) is not supported (only 'none')") }
    }

    /// `-h`: the version line (kvm-unit-tests reads it), usage, then every flag.
    public static var helpText: String {
        var lines = [versionLine, "usage: matryoshka-qemu [options]   (qemu-system-x86_64's syntax; each flag also with --)", ""]
        for f in flags {
            let left = ([f.names.joined(separator: ", ")] + (f.argument.map { [$0] } ?? [])).joined(separator: " ")
            lines.append("  " + left.padding(toLength: max(28, left.count + 2), withPad: " ", startingAt: 0) + f.help)
        }
        lines += ["", "Exit status as QEMU's: isa-debug-exit's (value << 1) | 1; 0 after a shutdown, power-off or signal",
                  "(\"terminating on signal N\" on stderr); 1 when the emulator fails, with the reason on stderr."]
        return lines.joined(separator: "\n")
    }

    mutating func parseDevice(_ s: String) throws {
        if s == "?" || s == "help" { listDevices = true; return }
        let parts = s.split(separator: ",").map(String.init)
        switch parts.first {
        case "pc-testdev": pcTestdev = true
        case "isa-debug-exit":
            var ports = DebugExitPorts(base: 0x501, size: 2)
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let v = Self.parseInteger(kv[1]), v <= 0xFFFF else {
                    throw ParseError("isa-debug-exit: invalid property '\(p)'")
                }
                switch kv[0] {
                case "iobase": ports.base = UInt16(v)
                case "iosize": ports.size = UInt16(v)
                default: throw ParseError("isa-debug-exit: unknown property '\(kv[0])'")
                }
            }
            debugExit = ports
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
