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
        "max": ("GenuineIntel", implementedFeatures),
        "host": ("GenuineIntel", implementedFeatures),
        "Opteron_G1": ("AuthenticAMD", [.x87, .nx, .syscall, .sse]),
        "IvyBridge": ("GenuineIntel", [.x87, .nx, .syscall, .cx16, .pcid, .x2apic, .tscDeadline, .rdtscp, .fsgsbase, .smep, .popcnt, .sse]),
        "Skylake-Server": ("GenuineIntel", [.x87, .nx, .syscall, .cx16, .pcid, .invpcid, .x2apic, .tscDeadline, .rdtscp,
                                             .fsgsbase, .smep, .smap, .popcnt, .lzcnt, .bmi1, .movbe, .pages1G, .sse]),
    ]

    /// QEMU feature names → our feature flags.
    static let featureNames: [String: CPUModel.Features] = [
        "x2apic": .x2apic, "tsc-deadline": .tscDeadline, "pcid": .pcid, "invpcid": .invpcid, "umip": .umip,
        "smep": .smep, "smap": .smap, "vmx": .vmx, "rdtscp": .rdtscp, "fsgsbase": .fsgsbase, "la57": .la57,
        "popcnt": .popcnt, "abm": .lzcnt, "lzcnt": .lzcnt, "bmi1": .bmi1, "movbe": .movbe, "cx16": .cx16,
        "rdpid": .rdpid, "pdpe1gb": .pages1G, "nx": .nx, "syscall": .syscall, "xsave": .xsave, "pku": .pku, "pks": .pks,
        "rdrand": .rdrand, "fpu": .x87, "mmx": .sse, "fxsr": .sse, "sse": .sse, "sse2": .sse,
    ]

    /// Properties that change nothing in this emulator (migration policy, host passthrough hints).
    static let ignoredProperties: Set<String> = ["migratable", "enforce", "check", "kvm"]

    /// Features requested that this machine does not offer its guests, each with the reason
    /// (QEMU warns and continues in the same situation).
    public static func warnings(for spec: String) -> [String] {
        spec.split(separator: ",").contains("+vmx")
            ? ["nested VMX is not implemented yet: CPUID.1:ECX.VMX stays clear for the guest"] : []
    }

    public static func model(from spec: String) throws -> CPUModel {
        let parts = spec.split(separator: ",").map(String.init)
        guard let name = parts.first, let base = baseModels[name] else {
            throw QEMUCommandLine.ParseError("unknown CPU model '\(parts.first ?? spec)' (qemu64, max, host, Opteron_G1, IvyBridge, Skylake-Server)")
        }
        var m = CPUModel()
        m.vendor = base.vendor
        m.features = base.features
        m.features.remove(.vmx)
        for p in parts.dropFirst() {
            if p.hasPrefix("+") || p.hasPrefix("-") {
                let name = String(p.dropFirst())
                if p.hasPrefix("-") {
                    // Turning off something we don't implement is already true.
                    if let f = featureNames[name] { m.features.remove(f) }
                    continue
                }
                if name == "vmx" { continue }   // not offered to guests until nested VMX exists (warnings(for:))
                guard let f = featureNames[name], implemented(f) else {
                    throw QEMUCommandLine.ParseError("CPU feature '\(name)' is not implemented by Matryoshka's processor")
                }
                m.features.insert(f)
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
                if kv.count == 1 || kv[1] == "on" { m.physicalAddressBits = hostPhysicalAddressBits }
            default:
                if ignoredProperties.contains(kv[0]) { continue }
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

    /// Features the processor really implements: the default set, plus XSAVE, PKU and PKS,
    /// which are implemented but not in the default model (RDRAND and LA57 are not offered).
    static let implementedFeatures = CPUModel.Features.default.union([.xsave, .pku, .pks])

    static func implemented(_ f: CPUModel.Features) -> Bool { implementedFeatures.contains(f) }
}
