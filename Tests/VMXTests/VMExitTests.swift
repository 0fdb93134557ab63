import Foundation
import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// VM entry and exits under test-built VMCSs (SDM Vol. 3C ch. 26–28).
final class VMExitTests: XCTestCase {
    let guest = VMXTestGuest()
    static let code = VMXTestGuest.code
    var cpu: Processor { guest.cpu }
    func vmcs(_ build: (Assembler) -> Void) throws -> VMCS { try guest.vmcs(build) }

    func testCPUIDExitsWithInstructionLengthAndSavedState() throws {
        let v = try vmcs { a in a.mov(eax, 7); a.cpuid(); a.hlt() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.cpuid))
        XCTAssertEqual(v[.exitReason], 10)
        XCTAssertEqual(v[.exitInstructionLength], 2)
        XCTAssertEqual(v[.guestRIP], Self.code + 5, "RIP of the CPUID")
        XCTAssertEqual(cpu.gpr[0], 7)
    }

    /// §27.3.1.4 checks bits 63:N of RIP, not canonicality: an L0 that completes an exiting
    /// instruction ending at 2^47 - 1 re-enters at 2^47, and the fetch there is #GP(0).
    func testEntryAtTheCanonicalEdgeFaultsOnFetch() throws {
        let v = try vmcs { a in a.hlt() }
        v[.guestRIP] = 1 << 47
        v[.exceptionBitmap] = 1 << 13
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0B0D, "#GP(0) with an error code")
        XCTAssertEqual(v[.exitInterruptionErrorCode], 0)
        XCTAssertEqual(v[.guestRIP], 1 << 47)
        v[.guestRIP] = 1 << 48
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.entryFailureGuestState))
    }

    func testConditionalExits() throws {
        var v = try vmcs { a in a.hlt() }
        v[.primaryProcessorBasedControls] |= UInt64(PrimaryProcessorBasedControls.hltExiting.rawValue)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.hlt))
        XCTAssertEqual(v[.exitInstructionLength], 1)

        // I/O with unconditional I/O exiting: qualification port, size, direction, immediate.
        v = try vmcs { a in a.mov(al, 5); a.out(port: 0x80, al) }
        v[.primaryProcessorBasedControls] |= UInt64(PrimaryProcessorBasedControls.unconditionalIOExiting.rawValue)
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.ioInstruction))
        XCTAssertEqual(v[.exitQualification], (0x80 << 16) | (1 << 6))

        // RDMSR without MSR bitmaps always exits.
        v = try vmcs { a in a.mov(ecx, 0x10); a.rdmsr() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.rdmsr))

        // MOV to CR0 that changes a bit owned by the host (mask) exits with qualification.
        v = try vmcs { a in a.mov(rax, cr0); a.xor(eax, 1 << 16); a.mov(cr0, rax) }
        v[.cr0GuestHostMask] = 1 << 16
        v[.cr0ReadShadow] = 1 << 16
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.crAccess))
        XCTAssertEqual(v[.exitQualification] & 0xF3F, 0)   // CR0, MOV to CR, RAX

        // VMCALL always exits.
        v = try vmcs { a in a.vmcall() }
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.vmcall))
        XCTAssertEqual(v[.exitInstructionLength], 3)

        // #UD in the exception bitmap.
        v = try vmcs { a in a.ud2() }
        v[.exceptionBitmap] = 1 << 6
        XCTAssertEqual(cpu.run(vmcs: v, budget: 100), .vmExit(.exceptionOrNMI))
        XCTAssertEqual(v[.exitInterruptionInformation], 0x8000_0306)
    }

    func testEntryFailures() throws {
        var v = try vmcs { a in a.hlt() }
        v[.pinBasedControls] = 0                      // default1 bits cleared
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10), .entryFailed(.invalidControlFields))
        XCTAssertEqual(v[.vmInstructionError], 7)
        v = try vmcs { a in a.hlt() }
        v[.hostCR4] = 0x20                            // VMXE missing
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10), .entryFailed(.invalidHostState))
        v = try vmcs { a in a.hlt() }
        v[.guestRFLAGS] = 0                           // bit 1 must be 1
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10), .vmExit(.entryFailureGuestState))
        XCTAssertEqual(v[.exitReason], 33 | (1 << 31))
    }

    func testEventInjectionAndTripleFault() throws {
        // Inject #GP(0x10) with an empty IDT → #GP/#DF/triple fault → exit reason 2.
        let v = try vmcs { a in a.hlt() }
        v[.entryInterruptionInformation] = 0x8000_0B0D
        v[.entryExceptionErrorCode] = 0x10
        v[.guestIDTRLimit] = 0
        XCTAssertEqual(cpu.run(vmcs: v, budget: 10), .vmExit(.tripleFault))
        XCTAssertEqual(v[.entryInterruptionInformation] >> 31, 0, "valid bit cleared by the exit")
    }

    func testCapabilityMSRsAreConsistent() {
        let c = VMXCapabilities()
        for index: UInt32 in [0x481, 0x482, 0x483, 0x484, 0x48B, 0x48D, 0x48E, 0x48F, 0x490] {
            let m = c.msr(index)!
            let allowed0 = UInt32(truncatingIfNeeded: m), allowed1 = UInt32(truncatingIfNeeded: m >> 32)
            XCTAssertEqual(allowed0 & ~allowed1, 0, "allowed-0 ⊆ allowed-1 in 0x\(String(index, radix: 16))")
        }
        XCTAssertEqual(UInt32(truncatingIfNeeded: c.msr(0x481)!), 0x16, "pin default1")
        XCTAssertEqual(c.msr(0x48E)! & 0xFFFF_FFFF, c.msr(0x482)! & 0xFFFF_FFFF & ~(3 << 15), "TRUE procbased relaxes CR3 exiting")
        XCTAssertEqual(c.msr(0x480)! & 0x7FFF_FFFF, UInt64(VMXCapabilities.revisionIdentifier))
        XCTAssertEqual((c.msr(0x480)! >> 32) & 0x1FFF, 4096)
        XCTAssertNil(c.msr(0x492))
        for e in VMCSFieldTable.entries {
            // The encoding's width/type bits are the table's classification (Table 25-21).
            XCTAssertEqual(e.field.encoding & 1, 0, e.name)
        }
        XCTAssertEqual(Set(VMCSFieldTable.entries.map(\.field.encoding)).count, VMCSFieldTable.entries.count, "unique encodings")
    }

    func testVMREADAndVMWRITESemantics() {
        let v = VMCS()
        XCTAssertNil(v.write(encoding: 0x6C16, value: 0x1234_5678_9ABC, anyFieldWritable: false))
        XCTAssertEqual(try v.read(encoding: 0x6C16).get(), 0x1234_5678_9ABC)
        XCTAssertNil(v.write(encoding: 0x0800, value: 0x12345, anyFieldWritable: false))
        XCTAssertEqual(try v.read(encoding: 0x0800).get(), 0x2345, "16-bit field truncates")
        XCTAssertNil(v.write(encoding: 0x2011, value: 0xAABB_CCDD, anyFieldWritable: false))
        XCTAssertEqual(v[.tscOffset] >> 32, 0xAABB_CCDD, "high-half access")
        XCTAssertEqual(v.write(encoding: 0x4402, value: 1, anyFieldWritable: false), .readOnlyComponent)
        XCTAssertNil(v.write(encoding: 0x4402, value: 1, anyFieldWritable: true))
        XCTAssertEqual(v.write(encoding: 0x0002, value: 1, anyFieldWritable: true), .unsupportedComponent, "posted interrupts not supported")
        XCTAssertEqual(v.write(encoding: 0x0801, value: 1, anyFieldWritable: true), .unsupportedComponent, "high half of a 16-bit field")
        XCTAssertThrowsError(try v.read(encoding: 0x1_0000_0000).get())
    }

    /// 1,000,000 entries and CPUID exits (MATRYOSHKA_VMX_EXITS scales it); prints exits/s.
    func testCPUIDExitLoopThroughput() throws {
        let n = Int(ProcessInfo.processInfo.environment["MATRYOSHKA_VMX_EXITS"] ?? "") ?? 100_000
        let v = try vmcs { a in
            let top = a.boundLabel()
            a.cpuid()
            a.jmp(top, short: true)
        }
        try Self.runCPUIDExitLoop(cpu, v, n, label: "VMX CPUID EXIT LOOP")
    }

    /// Enters `v` (a CPUID; JMP loop) `n` times, resolving each CPUID exit as L0 would (leaf
    /// from the model, RIP past the instruction), and prints the exits per second.
    static func runCPUIDExitLoop(_ cpu: Processor, _ v: VMCS, _ n: Int, label: String) throws {
        let start = Date()
        for _ in 0..<n {
            guard cpu.run(vmcs: v, budget: 1000) == .vmExit(.cpuid) else { return XCTFail("unexpected outcome") }
            let r = cpu.cpuidLeaf(UInt32(truncatingIfNeeded: cpu.gpr[0]), UInt32(truncatingIfNeeded: cpu.gpr[1]))
            cpu.gpr[0] = UInt64(r.eax); cpu.gpr[3] = UInt64(r.ebx); cpu.gpr[1] = UInt64(r.ecx); cpu.gpr[2] = UInt64(r.edx)
            v[.guestRIP] = v[.guestRIP] &+ v[.exitInstructionLength]
        }
        let s = Date().timeIntervalSince(start)
        print(label + String(format: ": %d entries+exits in %.2f s = %.0f exits/s", n, s, Double(n) / s))
    }
}
