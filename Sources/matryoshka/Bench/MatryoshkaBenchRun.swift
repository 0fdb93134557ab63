import CPU
import Foundation

/// Runs a benchmark image on Matryoshka's processor in this process, in the Multiboot machine
/// state (Multiboot Specification §3.2: 32-bit protected mode, flat CS/DS, paging off).
struct MatryoshkaBenchRun {
    struct Result {
        var instructions: UInt64
        var seconds: Double
        var stop: StopReason
        var exitStatus: UInt32?
    }

    /// The isa-debug-exit port the benchmark guest writes to end the run.
    final class ExitPortBus: DeviceBus {
        weak var processor: Processor?
        var status: UInt32?
        func ioRead(port: UInt16, size: Int) -> UInt32 { size == 4 ? 0xFFFF_FFFF : (size == 2 ? 0xFFFF : 0xFF) }
        func ioWrite(port: UInt16, size: Int, value: UInt32) {
            if port == 0xF4 {
                status = (value << 1) | 1
                processor?.requestStop()
            }
        }
        func mmioRead(address: UInt64, size: Int) -> UInt64? { nil }
        func mmioWrite(address: UInt64, size: Int, value: UInt64) -> Bool { false }
    }

    static func run(code: [UInt8], loadAddress: UInt64, entry: UInt64, memoryMiB: Int,
                    instructionLimit: UInt64) throws -> Result {
        let memory = try PhysicalMemory(size: UInt64(memoryMiB) << 20)
        try memory.write(code, at: loadAddress)
        let bus = ExitPortBus()
        let cpu = Processor(memory: memory, bus: bus)
        bus.processor = cpu
        cpu.reset()
        cpu.setControlRegisters(cr0: 0x11, cr3: 0, cr4: 0, efer: 0)   // PE | ET
        let code32 = SegmentRegister(selector: 0x08, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC09B)
        let data32 = SegmentRegister(selector: 0x10, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC093)
        for s in SegmentRegisterIndex.allCases { cpu.setSegment(s, s == .cs ? code32 : data32) }
        cpu.rip = entry
        cpu.gpr[GPR.rax.rawValue] = 0x2BAD_B002
        let start = Date()
        var stop = StopReason.budgetExhausted
        while cpu.instructionsRetired < instructionLimit {
            stop = cpu.run(budget: min(100_000_000, instructionLimit - cpu.instructionsRetired))
            if stop != .budgetExhausted { break }
        }
        return Result(instructions: cpu.instructionsRetired, seconds: Date().timeIntervalSince(start),
                      stop: stop, exitStatus: bus.status)
    }
}
