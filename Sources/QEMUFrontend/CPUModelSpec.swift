import CPU
import Foundation

/// `-cpu MODEL[,+feature][,-feature][,vendor=…][,phys-bits=N][,host-phys-bits[=on|off]]` mapped
/// onto the emulated processor's model. Only features the processor implements can be enabled;
/// asking for another is an error that names it.
public enum CPUModelSpec {
    /// Base models: QEMU's names, with the features each has that we implement. `qemu64` is an
    /// AMD-vendor model in QEMU; we follow that so guests see the same vendor as under QEMU.
    static let baseModels: [String: (vendor: String, features: CPUModel.Features)] = [
        "qemu64": ("AuthenticAMD", [.x87, .nx, .syscall, .cx16, .pages1G, .sse]),
        // `max`/`host`: everything implemented, as QEMU's max offers XSAVE, PKU and PKS. With
        // PKU, kvm-unit-tests' access test (whose entry uses `max`) runs 19 M cases: about
        // 48 s here with the block translator, against its 90 s timeout.
        // `max` without VMX, as QEMU's TCG `max`; `+vmx` adds it (kvm-unit-tests' VMX tests pass
        // `-cpu max,+vmx`). `host` is a VMX host's: nested VMX on.
        "max": ("GenuineIntel", implementedFeatures.subtracting(.vmx)),
        "host": ("GenuineIntel", implementedFeatures),
        "Opteron_G1": ("AuthenticAMD", [.x87, .nx, .syscall, .sse]),
        "IvyBridge": ("GenuineIntel", [.x87, .nx, .syscall, .cx16, .pcid, .x2apic, .tscDeadline, .rdtscp, .fsgsbase, .smep, .popcnt, .sse]),
        "Skylake-Server": ("GenuineIntel", [.x87, .nx, .syscall, .cx16, .pcid, .invpcid, .x2apic, .tscDeadline, .rdtscp,
                                             .fsgsbase, .smep, .smap, .popcnt, .lzcnt, .bmi1, .movbe, .pages1G, .sse]),
    ]

    /// Properties that change nothing in this emulator (migration policy, host passthrough hints).
    static let ignoredProperties: Set<String> = ["migratable", "enforce", "check", "kvm"]

    /// Features requested that this machine does not offer its guests, each with the reason
    /// (QEMU warns and continues in the same situation). Every feature asked for is offered or
    /// refused, so there is nothing to warn about.
    public static func warnings(for spec: String) -> [String] { [] }

    public static func model(from spec: String) throws -> CPUModel {
        let parts = spec.split(separator: ",").map(String.init)
        guard let name = parts.first, let base = baseModels[name] else {
            throw QEMUCommandLine.ParseError("unknown CPU model '\(parts.first ?? spec)' (qemu64, max, host, Opteron_G1, IvyBridge, Skylake-Server)")
        }
        var m = CPUModel()
        m.vendor = base.vendor
        m.features = base.features
        for p in parts.dropFirst() {
            if p.hasPrefix("+") || p.hasPrefix("-") {
                try apply(String(p.dropFirst()), on: p.hasPrefix("+"), to: &m)
                continue
            }
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            switch kv[0] {
            case "vendor":
                guard kv.count == 2, kv[1] == "GenuineIntel" || kv[1] == "AuthenticAMD" else {
                    throw QEMUCommandLine.ParseError("invalid vendor in '\(p)'")
                }
                m.vendor = kv[1]
            case "phys-bits":
                guard kv.count == 2, let n = Int(kv[1]), (32...52).contains(n) else {
                    throw QEMUCommandLine.ParseError("invalid phys-bits in '\(p)' (32 ... 52)")
                }
                m.physicalAddressBits = n
            case "host-phys-bits":
                guard kv.count == 1 || ["on", "off", "true", "false"].contains(kv[1]) else {
                    throw QEMUCommandLine.ParseError("invalid host-phys-bits in '\(p)' (on or off)")
                }
                if kv.count == 1 || kv[1] == "on" || kv[1] == "true" { m.physicalAddressBits = hostPhysicalAddressBits }
            default:
                if ignoredProperties.contains(kv[0]) { continue }
                // QEMU's other spellings of +name / -name: name=on|off, and a bare name.
                if let on = kv.count == 1 ? true : ["on": true, "true": true, "off": false, "false": false][kv[1]],
                   known(QEMUFeatureNames.canonical(kv[0])) {
                    try apply(kv[0], on: on, to: &m)
                    continue
                }
                throw QEMUCommandLine.ParseError("CPU property '\(kv[0])' is not supported")
            }
        }
        return m
    }

    /// The host's physical-address width, as QEMU's `host-phys-bits` takes it: on Linux the
    /// "address sizes" line of /proc/cpuinfo (CPUID 80000008H EAX[7:0] on an x86 host);
    /// 48 where there is none (an ARM host, or a value outside 32 ... 52).
    public static let hostPhysicalAddressBits: Int = {
        guard let data = FileManager.default.contents(atPath: "/proc/cpuinfo") else { return 48 }
        return physicalAddressBits(cpuinfo: String(decoding: data, as: UTF8.self)) ?? 48
    }()

    /// The first "address sizes : N bits physical, …" of a /proc/cpuinfo text, if in 32 ... 52.
    static func physicalAddressBits(cpuinfo: String) -> Int? {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("address sizes") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let words = line[line.index(after: colon)...].split(separator: " ")
            guard words.count >= 3, words[1] == "bits", words[2].hasPrefix("physical"), let n = Int(words[0]),
                  (32...52).contains(n) else { return nil }
            return n
        }
        return nil
    }

    /// Features the processor really implements: the default set, plus XSAVE, PKU, PKS and VMX
    /// (nested VMX), which are implemented but not in the default model (RDRAND and LA57 are
    /// not offered).
    static let implementedFeatures = CPUModel.Features.default.union([.xsave, .pku, .pks, .vmx])

    static func implemented(_ f: CPUModel.Features) -> Bool { implementedFeatures.contains(f) }

    /// A name QEMU knows as a feature.
    static func known(_ name: String) -> Bool {
        QEMUFeatureNames.switchable[name] != nil || QEMUFeatureNames.alwaysPresent.contains(name)
            || QEMUFeatureNames.absent.contains(name)
    }

    /// `+name` (`on`) or `-name`: switched in the model, or refused with the reason. QEMU's
    /// `vmx-*` names adjust what nested VMX offers (`QEMUVMXFeatureNames`).
    static func apply(_ rawName: String, on: Bool, to m: inout CPUModel) throws {
        let name = QEMUFeatureNames.canonical(rawName)
        if name.hasPrefix("vmx-") {
            try QEMUVMXFeatureNames.apply(name, on: on, to: &m.vmxWithheld)
            return
        }
        if let f = QEMUFeatureNames.switchable[name] {
            if !on { m.features.remove(f); return }
            guard implemented(f) else {
                throw QEMUCommandLine.ParseError("CPU feature '\(rawName)' is not implemented by Matryoshka's processor")
            }
            m.features.insert(f)
        } else if QEMUFeatureNames.alwaysPresent.contains(name) {
            guard on else {
                throw QEMUCommandLine.ParseError("CPU feature '\(rawName)' cannot be removed: Matryoshka's processor reports it in every model")
            }
        } else if QEMUFeatureNames.absent.contains(name) {
            guard !on else {
                throw QEMUCommandLine.ParseError("CPU feature '\(rawName)' is not implemented by Matryoshka's processor")
            }
        } else {
            throw QEMUCommandLine.ParseError("unknown CPU feature '\(rawName)' (the CPU model 'help' lists them)")
        }
    }

    /// `-cpu help`: the models and the feature names each class accepts.
    public static var helpText: String {
        var lines = ["Available CPU models (Matryoshka's processor with QEMU's names):"]
        lines += baseModels.keys.sorted().map { "  \($0)" }
        lines.append("Features that can be added (+name) or removed (-name):")
        lines.append("  " + QEMUFeatureNames.switchable.keys.filter { implemented(QEMUFeatureNames.switchable[$0]!) }.sorted().joined(separator: " "))
        lines.append("Features every model has (cannot be removed):")
        lines.append("  " + QEMUFeatureNames.alwaysPresent.sorted().joined(separator: " "))
        lines.append("Features not implemented (can only be removed):")
        lines.append("  " + QEMUFeatureNames.absent.union(QEMUFeatureNames.switchable.keys.filter { !implemented(QEMUFeatureNames.switchable[$0]!) }).sorted().joined(separator: " "))
        lines.append("VMX capabilities (with vmx; -name withholds one from nested VMX, +name needs it implemented):")
        lines.append("  " + QEMUVMXFeatureNames.all.sorted().joined(separator: " "))
        lines.append("Properties: vendor=GenuineIntel|AuthenticAMD, phys-bits=32..52, host-phys-bits[=on|off], name=on|off")
        return lines.joined(separator: "\n")
    }
}
