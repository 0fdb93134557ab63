import CPU
import Foundation
import Hypervisor
import Platform
import QEMUFrontend

/// A qemu-system-x86_64-compatible front end, so kvm-unit-tests' `run_tests.sh` drives
/// Matryoshka unchanged (`QEMU=.build/release/matryoshka-qemu`). Exit status follows QEMU:
/// isa-debug-exit's (value << 1) | 1, 0 after a shutdown with -no-reboot or an ACPI power-off (S5), 1 on an error QEMU
/// would also report as 1, and 2 for unsupported options or unloadable images.
func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("matryoshka-qemu: \(message)\n".utf8))
    exit(status)
}

let arguments = Array(CommandLine.arguments.dropFirst())
let cmd: QEMUCommandLine
do { cmd = try QEMUCommandLine(arguments: arguments) } catch { fail("\(error)") }

if cmd.help || cmd.version {
    print(QEMUCommandLine.versionLine)
    if cmd.help { print("usage: matryoshka-qemu [-kernel FILE] [-initrd FILE] [-append STR] [-m MiB] [-smp N] [-cpu MODEL] ...") }
    exit(0)
}
if cmd.listDevices {
    print(QEMUCommandLine.deviceList)
    exit(0)
}
// Like QEMU, the machine (CPU model) is validated before the kernel is opened, so an
// unsupported -cpu is reported as such (kvm-unit-tests then skips the test).
let cpuModel: CPUModel
do { cpuModel = try CPUModelSpec.model(from: cmd.cpu) } catch { fail("\(error)") }
for w in CPUModelSpec.warnings(for: cmd.cpu) { FileHandle.standardError.write(Data("matryoshka-qemu: warning: \(w)\n".utf8)) }
guard let kernelPath = cmd.kernel else { fail("no -kernel given (Matryoshka has no firmware to boot a disk)") }
guard let kernelData = FileManager.default.contents(atPath: kernelPath) else { fail("could not open kernel file '\(kernelPath)'") }
var initrd: [UInt8]?
if let p = cmd.initrd {
    guard let d = FileManager.default.contents(atPath: p) else { fail("could not open initrd '\(p)'") }
    initrd = [UInt8](d)
}

var config = MachineConfiguration()
config.memoryBytes = cmd.memoryMiB << 20
config.cpuCount = cmd.smp
config.noReboot = true
config.cpuModel = cpuModel

var options = PCBoardOptions()
options.pcTestdev = cmd.pcTestdev
options.pit = cmd.pit
options.debugExit = cmd.debugExit.map { ($0.base, $0.size) }
options.machine = cmd.machine == .q35 ? .q35 : .pc
options.intelIOMMU = cmd.intelIOMMU.map {
    VTdCapabilities(interruptRemapping: $0.interruptRemapping, extendedInterruptMode: $0.extendedInterruptMode)
}
options.edu = cmd.edu
let stdout = FileHandle.standardOutput
var pending: [UInt8] = []
options.serialOutput = { b in
    guard cmd.serialStdio else { return }
    pending.append(b)
    if b == 10 || pending.count >= 4096 { stdout.write(Data(pending)); pending.removeAll(keepingCapacity: true) }
}

let vm: VirtualMachine
do {
    vm = try VirtualMachine(config, board: options)
    // Like QEMU (and GRUB), a Multiboot command line starts with the kernel's path.
    let isMultiboot = MultibootLoader.isMultiboot([UInt8](kernelData))
    let commandLine = isMultiboot ? (cmd.append.isEmpty ? kernelPath : "\(kernelPath) \(cmd.append)") : cmd.append
    try vm.boot(kernel: [UInt8](kernelData), commandLine: commandLine, initrd: initrd)
} catch {
    fail("\(error)")
}
let outcome = vm.run()
if !pending.isEmpty { stdout.write(Data(pending)) }
if ProcessInfo.processInfo.environment["MATRYOSHKA_SUMMARY"] != nil {
    FileHandle.standardError.write(Data("matryoshka-qemu: \(outcome), \(vm.clock.instructionsRetired) guest instructions, \(vm.clock.nanoseconds) virtual ns\n".utf8))
}
switch outcome {
case .exited(let status): exit(status & 0xFF)
case .shutdown, .poweredOff: exit(0)     // QEMU exits 0 on -no-reboot's shutdown and on ACPI power-off
case .deadlock where vm.sleeping:
    FileHandle.standardError.write(Data("matryoshka-qemu: \(VirtualMachine.sleepingWithoutWakeEvent)\n".utf8))
    exit(1)
case .deadlock:
    FileHandle.standardError.write(Data("matryoshka-qemu: all vCPUs are halted with interrupts disabled and no timer pending\n".utf8))
    exit(1)
case .instructionLimit: exit(1)
case .l0Failure(let cpu, let message):
    FileHandle.standardError.write(Data("matryoshka-qemu: L0 failure on vCPU \(cpu): \(message)\n".utf8))
    exit(3)
}
