/// CPUID leaves built from the processor model, so CPUID reports exactly what is implemented
/// (SDM Vol. 2A "CPUID—CPU Identification", Tables 3-8 … 3-20).
extension Processor {
    public struct CPUIDResult: Equatable, Sendable {
        public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
        public init(_ eax: UInt32, _ ebx: UInt32, _ ecx: UInt32, _ edx: UInt32) {
            self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
        }
    }

    /// 0DH (processor extended state) when XSAVE is offered, else 0BH.
    var maxBasicLeaf: UInt32 { model.has(.xsave) ? 0xD : 0xB }
    static let maxExtendedLeaf: UInt32 = 0x8000_0008

    /// Four ASCII bytes as a little-endian register value.
    static func registerString(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var v: UInt32 = 0
        for (k, b) in bytes.enumerated() where k < 4 { v |= UInt32(b) << (8 * UInt32(k)) }
        return v
    }

    /// The CPUID result for leaf `eax`, subleaf `ecx`. Leaves above the maximum return the
    /// highest basic leaf's data, as Intel processors do.
    /// The vendor string as EBX, ECX, EDX of leaves 0 and 80000000H, made once per model (a
    /// CPUID exit builds no string or array).
    var cpuidVendorWords: (UInt32, UInt32, UInt32) {
        if let w = cpuidVendorOfModel { return w }
        let vendor = Array((model.vendor + "            ").utf8.prefix(12))
        let w = (Self.registerString(vendor[0..<4]), Self.registerString(vendor[8..<12]), Self.registerString(vendor[4..<8]))
        cpuidVendorOfModel = w
        return w
    }

    public func cpuidLeaf(_ eax: UInt32, _ ecx: UInt32) -> CPUIDResult {
        let f = model.features
        func bit(_ on: Bool, _ n: UInt32) -> UInt32 { on ? 1 << n : 0 }
        let vendor = cpuidVendorWords
        let leaf: UInt32
        if eax <= maxBasicLeaf || (eax >= 0x8000_0000 && eax <= Self.maxExtendedLeaf) { leaf = eax }
        else { leaf = maxBasicLeaf }
        switch leaf {
        case 0:
            return CPUIDResult(maxBasicLeaf, vendor.0, vendor.1, vendor.2)
        case 1:
            let ebx: UInt32 = (8 << 8) | (1 << 16) | (UInt32(truncatingIfNeeded: index) << 24)
            let ecx = bit(f.contains(.vmx), 5) | bit(f.contains(.cx16), 13) | bit(f.contains(.pcid), 17)
                | bit(f.contains(.x2apic), 21) | bit(f.contains(.movbe), 22) | bit(f.contains(.popcnt), 23)
                | bit(f.contains(.tscDeadline), 24) | bit(f.contains(.xsave), 26)
                | bit(f.contains(.xsave) && cr4 & CR4.osxsave != 0, 27) | bit(f.contains(.rdrand), 30)
            // EDX: DE, PSE, TSC, MSR, PAE, MCE, CX8, APIC, SEP, PGE, CMOV, PAT, PSE-36, CLFSH
            // (+ FPU with the x87 feature; MMX, FXSR, SSE, SSE2 with the SSE feature).
            var edx: UInt32 = (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9)
                | (1 << 11) | (1 << 13) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 19)
            edx |= bit(f.contains(.x87), 0) | bit(f.contains(.sse), 23) | bit(f.contains(.sse), 24) | bit(f.contains(.sse), 25) | bit(f.contains(.sse), 26)
            // APIC follows IA32_APIC_BASE[11]: a globally disabled local APIC hides the bit.
            if let base = readMSR(MSRIndex.apicBase), base & (1 << 11) == 0 { edx &= ~(1 << 9) }
            return CPUIDResult(model.signature, ebx, ecx, edx)
        case 6:
            return CPUIDResult(1 << 2, 0, 0, 0)   // ARAT: the APIC timer runs in every C-state
        case 7:
            guard ecx == 0 else { return CPUIDResult(0, 0, 0, 0) }
            let ebx = bit(f.contains(.fsgsbase), 0) | (1 << 1) | bit(f.contains(.bmi1), 3) | bit(f.contains(.smep), 7)
                | bit(f.contains(.invpcid), 10) | bit(f.contains(.smap), 20)
            let c = bit(f.contains(.umip), 2) | bit(f.contains(.pku), 3) | bit(f.contains(.pku) && cr4 & CR4.pke != 0, 4)
                | bit(f.contains(.la57), 16) | bit(f.contains(.rdpid), 22) | bit(f.contains(.pks), 31)
            return CPUIDResult(0, ebx, c, bit(f.contains(.archCapabilities), 29))
        case 0xB:
            // x2APIC topology: one logical processor per core, one core per package.
            let id = UInt32(truncatingIfNeeded: index)
            switch ecx {
            case 0: return CPUIDResult(0, 1, 0 | (1 << 8), id)
            case 1: return CPUIDResult(0, 1, 1 | (2 << 8), id)
            default: return CPUIDResult(0, 0, ecx & 0xFF, id)
            }
        case 0xD where f.contains(.xsave):
            // Processor extended state (SDM Vol. 1 §13.2): x87 and SSE in a 576-byte area, PKRU
            // at 2688 with PKU; sub-leaf 1 (XSAVEOPT, XSAVEC, XGETBV1, XSAVES) all 0.
            let supported = supportedXCR0
            switch ecx {
            case 0:
                return CPUIDResult(UInt32(supported), Self.xsaveAreaSize(for: xcr0), Self.xsaveAreaSize(for: supported), 0)
            case 9 where supported & (1 << 9) != 0:
                return CPUIDResult(Self.pkruSize, Self.pkruOffset, 0, 0)
            default:
                return CPUIDResult(0, 0, 0, 0)
            }
        case 0x8000_0000:
            return CPUIDResult(Self.maxExtendedLeaf, vendor.0, vendor.1, vendor.2)
        case 0x8000_0001:
            let c = 1 | bit(f.contains(.lzcnt), 5) | (1 << 8)     // LAHF/SAHF, ABM, PREFETCHW
            let d = bit(f.contains(.syscall), 11) | bit(f.contains(.nx), 20) | bit(f.contains(.pages1G), 26)
                | bit(f.contains(.rdtscp), 27) | (1 << 29)
            return CPUIDResult(0, 0, c, d)
        case 0x8000_0002, 0x8000_0003, 0x8000_0004:
            let brand = Array((model.brand + String(repeating: "\0", count: 48)).utf8.prefix(48))
            let o = Int(leaf - 0x8000_0002) * 16
            return CPUIDResult(Self.registerString(brand[o..<o + 4]), Self.registerString(brand[o + 4..<o + 8]),
                               Self.registerString(brand[o + 8..<o + 12]), Self.registerString(brand[o + 12..<o + 16]))
        case 0x8000_0007:
            return CPUIDResult(0, 0, 0, 1 << 8)   // invariant TSC (the virtual TSC is constant-rate)
        case 0x8000_0008:
            return CPUIDResult(UInt32(model.physicalAddressBits) | (UInt32(model.linearAddressBits) << 8), 0, 0, 0)
        default:
            return CPUIDResult(0, 0, 0, 0)        // leaves 2–5, 8–0xA, 0x80000005/6: nothing to report
        }
    }

    /// SDM Vol. 2A "CPUID".
    func execCpuid(_ i: Inst) throws(Fault) {
        try exitUnconditionally(i, .cpuid)
        let r = cpuidLeaf(UInt32(truncatingIfNeeded: gpr[0]), UInt32(truncatingIfNeeded: gpr[1]))
        gpr[0] = UInt64(r.eax); gpr[3] = UInt64(r.ebx); gpr[1] = UInt64(r.ecx); gpr[2] = UInt64(r.edx)
    }
}
