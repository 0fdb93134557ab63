import XCTest
import X86Assembler
@testable import CPU

/// INVEPT and INVVPID's operand checks (SDM Vol. 3C ch. 31 "INVEPT", "INVVPID": VMfail(28),
/// "invalid operand to INVEPT/INVVPID", Table 31-1; the types IA32_VMX_EPT_VPID_CAP reports,
/// Appendix A.10).
final class InvalidationInstructionTests: XCTestCase {
    /// Emits `instruction` with type `type` and the 128-bit descriptor (low, high).
    static func invalidate(_ p: L1Program, vpid: Bool, type: UInt64, low: UInt64, high: UInt64) -> OutcomeRecord {
        _ = p.pointer(low, at: 0)
        _ = p.pointer(high, at: 1)
        return p.attempt {
            p.a.mov(rax, unsigned: type)
            if vpid { p.a.invvpid(rax, oword[Int64(p.area.operands)]) } else { p.a.invept(rax, oword[Int64(p.area.operands)]) }
        }
    }

    /// INVEPT: types 1 (single-context) and 2 (all-context) are supported; any other type is
    /// VMfail(28), and so is a single-context EPTP that VM entry would reject (memory type 2,
    /// bits 11:7 set); VMfailInvalid in place of VMfailValid without a current VMCS.
    func testINVEPTTypeAndEPTPChecks() throws {
        let m = try NestedMachine(), p = m.program()
        let eptp = p.area.ept12PML4 | 0x1E                        // WB, 4-level
        p.enableVMX()
        let withoutCurrent = Self.invalidate(p, vpid: false, type: 0, low: eptp, high: 0)
        p.makeCurrent(p.area.vmcs(0))
        let cases: [(String, UInt64, UInt64, VMXOutcome)] = [
            ("type 0", 0, eptp, .failValid(.invalidINVEPTOrINVVPIDOperand)),
            ("type 3", 3, eptp, .failValid(.invalidINVEPTOrINVVPIDOperand)),
            ("type 1, memory type 2", 1, p.area.ept12PML4 | 0x1A, .failValid(.invalidINVEPTOrINVVPIDOperand)),
            ("type 1, bit 7 set", 1, eptp | 0x80, .failValid(.invalidINVEPTOrINVVPIDOperand)),
            ("type 1, 5-level walk (not offered)", 1, p.area.ept12PML4 | 0x26, .failValid(.invalidINVEPTOrINVVPIDOperand)),
            ("type 1", 1, eptp, .succeed),
            ("type 2", 2, 0, .succeed),
        ]
        let records = cases.map { ($0.0, Self.invalidate(p, vpid: false, type: $0.1, low: $0.2, high: 0), $0.3) }
        p.finish()
        try m.run(p)
        XCTAssertEqual(m.outcome(withoutCurrent), .failInvalid)
        for (name, r, expected) in records { XCTAssertEqual(m.outcome(r), expected, name) }
    }

    /// INVVPID: types 0–3 are supported; type 4 is VMfail(28), and so are descriptor bits
    /// 63:16 set, VPID 0 with types 0, 1 and 3, and a non-canonical linear address with
    /// type 0 (individual address).
    func testINVVPIDTypeAndDescriptorChecks() throws {
        let m = try NestedMachine(), p = m.program()
        p.enableVMX()
        p.makeCurrent(p.area.vmcs(0))
        let fail = VMXOutcome.failValid(.invalidINVEPTOrINVVPIDOperand)
        let cases: [(String, UInt64, UInt64, UInt64, VMXOutcome)] = [
            ("type 4", 4, 1, 0, fail),
            ("reserved descriptor bits", 1, 1 | 1 << 16, 0, fail),
            ("individual address, VPID 0", 0, 0, 0x1000, fail),
            ("single context, VPID 0", 1, 0, 0, fail),
            ("single context except globals, VPID 0", 3, 0, 0, fail),
            ("individual address not canonical", 0, 1, 0x0000_8000_0000_0000, fail),
            ("individual address", 0, 1, 0xFFFF_8000_0000_0000, .succeed),
            ("single context", 1, 1, 0, .succeed),
            ("all contexts, VPID 0", 2, 0, 0, .succeed),
            ("single context except globals", 3, 7, 0, .succeed),
        ]
        let records = cases.map { ($0.0, Self.invalidate(p, vpid: true, type: $0.1, low: $0.2, high: $0.3), $0.4) }
        p.finish()
        try m.run(p)
        for (name, r, expected) in records { XCTAssertEqual(m.outcome(r), expected, name) }
    }
}
