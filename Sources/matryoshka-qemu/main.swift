import CommandLineSupport
import CPU
import Foundation
import Hypervisor
import Platform
import QEMUFrontend

/// A qemu-system-x86_64-compatible front end, so kvm-unit-tests' `run_tests.sh` drives
/// Matryoshka unchanged (`QEMU=/path/to/matryoshka-qemu`). Exit statuses are QEMU's
/// (`OutcomeReport.qemu`): isa-debug-exit's (value << 1) | 1; 0 after a shutdown, an ACPI
/// power-off or a signal; 1 when the emulator fails (bad option, unloadable image, deadlock,
/// an exit L0 cannot resolve), always with the reason on stderr.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("matryoshka-qemu: \(message)\n".utf8))
    exit(1)
}

func note(_ message: String) {
    FileHandle.standardError.write(Data("matryoshka-qemu: \(message)\n".utf8))
}

let cmd: QEMUCommandLine
do { cmd = try QEMUCommandLine(arguments: Array(CommandLine.arguments.dropFirst())) } catch { fail("\(error)") }

if cmd.help || cmd.version {
    print(cmd.help ? QEMUCommandLine.helpText : QEMUCommandLine.versionLine)
    exit(0)
}
for (asked, text) in [(cmd.listDevices, QEMUCommandLine.deviceList), (cmd.listMachines, QEMUCommandLine.machineList),
                      (cmd.listCPUs, CPUModelSpec.helpText)] where asked {
    print(text)
    exit(0)
}
// Like QEMU, the machine (CPU model) is validated before the kernel is opened, so an
// unsupported -cpu is reported as such (kvm-unit-tests then skips the test).
let cpuModel: CPUModel
do { cpuModel = try CPUModelSpec.model(from: cmd.cpu) } catch { fail("\(error)") }
for w in CPUModelSpec.warnings(for: cmd.cpu) { note("warning: \(w)") }
guard let kernelPath = cmd.kernel else { fail("no -kernel given (Matryoshka has no firmware to boot a disk)") }
// QEMU's words: kvm-unit-tests looks for "could not load kernel" to tell a missing file from
// a refused option.
let kernel: [UInt8]
do { kernel = try InputFile.read(kernelPath) } catch let e as InputFile.ReadError {
    fail("could not load kernel '\(kernelPath)': \(e.reason)")
}
var initrd: [UInt8]?
if let p = cmd.initrd {
    do { initrd = try InputFile.read(p) } catch let e as InputFile.ReadError { fail("could not load initial ram disk '\(p)': \(e.reason)") }
}
var serialFile: OutputFile?
if case .file(let path) = cmd.serialBackend {
    do { serialFile = try OutputFile(path) } catch let e as OutputFile.CreateError {
        fail("could not open serial device 'file:\(path)': \(e.reason)")
    }
}

var config = MachineConfiguration()
config.memoryBytes = cmd.memoryBytes
config.cpuCount = cmd.smp
config.noReboot = true     // without -no-reboot too: there is no firmware to reboot into
config.cpuModel = cpuModel
do { try config.validate() } catch { fail("\(error)") }

var options = PCBoardOptions()
options.pcTestdev = cmd.pcTestdev
options.pit = cmd.pit
options.debugExit = cmd.debugExit.map { ($0.base, $0.size) }
options.machine = cmd.machine == .q35 ? .q35 : .pc
options.intelIOMMU = cmd.intelIOMMU.map {
    VTdCapabilities(interruptRemapping: $0.interruptRemapping, extendedInterruptMode: $0.extendedInterruptMode)
}
options.edu = cmd.edu
let serial: SerialOutput?
switch cmd.serialBackend {
case .stdio: serial = SerialOutput(fileDescriptor: 1)
case .file: serial = serialFile.map { SerialOutput(fileDescriptor: $0.fileDescriptor) }
case .none: serial = nil
}
if let serial { options.serialOutput = { serial.put($0) } }

let vm: VirtualMachine
do {
    vm = try VirtualMachine(config, board: options)
    // Like QEMU (and GRUB), a Multiboot command line starts with the kernel's path.
    let commandLine = MultibootLoader.isMultiboot(kernel) ? (cmd.append.isEmpty ? kernelPath : "\(kernelPath) \(cmd.append)") : cmd.append
    try vm.boot(kernel: kernel, commandLine: commandLine, initrd: initrd)
} catch {
    fail("kernel '\(kernelPath)': \(error)")
}
// MATRYOSHKA_VMX_LOG=1: nested VMX's named failures (run's --vmx-log), for harnesses that
// cannot pass flags.
if let level = ProcessInfo.processInfo.environment["MATRYOSHKA_VMX_LOG"], let nested = vm.nested {
    nested.logsReflectedExits = level == "2"
    nested.log = { FileHandle.standardError.write(Data("matryoshka-qemu: vmx: \($0)\n".utf8)) }
}
StopSignals.install()
let outcome = vm.run(limits: RunLimits(interruption: StopSignals.interruption))
serial?.flush()
if ProcessInfo.processInfo.environment["MATRYOSHKA_SUMMARY"] != nil {
    note("\(outcome), \(vm.clock.instructionsRetired) guest instructions, \(vm.clock.nanoseconds) virtual ns")
}
let report = OutcomeReport.qemu(outcome, vm: vm)
if let m = report.message {
    if case .shutdown = outcome, !cmd.noReboot { note(m + " (no firmware to reboot into: stopped as with -no-reboot)") } else { note(m) }
}
switch outcome {
case .shutdown where cmd.noShutdown, .poweredOff where cmd.noShutdown:
    // QEMU keeps the stopped machine for its monitor; there is none here, so the process
    // waits, as QEMU's would, until a signal ends it.
    note("-no-shutdown: the guest stopped; waiting for a signal")
    while StopSignals.received == nil { usleep(50_000) }
    note("terminating on signal \(StopSignals.received!)")
    exit(0)
default:
    exit(report.status)
}
