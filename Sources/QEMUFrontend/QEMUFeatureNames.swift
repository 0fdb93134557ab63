import CPU

/// QEMU's x86 CPU feature names (qemu-system-x86_64 7.2, `-cpu help`) sorted by what
/// Matryoshka's processor does with each, so `-cpu …,+name` / `-name` is honoured or refused,
/// never ignored: a feature the model can switch (`switchable`), one every model reports
/// and cannot drop (`alwaysPresent`), or one the processor does not implement (`absent`:
/// removing it is already true, adding it is refused). Anything else is an unknown name.
enum QEMUFeatureNames {
    /// Names that map to a `CPUModel.Features` flag (MMX, FXSR, SSE and SSE2 are one flag).
    static let switchable: [String: CPUModel.Features] = [
        "x2apic": .x2apic, "tsc-deadline": .tscDeadline, "pcid": .pcid, "invpcid": .invpcid, "umip": .umip,
        "smep": .smep, "smap": .smap, "vmx": .vmx, "rdtscp": .rdtscp, "fsgsbase": .fsgsbase, "la57": .la57,
        "popcnt": .popcnt, "abm": .lzcnt, "lzcnt": .lzcnt, "bmi1": .bmi1, "movbe": .movbe, "cx16": .cx16,
        "rdpid": .rdpid, "pdpe1gb": .pages1G, "nx": .nx, "xd": .nx, "syscall": .syscall, "xsave": .xsave,
        "pku": .pku, "pks": .pks, "rdrand": .rdrand, "fpu": .x87, "mmx": .sse, "fxsr": .sse, "sse": .sse, "sse2": .sse,
    ]

    /// Reported by every model (CPUID leaves 1, 6, 7, 80000001H, 80000007H: `CPUIDTable`).
    static let alwaysPresent: Set<String> = [
        "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "pge", "cmov", "pat", "pse36", "clflush",
        "tsc-adjust", "arat", "lahf-lm", "3dnowprefetch", "lm", "i64", "invtsc",
    ]

    /// Names QEMU knows that this processor does not implement.
    static let absent: Set<String> = [
        // CPUID.1:EDX, ECX
        "vme", "mtrr", "mca", "pn", "ds", "acpi", "ss", "ht", "tm", "ia64", "pbe",
        "pni", "sse3", "pclmulqdq", "pclmuldq", "dtes64", "monitor", "ds-cpl", "smx", "est", "tm2", "ssse3",
        "cid", "fma", "xtpr", "pdcm", "dca", "sse4.1", "sse4-1", "sse4.2", "sse4-2", "aes", "osxsave", "avx",
        "f16c", "hypervisor",
        // CPUID.80000001H:EDX, ECX
        "mmxext", "fxsr-opt", "ffxsr", "3dnowext", "3dnow", "cmp-legacy", "svm", "extapic", "cr8legacy",
        "sse4a", "misalignsse", "osvw", "ibs", "xop", "skinit", "wdt", "lwp", "fma4", "tce", "nodeid-msr",
        "tbm", "topoext", "perfctr-core", "perfctr-nb",
        // CPUID.7.0:EBX, ECX, EDX and 7.1:EAX
        "sgx", "hle", "avx2", "bmi2", "erms", "rtm", "mpx", "avx512f", "avx512dq", "rdseed", "adx",
        "avx512ifma", "pcommit", "clflushopt", "clwb", "intel-pt", "avx512pf", "avx512er", "avx512cd",
        "sha-ni", "avx512bw", "avx512vl", "avx512vbmi", "ospke", "waitpkg", "avx512vbmi2", "gfni", "vaes",
        "vpclmulqdq", "avx512vnni", "avx512bitalg", "avx512-vpopcntdq", "bus-lock-detect", "cldemote",
        "movdiri", "movdir64b", "sgxlc", "avx512-4vnniw", "avx512-4fmaps", "fsrm", "avx512-vp2intersect",
        "md-clear", "serialize", "tsx-ldtrk", "arch-lbr", "avx512-fp16", "amx-bf16", "amx-tile", "amx-int8",
        "spec-ctrl", "stibp", "flush-l1d", "arch-capabilities", "core-capability", "ssbd", "avx-vnni",
        "avx512-bf16", "fzrm", "fsrs", "fsrc", "amx-fp16",
        // CPUID.0DH:EAX (sub-leaf 1), 80000008H:EBX, 14H, arch/core/perf capabilities
        "xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd", "clzero", "xsaveerptr", "wbnoinvd", "ibpb", "ibrs",
        "amd-stibp", "amd-ssbd", "virt-ssbd", "amd-no-ssb", "amd-psfd", "intel-pt-lip", "rdctl-no", "ibrs-all",
        "rsba", "skip-l1dfl-vmentry", "ssb-no", "mds-no", "pschange-mc-no", "tsx-ctrl", "taa-no",
        "split-lock-detect", "full-width-write",
        // SVM (CPUID.8000000AH:EDX)
        "npt", "lbrv", "svm-lock", "nrip-save", "tsc-scale", "vmcb-clean", "flushbyasid", "decodeassists",
        "pause-filter", "pfthreshold", "avic", "v-vmsave-vmload", "vgif", "svme-addr-chk",
        // KVM paravirtual CPUID leaves
        "kvmclock", "kvm-nopiodelay", "kvm-mmu", "kvm-asyncpf", "kvm-steal-time", "kvm-pv-eoi",
        "kvm-pv-unhalt", "kvm-pv-tlb-flush", "kvm-asyncpf-vmexit", "kvm-pv-ipi", "kvm-poll-control",
        "kvm-pv-sched-yield", "kvm-asyncpf-int", "kvm-msi-ext-dest-id", "kvmclock-stable-bit",
        // VIA PadLock (CPUID.C0000001H:EDX)
        "xstore", "xstore-en", "xcrypt", "xcrypt-en", "ace2", "ace2-en", "phe", "phe-en", "pmm", "pmm-en",
    ]

    /// QEMU accepts '_' for '-' in feature names (`sse4_1`, `tsc_deadline`).
    static func canonical(_ name: String) -> String { name.replacingOccurrences(of: "_", with: "-") }
}
