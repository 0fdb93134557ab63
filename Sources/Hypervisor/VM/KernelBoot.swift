import CPU
import Platform

/// Loading a kernel image and putting the boot vCPU in the state its boot protocol specifies.
extension VirtualMachine {
    /// The guest-physical memory map of this machine.
    public var memoryMap: [MemoryRegion] { MemoryRegion.pcMap(ramSize: configuration.memoryBytes) }

    /// Loads a Multiboot (ELF or a.out-kludge) kernel, an ELF kernel with a PVH entry note (an
    /// uncompressed Linux vmlinux) or a Linux bzImage and prepares the BSP. `initrd` becomes the
    /// Multiboot module (as QEMU's -initrd does), the PVH start info's first module or the
    /// Linux initrd.
    public func boot(kernel: [UInt8], commandLine: String = "", initrd: [UInt8]? = nil) throws {
        let state: BootState
        try applyFirmwareHandoff()
        if MultibootLoader.isMultiboot(kernel) {
            let modules = initrd.map { [MultibootLoader.Module(bytes: $0, commandLine: "initrd")] } ?? []
            state = try MultibootLoader.load(image: kernel, commandLine: commandLine, modules: modules,
                                             into: memory, memoryMap: memoryMap)
        } else if kernel.count > 0x206, LinuxBootProtocol.readU32(kernel, 0x202) == LinuxBootProtocol.headerMagic {
            let plan = try LinuxBootProtocol.load(image: kernel, commandLine: commandLine, initrd: initrd,
                                                  into: memory, memoryMap: memoryMap)
            state = plan.bootState
        } else if ELFImage.isELF(kernel) {
            guard try PVHBoot.entryPoint(kernel) != nil else {
                throw LoaderError.unsupportedELF("ELF image without a Multiboot header or a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)")
            }
            state = try PVHBoot.load(image: kernel, commandLine: commandLine, initrd: initrd, into: memory,
                                     memoryMap: memoryMap, rsdpAddress: ACPITables.rsdpAddress)
        } else {
            throw LoaderError.unknownFormat
        }
        apply(state, to: bootProcessor)
    }

    /// Sets a processor to a loader's entry state (Multiboot §3.2; the PVH ABI's 32-bit entry;
    /// Linux 64-bit boot protocol).
    func apply(_ s: BootState, to p: Processor) {
        p.reset()
        switch s.mode {
        case .protected32:
            p.setControlRegisters(cr0: CR0.pe | CR0.et, cr3: 0, cr4: 0, efer: 0)
            let code = SegmentRegister(selector: 0x08, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC09B)
            let data = SegmentRegister(selector: 0x10, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC093)
            for idx in SegmentRegisterIndex.allCases { p.setSegment(idx, idx == .cs ? code : data) }
            // A busy 32-bit TSS at 0 with limit 67H, as the PVH ABI states (Multiboot leaves TR undefined).
            p.tr = SegmentRegister(selector: 0, base: 0, limit: 0x67, accessRights: 0x8B)
        case .long64(let root, let gdtBase, let gdtLimit, let cs, let ds):
            p.setControlRegisters(cr0: CR0.pe | CR0.et | CR0.ne | CR0.pg, cr3: root, cr4: CR4.pae,
                                  efer: EFER.lme | EFER.lma)
            p.gdtr = DescriptorTableRegister(base: gdtBase, limit: UInt32(gdtLimit))
            let code = SegmentRegister(selector: cs, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xA09B)
            let data = SegmentRegister(selector: ds, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC093)
            for idx in SegmentRegisterIndex.allCases { p.setSegment(idx, idx == .cs ? code : data) }
        }
        p.rip = s.entry
        p.gpr[GPR.rax.rawValue] = s.rax
        p.gpr[GPR.rbx.rawValue] = s.rbx
        p.gpr[GPR.rsi.rawValue] = s.rsi
        p.setRFLAGS(2)
    }
}

extension LinuxBootProtocol.BootPlan {
    /// The 64-bit entry state: identity paging, __BOOT_CS/__BOOT_DS, RSI = boot_params.
    public var bootState: BootState {
        var s = BootState(mode: .long64(pageTableRoot: pageTableRoot, gdtBase: gdtBase, gdtLimit: gdtLimit,
                                        codeSelector: Self.codeSelector, dataSelector: Self.dataSelector),
                          entry: entry)
        s.rsi = bootParams
        return s
    }
}
