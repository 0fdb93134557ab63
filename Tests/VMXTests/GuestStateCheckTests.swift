import XCTest
@testable import CPU

/// Each VM-entry guest-state check (SDM Vol. 3C §27.3.1), violated alone from a valid state.
final class GuestStateCheckTests: XCTestCase {
    typealias Seg = GuestStateArea.Segment

    /// A valid 64-bit guest.
    static func longMode() -> (GuestStateArea, GuestStateCheckContext) {
        var s = GuestStateArea()
        s.cr0 = 0x8000_0031; s.cr4 = 0x2020; s.cr3 = 0x1000; s.rip = 0x1000; s.rflags = 2
        s.cs = Seg(selector: 8, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xA09B)
        let data = Seg(selector: 0x10, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC093)
        s.ss = data; s.ds = data; s.es = data; s.fs = data; s.gs = data
        s.tr = Seg(selector: 0x18, base: 0, limit: 0x67, accessRights: 0x8B)
        s.gdtrLimit = 0x1F; s.idtrLimit = 0xFFF
        s.efer = 0x500
        var c = GuestStateCheckContext()
        c.ia32eModeGuest = true
        c.loadEFER = true
        return (s, c)
    }

    /// A valid 32-bit paged protected-mode guest.
    static func protected32() -> (GuestStateArea, GuestStateCheckContext) {
        var (s, c) = longMode()
        s.cr4 = 0x2000; s.efer = 0
        s.cs.accessRights = 0xC09B
        c.ia32eModeGuest = false
        return (s, c)
    }

    /// A valid virtual-8086 guest.
    static func virtual8086() -> (GuestStateArea, GuestStateCheckContext) {
        var (s, c) = protected32()
        s.rflags = 0x2_0002
        let v = Seg(selector: 0x1000, base: 0x1_0000, limit: 0xFFFF, accessRights: 0xF3)
        s.cs = v; s.ss = v; s.ds = v; s.es = v; s.fs = v; s.gs = v
        return (s, c)
    }

    typealias Mutation = (inout GuestStateArea, inout GuestStateCheckContext) -> Void
    nonisolated(unsafe) static let cases: [(id: String, base: () -> (GuestStateArea, GuestStateCheckContext), mutate: Mutation)] = [
        ("cr0-fixed", longMode, { s, _ in s.cr0 &= ~0x20 }),
        ("cr0-pg-requires-pe", longMode, { s, c in c.unrestrictedGuest = true; s.cr0 &= ~1 }),
        ("cr4-fixed", longMode, { s, _ in s.cr4 &= ~0x2000 }),
        ("debugctl-reserved", longMode, { s, _ in s.debugCtl = 1 << 6 }),
        ("ia32e-requires-pae", longMode, { s, _ in s.cr4 &= ~0x20 }),
        ("pcide-requires-ia32e", protected32, { s, _ in s.cr4 |= 1 << 17 }),
        ("cr3-width", longMode, { s, _ in s.cr3 = 1 << 45 }),
        ("dr7-upper", longMode, { s, _ in s.dr7 |= 1 << 40 }),
        ("sysenter-esp-canonical", longMode, { s, _ in s.sysenterESP = 1 << 47 }),
        ("sysenter-eip-canonical", longMode, { s, _ in s.sysenterEIP = 1 << 47 }),
        ("pat-valid", longMode, { s, c in c.loadPAT = true; s.pat = 0x02 }),
        ("efer-reserved", longMode, { s, _ in s.efer |= 1 << 2 }),
        ("efer-lma-matches-ia32e", longMode, { s, c in c.unrestrictedGuest = true; s.cr0 &= ~(1 << 31); s.efer = 0x100 }),
        ("efer-lma-matches-lme", longMode, { s, _ in s.efer = 0x400 }),
        ("tr-ti", longMode, { s, _ in s.tr.selector |= 4 }),
        ("ldtr-ti", longMode, { s, _ in s.ldtr = Seg(selector: 0x24, base: 0, limit: 0xFFFF, accessRights: 0x82) }),
        ("ss-rpl-equals-cs-rpl", longMode, { s, _ in s.cs.selector = 0x0B }),
        ("v86-bases", virtual8086, { s, _ in s.ds.base = 0 }),
        ("system-bases-canonical", longMode, { s, _ in s.fs.base = 1 << 47 }),
        ("cs-base-upper", longMode, { s, _ in s.cs.base = 1 << 32 }),
        ("ss-ds-es-base-upper", longMode, { s, _ in s.ds.base = 1 << 32 }),
        ("v86-limits", virtual8086, { s, _ in s.es.limit = 0xF_FFFF }),
        ("v86-access-rights", virtual8086, { s, _ in s.gs.accessRights = 0xF2 }),
        ("cs-type", longMode, { s, _ in s.cs.accessRights = 0xA098 }),
        ("ss-type", longMode, { s, _ in s.ss.accessRights = 0xC091 }),
        ("data-type", longMode, { s, _ in s.ds.accessRights = 0xC092 }),
        ("s-bit", longMode, { s, _ in s.ds.accessRights = 0xC083 }),
        ("cs-dpl", longMode, { s, _ in s.cs.accessRights = 0xA0FB }),
        ("ss-dpl", longMode, { s, _ in s.cs.accessRights = 0xA09F; s.ss.accessRights = 0xC0F3 }),
        ("data-dpl", longMode, { s, _ in s.ds.selector = 0x13 }),
        ("present", longMode, { s, _ in s.ds.accessRights = 0xC013 }),
        ("ar-reserved-11-8", longMode, { s, _ in s.ds.accessRights |= 0x100 }),
        ("cs-db-with-l", longMode, { s, _ in s.cs.accessRights = 0xE09B }),
        ("granularity", longMode, { s, _ in s.ds.limit = 0xFFFF_0000 }),
        ("ar-reserved-31-17", longMode, { s, _ in s.ds.accessRights |= 1 << 20 }),
        ("tr-type", longMode, { s, _ in s.tr.accessRights = 0x83 }),
        ("tr-ar", longMode, { s, _ in s.tr.accessRights |= 0x10 }),
        ("ldtr-ar", longMode, { s, _ in s.ldtr = Seg(selector: 0x20, base: 0, limit: 0xFFFF, accessRights: 0x83) }),
        ("gdtr-idtr-canonical", longMode, { s, _ in s.gdtrBase = 1 << 47 }),
        ("gdtr-idtr-limit", longMode, { s, _ in s.idtrLimit = 0x1_0000 }),
        ("rip-upper", protected32, { s, _ in s.rip = 1 << 32 }),
        ("rip-high-bits", longMode, { s, _ in s.rip = 1 << 48 }),
        ("rflags-reserved", longMode, { s, _ in s.rflags |= 1 << 3 }),
        ("rflags-vm", virtual8086, { s, c in c.unrestrictedGuest = true; s.cr0 = 0x30 }),
        ("rflags-if-for-external-interrupt", longMode, { _, c in c.entryInterruption = InterruptionInformation(rawValue: 0x8000_0020) }),
        ("activity-supported", longMode, { s, _ in s.activityState = 4 }),
        ("activity-hlt-ss-dpl", longMode, { s, _ in
            s.cs.selector = 0x0B; s.cs.accessRights = 0xA0FB; s.ss.selector = 0x13; s.ss.accessRights = 0xC0F3
            s.activityState = 1 }),
        ("activity-active-when-blocking", longMode, { s, _ in s.activityState = 1; s.interruptibility = 2 }),
        ("activity-allows-injection", longMode, { s, c in s.activityState = 3; c.entryInterruption = InterruptionInformation(rawValue: 0x8000_0306) }),
        ("activity-sipi-smm", longMode, { s, c in c.entryToSMM = true; s.interruptibility = 4; s.activityState = 3 }),
        ("interruptibility-reserved", longMode, { s, _ in s.interruptibility = 0x10 }),
        ("interruptibility-sti-and-movss", longMode, { s, _ in s.interruptibility = 3; s.rflags = 0x202 }),
        ("interruptibility-sti-needs-if", longMode, { s, _ in s.interruptibility = 1 }),
        ("interruptibility-external-injection", longMode, { s, c in
            s.rflags = 0x202; s.interruptibility = 2; c.entryInterruption = InterruptionInformation(rawValue: 0x8000_0020) }),
        ("interruptibility-nmi-injection-movss", longMode, { s, c in s.interruptibility = 2; c.entryInterruption = InterruptionInformation(rawValue: 0x8000_0202) }),
        ("interruptibility-smi", longMode, { s, _ in s.interruptibility = 4 }),
        ("interruptibility-virtual-nmi-injection", longMode, { s, c in
            c.virtualNMIs = true; s.interruptibility = 8; c.entryInterruption = InterruptionInformation(rawValue: 0x8000_0202) }),
        ("pending-debug-reserved", longMode, { s, _ in s.pendingDebugExceptions = 1 << 4 }),
        ("pending-debug-bs", longMode, { s, _ in s.interruptibility = 1; s.rflags = 0x302 }),
        ("link-pointer-alignment", longMode, { s, _ in s.vmcsLinkPointer = 0x1001 }),
        ("link-pointer-revision", longMode, { s, c in s.vmcsLinkPointer = 0x5000; c.readPhysical32 = { _ in 2 } }),
        ("pdpte-fields", protected32, { s, c in s.cr4 |= 0x20; c.enableEPT = true; s.pdpte.0 = 0x3 }),
        ("pdpte-memory", protected32, { s, c in s.cr4 |= 0x20; c.readPhysical64 = { _ in 0x3 } }),
    ]

    func testBaselinesAreValid() {
        for (name, base) in [("long mode", Self.longMode), ("protected", Self.protected32), ("virtual-8086", Self.virtual8086)] {
            let (s, c) = base()
            XCTAssertNil(GuestStateChecks.firstViolation(s, c)?.id, name)
        }
    }

    func testEachCheckFailsAloneWithItsQualification() {
        for (id, base, mutate) in Self.cases {
            var (s, c) = base()
            mutate(&s, &c)
            let failing = GuestStateChecks.all.filter { !$0.holds(s, c) }.map(\.id)
            XCTAssertEqual(failing, [id], "mutation for \(id)")
            let expectedQualification: UInt64 = id.hasPrefix("link-pointer") ? 4 : (id.hasPrefix("pdpte") ? 2 : 0)
            XCTAssertEqual(GuestStateChecks.firstViolation(s, c)?.qualification, expectedQualification, id)
        }
    }

    func testEveryCheckHasATest() {
        let tested = Set(Self.cases.map(\.id))
        for check in GuestStateChecks.all { XCTAssertTrue(tested.contains(check.id), "no test for \(check.id)") }
        XCTAssertEqual(Set(GuestStateChecks.all.map(\.id)).count, GuestStateChecks.all.count, "ids are unique")
    }
}
