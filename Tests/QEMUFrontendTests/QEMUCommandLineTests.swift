import XCTest
import CPU
@testable import QEMUFrontend

/// The QEMU-compatible command line kvm-unit-tests' x86/run produces.
final class QEMUCommandLineTests: XCTestCase {
    func testTheCommandX86RunBuilds() throws {
        let args = ["--no-reboot", "-nodefaults", "-global", "kvm-pit.lost_tick_policy=discard",
                    "-device", "pc-testdev", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
                    "-display", "none", "-serial", "stdio", "-machine", "accel=tcg", "-kernel", "x86/msr.flat",
                    "-smp", "2", "-cpu", "qemu64,+x2apic,+tsc-deadline", "-append", "a b", "-initrd", "/tmp/env", "-m", "2G"]
        let c = try QEMUCommandLine(arguments: args)
        XCTAssertTrue(c.noReboot)
        XCTAssertTrue(c.pcTestdev)
        XCTAssertEqual(c.debugExit?.base, 0xF4)
        XCTAssertEqual(c.debugExit?.size, 4)
        XCTAssertEqual(c.serialBackend, .stdio)
        XCTAssertEqual(c.kernel, "x86/msr.flat")
        XCTAssertEqual(c.smp, 2)
        XCTAssertEqual(c.memoryBytes, 2 << 30)
        XCTAssertEqual(c.append, "a b")
        XCTAssertEqual(c.initrd, "/tmp/env")
        let m = try CPUModelSpec.model(from: c.cpu)
        XCTAssertEqual(m.vendor, "AuthenticAMD")
        XCTAssertTrue(m.has(.x2apic) && m.has(.tscDeadline))
        XCTAssertFalse(m.has(.vmx))
    }

    func testDeviceListingAndHelp() throws {
        XCTAssertTrue(try QEMUCommandLine(arguments: ["-device", "?"]).listDevices)
        XCTAssertTrue(QEMUCommandLine.deviceList.contains("\"pc-testdev\""))
        XCTAssertTrue(try QEMUCommandLine(arguments: ["--help"]).help)
        XCTAssertTrue(QEMUCommandLine.versionLine.hasPrefix("QEMU emulator version 7.2.0"))
    }

    func testBadInputNamesTheProblem() {
        func error(_ a: [String]) -> String {
            do { _ = try QEMUCommandLine(arguments: a); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(error(["-frobnicate"]), "unsupported option '-frobnicate' (-h lists the accepted ones)")
        XCTAssertEqual(error(["-m"]), "option -m needs a value")
        XCTAssertEqual(error(["-m", "0"]), "invalid memory size '0' (at least 1 MiB)")
        XCTAssertEqual(error(["-m", "100G"]), "memory size '100G' is out of range (1 MiB ... 64 GiB)")
        XCTAssertEqual(error(["-smp", "0"]), "invalid -smp '0' (1 ... 64 CPUs)")
        XCTAssertEqual(error(["-smp", "65"]), "Invalid SMP CPUs 65. The max CPUs supported by machine 'pc' is 64")
        XCTAssertEqual(error(["-device", "virtio-net"]), "-device 'virtio-net' is not supported (see -device ?)")
        XCTAssertEqual(error(["-device", "isa-debug-exit,iobase=zz"]), "isa-debug-exit: invalid property 'iobase=zz'")
    }

    func testQ35IntelIOMMUAndEdu() throws {
        let c = try QEMUCommandLine(arguments: ["-smp", "4", "-M", "q35,kernel-irqchip=split",
                                                "-device", "intel-iommu,intremap=on,eim=off", "-device", "edu"])
        XCTAssertEqual(c.machine, .q35)
        XCTAssertEqual(c.kernelIrqchip, "split")
        XCTAssertEqual(c.intelIOMMU, QEMUCommandLine.IntelIOMMU(interruptRemapping: true, extendedInterruptMode: false))
        XCTAssertTrue(c.edu)
        XCTAssertEqual(try QEMUCommandLine(arguments: ["-machine", "type=q35", "-device", "intel-iommu"]).intelIOMMU,
                       QEMUCommandLine.IntelIOMMU(interruptRemapping: false, extendedInterruptMode: false))
        XCTAssertEqual(try QEMUCommandLine(arguments: ["-machine", "pc"]).machine, .pc)
        XCTAssertEqual(try QEMUCommandLine(arguments: ["-M", "q35", "-device", "intel-iommu,intremap=on,eim=on"]).intelIOMMU?.extendedInterruptMode, true)
        XCTAssertTrue(QEMUCommandLine.deviceList.contains("name \"edu\", bus PCI"))
        XCTAssertTrue(QEMUCommandLine.deviceList.contains("name \"intel-iommu\""))
        XCTAssertFalse(QEMUCommandLine.deviceList.contains("pci-testdev"), "x86/run would then pass -device pci-testdev")
    }

    func testQ35DeviceErrorsAreQEMUs() {
        func error(_ a: [String]) -> String {
            do { _ = try QEMUCommandLine(arguments: a); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(error(["-device", "intel-iommu"]),
                       "-device intel-iommu: Parameter 'driver' expects a dynamic sysbus device type for the machine")
        XCTAssertEqual(error(["-device", "intel-iommu", "-M", "pc"]),
                       "-device intel-iommu: Parameter 'driver' expects a dynamic sysbus device type for the machine")
        XCTAssertEqual(error(["-M", "q35", "-device", "intel-iommu,intremap=maybe"]),
                       "-device intel-iommu: Parameter 'intremap' does not accept value 'maybe'")
        XCTAssertEqual(error(["-M", "q35", "-device", "intel-iommu,caching-mode=on"]),
                       "-device intel-iommu: Property 'intel-iommu.caching-mode' not found")
        XCTAssertEqual(error(["-M", "q35", "-device", "intel-iommu,eim=on"]),
                       "-device intel-iommu: eim=on cannot be selected without intremap=on")
        XCTAssertEqual(error(["-M", "q35", "-device", "intel-iommu", "-device", "intel-iommu"]),
                       "-device intel-iommu: only one intel-iommu is supported")
        XCTAssertEqual(error(["-device", "edu,dma_mask=0xff"]), "-device edu: property 'dma_mask=0xff' is not supported")
        XCTAssertEqual(error(["-M", "q35,kernel-irqchip=maybe"]),
                       "-machine kernel-irqchip: Parameter 'kernel-irqchip' does not accept value 'maybe'")
        XCTAssertEqual(error(["-M", "microvm"]), "-machine type 'microvm' is not supported (pc, q35, pc-i440fx-X.Y, pc-q35-X.Y; -machine help)")
        XCTAssertEqual(error(["-machine", "type=isapc"]), "-machine type 'isapc' is not supported (pc, q35, pc-i440fx-X.Y, pc-q35-X.Y; -machine help)")
        XCTAssertEqual(error(["-machine", "pc,vmport=on"]), "-machine option 'vmport=on' is not supported")
    }

    /// COM1's backend: -serial wins; -nographic means stdio; -nodefaults leaves none; and
    /// with neither, stdio (no display to show a virtual console on).
    func testSerialBackends() throws {
        let table: [([String], QEMUCommandLine.SerialBackend)] = [
            ([], .stdio), (["-nographic"], .stdio), (["-nodefaults"], .none), (["-nodefaults", "-nographic"], .stdio),
            (["-serial", "stdio"], .stdio), (["-serial", "mon:stdio"], .stdio), (["-serial", "none"], .none),
            (["-serial", "null"], .none), (["-serial", "file:/tmp/log"], .file("/tmp/log")),
            (["-nographic", "-serial", "file:x"], .file("x")), (["-nodefaults", "-serial", "stdio"], .stdio),
        ]
        for (args, backend) in table { XCTAssertEqual(try QEMUCommandLine(arguments: args).serialBackend, backend, "\(args)") }
        XCTAssertThrowsError(try QEMUCommandLine(arguments: ["-serial", "tcp::4444"]))
        XCTAssertThrowsError(try QEMUCommandLine(arguments: ["-serial", "file:"]))
        XCTAssertThrowsError(try QEMUCommandLine(arguments: ["-serial", "stdio", "-serial", "stdio"]))
        XCTAssertTrue(try QEMUCommandLine(arguments: ["-no-shutdown"]).noShutdown)
    }

    /// Machine names with versions, accelerators: only tcg (QEMU's name for an emulator).
    func testMachinesAndAccelerators() throws {
        for (name, type) in [("pc", QEMUCommandLine.MachineType.pc), ("pc-i440fx-7.2", .pc), ("pc-i440fx-2.12", .pc),
                             ("q35", .q35), ("pc-q35-8.1", .q35), ("pc-q35-7.2.1", .q35)] {
            XCTAssertEqual(try QEMUCommandLine(arguments: ["-machine", name]).machine, type, name)
            XCTAssertEqual(try QEMUCommandLine(arguments: ["-machine", "type=\(name),accel=tcg"]).machine, type, name)
        }
        for name in ["pc-i440fx-", "pc-i440fx-7", "pc-q35-x.y", "isapc", "microvm"] {
            XCTAssertThrowsError(try QEMUCommandLine(arguments: ["-M", name]), name)
        }
        XCTAssertTrue(try QEMUCommandLine(arguments: ["-machine", "help"]).listMachines)
        func error(_ a: [String]) -> String {
            do { _ = try QEMUCommandLine(arguments: a); return "" } catch { return "\(error)" }
        }
        for ok in [["-accel", "tcg"], ["-accel", "tcg,thread=single"], ["-accel", "tcg,tb-size=512"],
                   ["-machine", "accel=tcg"], ["-machine", "accel=kvm:tcg"]] {
            XCTAssertEqual(error(ok), "", "\(ok)")
        }
        XCTAssertEqual(error(["-accel", "nonsense"]), "-accel nonsense: invalid accelerator nonsense")
        XCTAssertEqual(error(["-accel", "hvf"]), "-accel hvf: not available: Matryoshka emulates the processor itself (use -accel tcg)")
        XCTAssertEqual(error(["-machine", "accel=kvm"]), "-accel kvm: not available: Matryoshka emulates the processor itself (use -accel tcg)")
        XCTAssertEqual(error(["-accel", "tcg,thread=many"]), "-accel tcg,thread=many: property 'thread=many' is not supported (thread=single|multi, tb-size=N)")
        XCTAssertEqual(error(["-enable-kvm"]), "-enable-kvm: KVM is not available: Matryoshka emulates the processor itself (use -accel tcg)")
        XCTAssertEqual(error(["-machine", "pit=maybe"]), "-machine pit: Parameter 'pit' does not accept value 'maybe'")
        XCTAssertEqual(error(["-m", "2G,maxmem=4G"]), "memory option 'maxmem=4G' is not supported (no memory hot-plug: only a size)")
        XCTAssertEqual(try QEMUCommandLine(arguments: ["-m", "1.5g"]).memoryBytes, 1536 << 20)
    }

    /// `-h` is generated from the flag table the parser uses: every flag it lists parses.
    func testHelpListsExactlyTheParsedFlags() throws {
        let help = QEMUCommandLine.helpText
        XCTAssertTrue(help.hasPrefix(QEMUCommandLine.versionLine + "\n"))
        for f in QEMUCommandLine.flags {
            XCTAssertTrue(help.contains("  " + f.names.joined(separator: ", ")), "\(f.names)")
            for name in f.names { XCTAssertNotNil(QEMUCommandLine.flag(named: name)) }
        }
    }

    /// Feature removal is honoured (a switchable feature leaves the model) or refused (every
    /// model has it, or the name is unknown), never ignored; adding needs an implementation.
    func testFeatureRemovalIsHonouredOrRefused() throws {
        func error(_ spec: String) -> String {
            do { _ = try CPUModelSpec.model(from: spec); return "" } catch { return "\(error)" }
        }
        XCTAssertFalse(try CPUModelSpec.model(from: "max,-pcid").has(.pcid))
        XCTAssertFalse(try CPUModelSpec.model(from: "max,pcid=off").has(.pcid))
        XCTAssertTrue(try CPUModelSpec.model(from: "qemu64,x2apic=on").has(.x2apic))
        XCTAssertTrue(try CPUModelSpec.model(from: "qemu64,x2apic").has(.x2apic), "a bare name adds it, as QEMU")
        XCTAssertFalse(try CPUModelSpec.model(from: "max,-tsc_deadline").has(.tscDeadline), "'_' spells '-'")
        XCTAssertFalse(try CPUModelSpec.model(from: "max,-sse2").has(.sse), "MMX, FXSR, SSE, SSE2 are one feature")
        for absent in ["avx", "sse4.1", "sse4_2", "svm", "skinit", "npt", "hypervisor"] {
            XCTAssertEqual(error("max,-\(absent)"), "", "removing \(absent), which is not there, is true already")
            XCTAssertEqual(error("max,+\(absent)"), "CPU feature '\(absent)' is not implemented by Matryoshka's processor")
        }
        for always in ["lm", "pae", "apic", "tsc", "cmov", "lahf_lm", "invtsc"] {
            XCTAssertEqual(error("max,-\(always)"), "CPU feature '\(always)' cannot be removed: Matryoshka's processor reports it in every model")
            XCTAssertEqual(error("max,+\(always)"), "", "adding what is there is true already")
        }
        XCTAssertEqual(error("max,-nonsense"), "unknown CPU feature 'nonsense' (the CPU model 'help' lists them)")
        XCTAssertEqual(error("max,+nonsense"), "unknown CPU feature 'nonsense' (the CPU model 'help' lists them)")
        XCTAssertEqual(error("max,lm=off"), "CPU feature 'lm' cannot be removed: Matryoshka's processor reports it in every model")
        XCTAssertEqual(error("max,host-phys-bits=maybe"), "invalid host-phys-bits in 'host-phys-bits=maybe' (on or off)")
        // VMX and QEMU's vmx-* capability names (nested VMX).
        XCTAssertEqual(error("max,-vmx-mbec"), "", "MBEC is not offered: removing it is true already")
        XCTAssertEqual(error("max,+vmx,+vmx-mbec"), "VMX capability 'vmx-mbec' is not implemented by Matryoshka's nested VMX")
        XCTAssertEqual(error("max,-vmx-invept"), "VMX capability 'vmx-invept' cannot be removed: nested VMX always offers it")
        XCTAssertEqual(error("max,+vmx-frobnicate"), "unknown VMX capability 'vmx-frobnicate' (the CPU model 'help' lists them)")
        XCTAssertEqual(error("max,-vmx"), "")
        XCTAssertTrue(try CPUModelSpec.model(from: "max,+vmx,-vmx-eptad").vmxWithheld.eptAccessedDirty)
        XCTAssertTrue(try CPUModelSpec.model(from: "max,+vmx,-vmx-shadow-vmcs").vmxWithheld.secondary.contains(.vmcsShadowing))
        XCTAssertTrue(CPUModelSpec.warnings(for: "max,vmx=on").isEmpty)
        XCTAssertTrue(CPUModelSpec.helpText.contains("lm"))
    }

    func testCPUModels() throws {
        XCTAssertEqual(try CPUModelSpec.model(from: "Opteron_G1,vendor=AuthenticAMD").vendor, "AuthenticAMD")
        XCTAssertEqual(try CPUModelSpec.model(from: "max,host-phys-bits").physicalAddressBits, CPUModelSpec.hostPhysicalAddressBits)
        XCTAssertEqual(CPUModelSpec.physicalAddressBits(cpuinfo: "processor\t: 0\naddress sizes\t: 43 bits physical, 48 bits virtual\n"), 43)
        XCTAssertEqual(CPUModelSpec.physicalAddressBits(cpuinfo: "address sizes : 52 bits physical, 57 bits virtual"), 52)
        XCTAssertNil(CPUModelSpec.physicalAddressBits(cpuinfo: "address sizes : 64 bits physical, 64 bits virtual"), "out of range")
        XCTAssertNil(CPUModelSpec.physicalAddressBits(cpuinfo: "Features\t: fp asimd\n"), "an ARM host has no such line")
        XCTAssertEqual(try CPUModelSpec.model(from: "IvyBridge,phys-bits=36,host-phys-bits=off").physicalAddressBits, 36)
        XCTAssertFalse(try CPUModelSpec.model(from: "qemu64,-pcid,-invpcid").has(.pcid))
        XCTAssertTrue(try CPUModelSpec.model(from: "max,+vmx").has(.vmx), "+vmx offers nested VMX")
        XCTAssertFalse(try CPUModelSpec.model(from: "max").has(.vmx), "as QEMU's TCG max: no VMX")
        XCTAssertTrue(try CPUModelSpec.model(from: "host").has(.vmx), "a VMX host's model")
        XCTAssertFalse(try CPUModelSpec.model(from: "host,-vmx").has(.vmx))
        XCTAssertTrue(try CPUModelSpec.model(from: "max").has(.pks))
        XCTAssertTrue(try CPUModelSpec.model(from: "max").has(.xsave), "as QEMU's max")
        XCTAssertTrue(try CPUModelSpec.model(from: "max").has(.pku), "as QEMU's max")
        XCTAssertFalse(try CPUModelSpec.model(from: "max,-pku").has(.pku))
        XCTAssertFalse(try CPUModelSpec.model(from: "qemu64").has(.xsave))
        XCTAssertFalse(try CPUModelSpec.model(from: "qemu64").has(.pku))
        XCTAssertTrue(try CPUModelSpec.model(from: "qemu64,+pku").has(.pku))
        XCTAssertThrowsError(try CPUModelSpec.model(from: "max,+svm"))
        XCTAssertThrowsError(try CPUModelSpec.model(from: "pentium9000"))
    }
}
