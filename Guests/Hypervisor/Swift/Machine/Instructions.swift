// The x86 instructions Swift cannot express, implemented in Assembly/Instructions.S.

@_extern(c, "port_in8") func portIn8(_ port: UInt16) -> UInt8
@_extern(c, "port_in16") func portIn16(_ port: UInt16) -> UInt16
@_extern(c, "port_in32") func portIn32(_ port: UInt16) -> UInt32
@_extern(c, "port_out8") func portOut8(_ port: UInt16, _ value: UInt8)
@_extern(c, "port_out16") func portOut16(_ port: UInt16, _ value: UInt16)
@_extern(c, "port_out32") func portOut32(_ port: UInt16, _ value: UInt32)
@_extern(c, "read_msr") func readMSR(_ index: UInt32) -> UInt64
@_extern(c, "write_msr") func writeMSR(_ index: UInt32, _ value: UInt64)
@_extern(c, "cpuid_query") func cpuidQuery(_ leaf: UInt32, _ subleaf: UInt32, _ out: UnsafeMutablePointer<UInt32>)
@_extern(c, "read_cr0") func readCR0() -> UInt64
@_extern(c, "write_cr0") func writeCR0(_ value: UInt64)
@_extern(c, "read_cr3") func readCR3() -> UInt64
@_extern(c, "read_cr4") func readCR4() -> UInt64
@_extern(c, "write_cr4") func writeCR4(_ value: UInt64)
@_extern(c, "gdtr_base") func gdtrBase() -> UInt64
@_extern(c, "idtr_base") func idtrBase() -> UInt64
@_extern(c, "load_task_register") func loadTaskRegister(_ selector: UInt16)
@_extern(c, "read_cs") func readCS() -> UInt16
@_extern(c, "read_ss") func readSS() -> UInt16
@_extern(c, "read_ds") func readDS() -> UInt16
@_extern(c, "read_tr") func readTR() -> UInt16
@_extern(c, "read_tsc") func readTSC() -> UInt64
@_extern(c, "cpu_pause") func cpuPause()
@_extern(c, "halt_forever") func haltForeverStub()

/// CLI; HLT forever.
func haltForever() -> Never {
    while true { haltForeverStub() }
}
@_extern(c, "spin_lock") func spinLock(_ word: UnsafeMutablePointer<UInt32>)
@_extern(c, "spin_unlock") func spinUnlock(_ word: UnsafeMutablePointer<UInt32>)
@_extern(c, "atomic_increment") func atomicIncrement(_ word: UnsafeMutablePointer<UInt32>) -> UInt32
@_extern(c, "atomic_load") func atomicLoad(_ word: UnsafeMutablePointer<UInt32>) -> UInt32
@_extern(c, "image_end_address") func imageEndAddress() -> UInt64
@_extern(c, "ap_trampoline_code") func apTrampolineCode() -> UnsafeRawPointer
@_extern(c, "ap_trampoline_size") func apTrampolineSize() -> UInt32
@_extern(c, "idt_build") func idtBuild()
@_extern(c, "idt_load") func idtLoad()

/// CPUID (SDM Vol. 2A, "CPUID"): the four result registers.
struct CPUIDResult {
    var eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0

    init(eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        (self.eax, self.ebx, self.ecx, self.edx) = (eax, ebx, ecx, edx)
    }

    init(leaf: UInt32, subleaf: UInt32 = 0) {
        var r: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        withUnsafeMutablePointer(to: &r) { p in
            p.withMemoryRebound(to: UInt32.self, capacity: 4) { cpuidQuery(leaf, subleaf, $0) }
        }
        (eax, ebx, ecx, edx) = r
    }
}

/// Physical memory: identity-mapped (Assembly/Boot.S maps the first 4 GiB).
enum Physical {
    static func pointer<T>(_ address: UInt64, as: T.Type) -> UnsafeMutablePointer<T> {
        UnsafeMutablePointer<T>(bitPattern: UInt(address))!
    }
    static func read8(_ a: UInt64) -> UInt8 { pointer(a, as: UInt8.self).pointee }
    static func read16(_ a: UInt64) -> UInt16 { UnsafeRawPointer(pointer(a, as: UInt8.self)).loadUnaligned(as: UInt16.self) }
    static func read32(_ a: UInt64) -> UInt32 { UnsafeRawPointer(pointer(a, as: UInt8.self)).loadUnaligned(as: UInt32.self) }
    static func read64(_ a: UInt64) -> UInt64 { UnsafeRawPointer(pointer(a, as: UInt8.self)).loadUnaligned(as: UInt64.self) }
    static func write32(_ a: UInt64, _ v: UInt32) { pointer(a, as: UInt32.self).pointee = v }

    /// Copies `count` bytes between physical addresses.
    static func copy(to: UInt64, from: UnsafeRawPointer, count: Int) {
        UnsafeMutableRawPointer(pointer(to, as: UInt8.self)).copyMemory(from: from, byteCount: count)
    }
}
