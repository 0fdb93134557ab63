import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// IA32_ARCH_CAPABILITIES: enumerated by CPUID.(EAX=7,ECX=0):EDX[29] in the default model,
/// read-only, with the "not affected" bits Linux consults (RDCL_NO: no page-table isolation;
/// SKIP_L1DFL_VMENTRY and no L1TF: KVM flushes no L1D at VM entry; IF_PSCHANGE_MC_NO: KVM
/// keeps huge pages executable) and no mitigation controls.
final class ArchCapabilitiesTests: XCTestCase {
    func testEnumeratedAndReadOnly() {
        let m = TestMachine()
        XCTAssertEqual(m.cpu.cpuidLeaf(7, 0).edx >> 29 & 1, 1)
        let v = m.cpu.readMSR(MSRIndex.archCapabilities)
        XCTAssertEqual(v, 0x0D10_E179)
        for bit in [0, 3, 4, 5, 6, 8, 13, 14, 15] { XCTAssertEqual((v ?? 0) >> UInt64(bit) & 1, 1, "bit \(bit)") }
        for bit in [1, 2, 7, 17, 19] { XCTAssertEqual((v ?? 0) >> UInt64(bit) & 1, 0, "no IBRS_ALL, RSBA, TSX_CTRL, FB_CLEAR, RRSBA") }
        XCTAssertFalse(m.cpu.writeMSR(MSRIndex.archCapabilities, 0))

        let g = LongModeEnvironment.run(model: .default) { a in
            a.mov(ecx, Int64(MSRIndex.archCapabilities)); a.xor(eax, eax); a.xor(edx, edx); a.wrmsr()
        }
        XCTAssertEqual(LongModeEnvironment.recordedVector(g), 13, "WRMSR: #GP(0)")
    }

    func testAModelWithoutItHasNeitherTheBitNorTheMSR() {
        var model = CPUModel()
        model.features.remove(.archCapabilities)
        let m = TestMachine(model: model)
        XCTAssertEqual(m.cpu.cpuidLeaf(7, 0).edx >> 29 & 1, 0)
        XCTAssertNil(m.cpu.readMSR(MSRIndex.archCapabilities))
    }
}
