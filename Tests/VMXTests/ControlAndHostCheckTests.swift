import Foundation
import XCTest
import X86Assembler
@testable import CPU
@testable import TestSupport

/// Each VM-entry check on the controls (SDM Vol. 3C §27.2.1 → error 7) and on the host-state
/// area (§27.2.2–§27.2.4 → error 8), violated alone from a valid VMCS: the entry fails with
/// the row's error and `lastEntryCheckFailure` names that row, its field and the value.
final class ControlAndHostCheckTests: XCTestCase {
    let guest = VMXTestGuest()
    var cpu: Processor { guest.cpu }

    static func set(_ v: VMCS, _ f: VMCSField, _ bits: UInt32) { v[f] |= UInt64(bits) }
    static func clear(_ v: VMCS, _ f: VMCSField, _ bits: UInt32) { v[f] &= ~UInt64(bits) }
    static func secondary(_ v: VMCS, _ s: SecondaryProcessorBasedControls) {
        set(v, .primaryProcessorBasedControls, PrimaryProcessorBasedControls.activateSecondaryControls.rawValue)
        set(v, .secondaryProcessorBasedControls, s.rawValue)
    }

    /// One mutation per row id.
    nonisolated(unsafe) static let cases: [(id: String, mutate: (VMCS) -> Void)] = [
        ("pin-based-controls-reserved", { v in v[.pinBasedControls] = 0 }),
        ("primary-controls-reserved", { v in set(v, .primaryProcessorBasedControls, 1 << 0) }),
        ("secondary-controls-reserved", { v in secondary(v, [.enablePML]) }),
        ("cr3-target-count", { v in v[.cr3TargetCount] = 5 }),
        ("io-bitmap-a-address", { v in set(v, .primaryProcessorBasedControls, PrimaryProcessorBasedControls.useIOBitmaps.rawValue); v[.ioBitmapA] = 0x1001; v[.ioBitmapB] = 0x2000 }),
        ("io-bitmap-b-address", { v in set(v, .primaryProcessorBasedControls, PrimaryProcessorBasedControls.useIOBitmaps.rawValue); v[.ioBitmapA] = 0x1000; v[.ioBitmapB] = 1 << 45 }),
        ("msr-bitmap-address", { v in set(v, .primaryProcessorBasedControls, PrimaryProcessorBasedControls.useMSRBitmaps.rawValue); v[.msrBitmaps] = 0x10 }),
        ("vmread-bitmap-address", { v in secondary(v, [.vmcsShadowing]); v[.vmreadBitmapAddress] = 0x800; v[.vmwriteBitmapAddress] = 0x1000 }),
        ("vmwrite-bitmap-address", { v in secondary(v, [.vmcsShadowing]); v[.vmreadBitmapAddress] = 0x1000; v[.vmwriteBitmapAddress] = 0x801 }),
        ("tpr-shadow", { v in set(v, .primaryProcessorBasedControls, PrimaryProcessorBasedControls.useTPRShadow.rawValue); v[.virtualAPICAddress] = 0x123 }),
        ("apic-access-address", { v in secondary(v, [.virtualizeAPICAccesses]); v[.apicAccessAddress] = 0xFEE0_0010 }),
        ("vpid-nonzero", { v in secondary(v, [.enableVPID]); v[.virtualProcessorIdentifier] = 0 }),
        ("unrestricted-guest-requires-ept", { v in secondary(v, [.unrestrictedGuest]) }),
        ("virtual-nmis-require-nmi-exiting", { v in set(v, .pinBasedControls, PinBasedControls.virtualNMIs.rawValue) }),
        ("nmi-window-requires-virtual-nmis", { v in set(v, .primaryProcessorBasedControls, PrimaryProcessorBasedControls.nmiWindowExiting.rawValue) }),
        ("ept-pointer", { v in secondary(v, [.enableEPT]); v[.eptPointer] = 0x5000 | 6 | (2 << 3) }),
        ("exit-controls-reserved", { v in v[.exitControls] = UInt64(VMExitControls.hostAddressSpaceSize.rawValue) }),
        ("save-timer-requires-timer", { v in set(v, .exitControls, VMExitControls.saveVMXPreemptionTimer.rawValue) }),
        ("exit-msr-store-address", { v in v[.exitMSRStoreCount] = 1; v[.exitMSRStoreAddress] = 0x1008 }),
        ("exit-msr-load-address", { v in v[.exitMSRLoadCount] = 1; v[.exitMSRLoadAddress] = (1 << 40) - 8 }),
        ("entry-controls-reserved", { v in set(v, .entryControls, 1 << 31) }),
        ("entry-interruption-information", { v in v.entryInterruption = InterruptionInformation(vector: 3, type: .nmi) }),
        ("entry-msr-load-address", { v in v[.entryMSRLoadCount] = 2; v[.entryMSRLoadAddress] = 0x4 }),
        ("tpr-threshold-vtpr", { v in
            set(v, .primaryProcessorBasedControls, PrimaryProcessorBasedControls.useTPRShadow.rawValue)
            v[.virtualAPICAddress] = 0x20_0000; v[.tprThreshold] = 5 }),          // VTPR there reads 0
        ("host-cr0-fixed", { v in v[.hostCR0] &= ~CR0.ne }),
        ("host-cr4-fixed", { v in v[.hostCR4] |= 1 << 30 }),
        ("host-cr3-width", { v in v[.hostCR3] = 1 << 50 }),
        ("host-sysenter-esp-canonical", { v in v[.hostIA32SysenterESP] = 1 << 47 }),
        ("host-sysenter-eip-canonical", { v in v[.hostIA32SysenterEIP] = 1 << 60 }),
        ("host-pat", { v in set(v, .exitControls, VMExitControls.loadPAT.rawValue); v[.hostIA32PAT] = 0x0007_0406_0007_0402 }),
        ("host-efer", { v in set(v, .exitControls, VMExitControls.loadEFER.rawValue); v[.hostIA32EFER] = EFER.lme }),
        ("host-selector-rpl-ti", { v in v[.hostDSSelector] = 0x13 }),
        ("host-cs-nonnull", { v in v[.hostCSSelector] = 0 }),
        ("host-tr-nonnull", { v in v[.hostTRSelector] = 0 }),
        ("host-ss-nonnull", { v in
            v[.hostSSSelector] = 0; clear(v, .exitControls, VMExitControls.hostAddressSpaceSize.rawValue)
            clear(v, .entryControls, VMEntryControls.ia32eModeGuest.rawValue); v[.guestCSAccessRights] = 0xC09B; v[.guestCR4] &= ~CR4.pae }),
        ("host-fs-base-canonical", { v in v[.hostFSBase] = 0x0000_8000_0000_0000 }),
        ("host-gs-base-canonical", { v in v[.hostGSBase] = 0x00FF_0000_0000_0000 }),
        ("host-tr-base-canonical", { v in v[.hostTRBase] = 0x1000_0000_0000_0000 }),
        ("host-gdtr-base-canonical", { v in v[.hostGDTRBase] = 0x0000_8000_0000_1000 }),
        ("host-idtr-base-canonical", { v in v[.hostIDTRBase] = 0x8000_0000_0000_0000 }),
        ("host-64-requires-pae", { v in v[.hostCR4] &= ~CR4.pae }),
        ("host-64-rip-canonical", { v in v[.hostRIP] = 1 << 48 }),
        ("host-32-no-ia32e-guest", { v in clear(v, .exitControls, VMExitControls.hostAddressSpaceSize.rawValue) }),
        ("host-32-pcide", { v in
            clear(v, .exitControls, VMExitControls.hostAddressSpaceSize.rawValue); clear(v, .entryControls, VMEntryControls.ia32eModeGuest.rawValue)
            v[.guestCSAccessRights] = 0xC09B; v[.guestCR4] &= ~CR4.pae; v[.hostCR4] |= CR4.pcide }),
        ("host-32-rip", { v in
            clear(v, .exitControls, VMExitControls.hostAddressSpaceSize.rawValue); clear(v, .entryControls, VMEntryControls.ia32eModeGuest.rawValue)
            v[.guestCSAccessRights] = 0xC09B; v[.guestCR4] &= ~CR4.pae; v[.hostRIP] = 1 << 32 }),
    ]

    func testBaselinePassesEveryRow() throws {
        let v = try guest.vmcs { a in a.hlt() }
        XCTAssertNil(Processor.firstEntryCheckFailure(cpu.entryCheckInput(v, capabilities: cpu.vmxCapabilities)))
    }

    func testEachRowFailsAloneAndIsNamed() throws {
        let rows = VMEntryChecks.controlAndHostRows
        for (id, mutate) in Self.cases {
            let v = try guest.vmcs { a in a.hlt() }
            mutate(v)
            let input = cpu.entryCheckInput(v, capabilities: cpu.vmxCapabilities)
            XCTAssertEqual(rows.filter { !$0.holds(input) }.map(\.id), [id], "mutation for \(id)")
            guard let row = rows.first(where: { $0.id == id }), case .vmFail(let error) = row.consequence else {
                XCTFail("no row \(id)"); continue
            }
            XCTAssertEqual(cpu.run(vmcs: v, budget: 10), .entryFailed(error), id)
            XCTAssertEqual(v[.vmInstructionError], UInt64(error.rawValue), id)
            let failure = try XCTUnwrap(cpu.lastEntryCheckFailure, id)
            XCTAssertEqual(failure.id, id)
            XCTAssertEqual(failure.field, row.field)
            XCTAssertEqual(failure.value, v[row.field], id)
            XCTAssertTrue(failure.description.contains("§\(row.section)"), failure.description)
        }
    }

    func testEveryRowHasATestAndAUniqueID() {
        let ids = VMEntryChecks.controlAndHostRows.map(\.id)
        let tested = Set(Self.cases.map(\.id))
        for id in ids { XCTAssertTrue(tested.contains(id), "no test for \(id)") }
        XCTAssertEqual(Set(ids).count, ids.count, "ids are unique")
        let all = ids + GuestStateChecks.all.map(\.id)
        XCTAssertEqual(Set(all).count, all.count, "no id is shared with a guest-state row")
    }

    /// docs/VMENTRY_CHECKS.md lists every row (control, host and guest state) by its id.
    func testTheChecksDocumentListsEveryRow() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/VMENTRY_CHECKS.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        for id in VMEntryChecks.controlAndHostRows.map(\.id) + GuestStateChecks.all.map(\.id) {
            XCTAssertTrue(text.contains("| `\(id)` |"), "docs/VMENTRY_CHECKS.md has no row for \(id)")
        }
    }

    /// §27.2.2/§27.2.3 with 5-level paging: host addresses are canonical relative to the width
    /// the host CR4.LA57 selects — 57 bits with LA57 = 1, 48 without.
    func testHostAddressesAreCanonicalForTheHostsPagingMode() throws {
        var model = CPUModel.default
        model.features.insert(.la57)
        model.linearAddressBits = 57
        cpu.model = model
        let v = try guest.vmcs { a in a.hlt() }
        let above48: UInt64 = 0x0000_8000_0000_0000         // canonical for 57 bits, not for 48
        for field: VMCSField in [.hostFSBase, .hostGSBase, .hostTRBase, .hostGDTRBase, .hostIDTRBase, .hostRIP,
                                 .hostIA32SysenterESP, .hostIA32SysenterEIP] {
            v[field] = above48
        }
        v[.hostCR4] |= CR4.la57
        XCTAssertNil(VMEntryCheck.firstFailure(of: VMEntryChecks.controlAndHostRows, cpu.entryCheckInput(v, capabilities: cpu.vmxCapabilities)),
                     "57-bit canonical host addresses with host CR4.LA57 = 1")
        v[.hostCR4] &= ~CR4.la57
        let failure = VMEntryCheck.firstFailure(of: VMEntryChecks.controlAndHostRows, cpu.entryCheckInput(v, capabilities: cpu.vmxCapabilities))
        XCTAssertEqual(failure?.id, "host-sysenter-esp-canonical", "4-level host: bit 47 set without 63:48 is not canonical")
        XCTAssertEqual(failure?.consequence, .vmFail(.invalidHostState))
        v[.hostCR4] |= CR4.la57
        v[.hostFSBase] = 0x0100_0000_0000_0000                // beyond 57 bits
        XCTAssertEqual(VMEntryCheck.firstFailure(of: VMEntryChecks.controlAndHostRows,
                                                 cpu.entryCheckInput(v, capabilities: cpu.vmxCapabilities))?.id, "host-fs-base-canonical")
    }
}
