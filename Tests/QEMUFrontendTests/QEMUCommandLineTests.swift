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
        XCTAssertTrue(c.serialStdio)
        XCTAssertEqual(c.kernel, "x86/msr.flat")
        XCTAssertEqual(c.smp, 2)
        XCTAssertEqual(c.memoryMiB, 2048)
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
        XCTAssertEqual(error(["-frobnicate"]), "unsupported option '-frobnicate'")
        XCTAssertEqual(error(["-m"]), "option -m needs a value")
        XCTAssertEqual(error(["-m", "0"]), "invalid memory size '0'")
        XCTAssertEqual(error(["-m", "100G"]), "memory size '100G' is out of range (1 MiB ... 64 GiB)")
        XCTAssertEqual(error(["-smp", "0"]), "invalid -smp '0' (1 ... 64 CPUs)")
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
        XCTAssertEqual(error(["-M", "microvm"]), "-machine option 'microvm' is not supported")
        XCTAssertEqual(error(["-machine", "type=isapc"]), "-machine type 'isapc' is not supported (pc or q35)")
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
        XCTAssertFalse(try CPUModelSpec.model(from: "max,+vmx").has(.vmx), "no nested VMX yet: VMX is not offered")
        XCTAssertEqual(CPUModelSpec.warnings(for: "max,+vmx").count, 1)
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
