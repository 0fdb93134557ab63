import XCTest
import X86Assembler
@testable import CPU

/// Nested EPT: L2 runs under EPT12 ∘ EPT01, which L0 caches in EPT02. What L1 sees must be what
/// EPT12 alone would give on hardware (SDM Vol. 3C §29.3 "The Extended Page Table Mechanism",
/// §28.2.1 Table 28-7 for the EPT-violation qualification, §29.4 "Caching Translation
/// Information" for INVEPT).
final class NestedEPTTests: XCTestCase {
    /// L1 pages the lazy region's pages map to (40 MiB on).
    static func target(_ k: Int) -> UInt64 { 0x280_0000 + UInt64(k) * 0x1000 }

    /// §29.3.3.2, Table 28-7: an access EPT12 does not allow is an EPT violation for L1 —
    /// qualification bits 2:0 the access (read 1, write 2, fetch 4), bits 5:3 what EPT12
    /// allows, bit 7 a guest-linear address is valid, bit 8 the access was to the translated
    /// address; the guest-physical and guest-linear addresses of the access. L1 fills EPT12
    /// lazily (not present → read-only → read/write; then execute) and L2 retries and goes on,
    /// reading and writing L1's page EPT12 now names.
    func testEPTViolationsAreReflectedAndL1FillsEPT12Lazily() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let data = L1Program.lazyAddress(5) + 0x18, code = L1Program.lazyAddress(6)
        let calledCode: [UInt8] = [0xBB, 0xDE, 0xC0, 0, 0, 0x0F, 0x01, 0xC1, 0xC3]   // mov ebx, 0xC0DE; vmcall; ret
        let l2 = p.l2Code {
            a.mov(rcx, Int64(data))
            a.mov(rbx, qword[rcx]); a.vmcall()                    // read: not present
            a.mov(qword[rcx + 8], rbx)                            // write: read-only
            a.mov(rax, Int64(code)); a.call(rax)                  // fetch: not executable
            p.l2Done()
        }
        var g = L2Guest(code: l2)
        p.enableVMX()
        p.buildEPT12()
        p.store(Self.target(0) + 0x18, 0xFEED_FACE_CAFE)
        for (k, value) in calledCode.enumerated() { a.mov(byte[Int64(Self.target(1)) + Int64(k)], Int64(value)) }
        g.eptPointer = p.ept12Pointer()
        let log = p.runL2(g) {
            p.ifExit(number: 1) { p.mapLazyPage(5, to: Self.target(0), rights: 1) }
            p.ifExit(number: 3) { p.mapLazyPage(5, to: Self.target(0), rights: 3) }
            p.ifExit(number: 4) { p.mapLazyPage(6, to: Self.target(1), rights: 3) }
            p.ifExit(number: 5) { p.mapLazyPage(6, to: Self.target(1), rights: 7) }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.eptViolation, .vmcall, .eptViolation, .eptViolation, .eptViolation, .vmcall, .vmcall], "\(exits)")
        guard exits.count == 7 else { return }
        let violations: [(Int, UInt64, UInt64)] = [
            (0, 0x181, data),          // read, nothing allowed
            (2, 0x18A, data + 8),      // write, read allowed
            (3, 0x184, code),          // fetch, nothing allowed
            (4, 0x19C, code),          // fetch, read/write allowed
        ]
        for (k, qualification, address) in violations {
            XCTAssertEqual(exits[k].qualification, qualification, "\(exits[k])")
            XCTAssertEqual(exits[k].guestPhysicalAddress, address, "\(exits[k])")
            XCTAssertEqual(exits[k].guestLinearAddress, address, "\(exits[k])")
        }
        XCTAssertEqual(exits[1][.rbx], 0xFEED_FACE_CAFE, "L2 read L1's page")
        XCTAssertEqual(m.qword(at: Self.target(0) + 0x20), 0xFEED_FACE_CAFE, "L2's write went to L1's page")
        XCTAssertEqual(m.qword(at: L1Layout.lazyRegion + 0x5020), 0, "not to the identity page")
        XCTAssertEqual(exits[5][.rbx], 0xC0DE, "L2 ran L1's code page")
    }

    /// §29.3.3.1: an EPT12 entry that is misconfigured — write without read, or a reserved
    /// memory type (2) in a leaf — is exit reason 49 for L1 with the guest-physical address;
    /// once L1 repairs it L2 goes on.
    func testEPT12MisconfigurationsAreExit49() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a
        let writeOnly = L1Program.lazyAddress(7), badType = L1Program.lazyAddress(8) + 0x40
        let l2 = p.l2Code {
            a.mov(rcx, Int64(writeOnly)); a.mov(rax, qword[rcx])
            a.mov(rcx, Int64(badType)); a.mov(rax, qword[rcx])
            p.l2Done()
        }
        var g = L2Guest(code: l2)
        p.enableVMX()
        p.buildEPT12()
        p.mapLazyPage(7, to: Self.target(2), rights: 2)
        p.mapLazyPage(8, to: Self.target(3), rights: 7, memoryType: 2)
        g.eptPointer = p.ept12Pointer()
        let log = p.runL2(g) {
            p.ifExit(number: 1) { p.mapLazyPage(7, to: Self.target(2), rights: 3) }
            p.ifExit(number: 2) { p.mapLazyPage(8, to: Self.target(3), rights: 7) }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.eptMisconfiguration, .eptMisconfiguration, .vmcall], "\(exits)")
        guard exits.count == 3 else { return }
        XCTAssertEqual(exits[0].guestPhysicalAddress, writeOnly)
        XCTAssertEqual(exits[1].guestPhysicalAddress, badType)
    }

    /// §29.4.3.1, ch. 31 INVEPT: translations derived from EPT12 may be cached until L1
    /// invalidates them; after L1 removes a mapping and executes INVEPT (single-context for
    /// EPTP12, or all-context), L2's next access to the page is an EPT violation again. A
    /// single-context INVEPT covers the EP4TA (EPTP bits 51:12) whatever the descriptor's and
    /// L2's EPTP A/D flag (bit 6). (The hostile-L1 fuzz found L0 dropping only the EPT02 made
    /// for the descriptor's A/D setting.)
    func testINVEPTAfterRemovingAMappingMakesTheNextAccessFault() throws {
        for (type, guestAD, descriptorAD) in [(UInt64(1), false, false), (2, false, false), (1, true, false), (1, false, true)] {
            let m = try NestedMachine(), p = m.program()
            let a = p.a, data = L1Program.lazyAddress(3)
            let l2 = p.l2Code {
                a.mov(rcx, Int64(data))
                a.mov(rbx, qword[rcx]); a.vmcall()
                a.mov(rbx, qword[rcx])
                p.l2Done()
            }
            var g = L2Guest(code: l2)
            p.enableVMX()
            p.buildEPT12()
            p.mapLazyPage(3, to: Self.target(4))
            p.store(Self.target(4), 0x4444)
            g.eptPointer = p.ept12Pointer(accessedDirty: guestAD)
            var invept: OutcomeRecord?
            let log = p.runL2(g) {
                p.ifExit(number: 1) {
                    p.unmapLazyPage(3)
                    invept = InvalidationInstructionTests.invalidate(p, vpid: false, type: type,
                                                                     low: p.ept12Pointer(accessedDirty: descriptorAD), high: 0)
                }
                p.ifExit(number: 2) { p.mapLazyPage(3, to: Self.target(4)) }
            }
            p.finish()
            try m.run(p)
            let exits = m.exits(log)
            XCTAssertEqual(exits.reasons, [.vmcall, .eptViolation, .vmcall], "INVEPT type \(type), A/D \(guestAD)/\(descriptorAD): \(exits)")
            XCTAssertEqual(m.outcome(invept!), .succeed)
            guard exits.count == 3 else { continue }
            XCTAssertEqual(exits[0][.rbx], 0x4444)
            XCTAssertEqual(exits[1].guestPhysicalAddress, data)
            XCTAssertEqual(exits[1].qualification, 0x181)
        }
    }

    /// §29.3.5 "Accessed and Dirty Flags for EPT": with bit 6 of EPTP12 set, L2's accesses set
    /// EPT12's accessed flag (bit 8) in every entry used and its dirty flag (bit 9) in the leaf
    /// of a write; accesses to L2's own paging structures count as writes. Without it, EPT12 is
    /// left alone.
    func testEPT12AccessedAndDirtyFlags() throws {
        for accessedDirty in [true, false] {
            let m = try NestedMachine(), p = m.program()
            let a = p.a, data = L1Program.lazyAddress(9)
            let l2 = p.l2Code {
                a.mov(rcx, Int64(data))
                a.mov(rax, qword[rcx]); a.vmcall()
                a.mov(qword[rcx], rax); a.vmcall()
                p.l2Done()
            }
            var g = L2Guest(code: l2)
            p.enableVMX()
            p.buildEPT12()
            p.mapLazyPage(9, to: Self.target(5))
            g.eptPointer = p.ept12Pointer(accessedDirty: accessedDirty)
            let afterRead = p.slot(), afterWrite = p.slot()
            let log = p.runL2(g) {
                p.ifExit(number: 1) { a.mov(rax, qword[Int64(p.lazyEntry(9))]); p.record(afterRead, from: rax) }
                p.ifExit(number: 2) { a.mov(rax, qword[Int64(p.lazyEntry(9))]); p.record(afterWrite, from: rax) }
            }
            p.finish()
            try m.run(p)
            XCTAssertEqual(m.exits(log).reasons, [.vmcall, .vmcall, .vmcall])
            let ad = L1Program.eptAccessed | L1Program.eptDirty
            let area = L1Layout.area(0)
            let directory = m.qword(at: area.ept12PD + UInt64(8 * L1Program.lazyDirectoryIndex))
            let tables = m.qword(at: area.ept12PD + 8 * (L1Layout.pml4 >> 21))     // the 2-MByte page holding L1's (and L2's) page tables
            if accessedDirty {
                XCTAssertEqual(m[afterRead] & ad, L1Program.eptAccessed, "read: accessed, not dirty")
                XCTAssertEqual(m[afterWrite] & ad, ad, "write: dirty")
                XCTAssertEqual(directory & L1Program.eptAccessed, L1Program.eptAccessed, "the page-directory entry used")
                XCTAssertEqual(m.qword(at: area.ept12PML4) & L1Program.eptAccessed, L1Program.eptAccessed)
                XCTAssertEqual(tables & ad, ad, "L2's paging-structure accesses are writes")
            } else {
                XCTAssertEqual(m[afterRead] & ad, 0)
                XCTAssertEqual(m[afterWrite] & ad, 0)
                XCTAssertEqual(directory & ad, 0)
                XCTAssertEqual(tables & ad, 0)
            }
        }
    }

    /// §28.2.4 "Information for VM Exits That Occur During Event Delivery": when delivering the
    /// external interrupt L1 injects needs a stack page EPT12 does not map, L1 gets the EPT
    /// violation (a write, Table 28-7) with the interrupt in the IDT-vectoring information and
    /// L2's RIP where it was; L1 maps the page and injects the event again (§27.6), and L2's
    /// handler runs.
    func testEPTViolationDuringDeliveryOfAnInjectedEventCarriesItsIDTVectoringInformation() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, handler = a.label(), vector = 0x61
        let code = p.l2Code {
            p.l2Done()
            a.bind(handler)
            a.mov(ebx, Int64(vector)); a.vmcall()
            p.l2Done()
        }
        var g = L2Guest(code: code)
        g.idt = p.l2IDT([vector: handler])
        g.overrides = [(.guestRFLAGS, 0x202), (.entryInterruptionInformation, 0x8000_0000 | UInt64(vector))]
        let exits = try Self.runWithTheStackMappedAtTheFirstExit(m, p, g)
        XCTAssertEqual(exits.reasons, [.eptViolation, .vmcall, .vmcall], "\(exits)")
        guard exits.count == 3 else { return }
        XCTAssertEqual(exits[0][.idtVectoring], 0x8000_0000 | UInt64(vector), "external interrupt, valid")
        XCTAssertEqual(exits[0].qualification & 0x1BF, 0x182, "a write to a page EPT12 does not map")
        XCTAssertEqual(exits[0].guestPhysicalAddress & ~0xFFF, L1Program.lazyAddress(10))
        XCTAssertEqual(exits[0].guestRIP, code.address!)
        XCTAssertEqual(exits[1][.rbx], UInt64(vector))
    }

    /// Runs `g` under EPT12 with its stack at the top of lazy page 10, which EPT12 does not map
    /// yet: at the first exit L1 maps the page and injects the event whose delivery it
    /// interrupted (the IDT-vectoring information) again.
    static func runWithTheStackMappedAtTheFirstExit(_ m: NestedMachine, _ p: L1Program, _ guest: L2Guest) throws -> [ObservedExit] {
        var g = guest
        g.overrides.append((.guestRSP, L1Program.lazyAddress(11)))
        p.enableVMX()
        p.buildEPT12()
        g.eptPointer = p.ept12Pointer()
        let log = p.runL2(g) {
            p.ifExit(number: 1) {
                p.mapLazyPage(10, to: Self.target(7))
                p.vmread(.idtVectoringInformation); p.set(.entryInterruptionInformation, from: rax)
            }
        }
        p.finish()
        try m.run(p)
        return m.exits(log)
    }

    /// §28.1: an event that causes a VM exit during its delivery first takes the processor out
    /// of an inactive state and ends blocking by STI / MOV SS. L2 runs with RFLAGS.TF = 1 and
    /// executes HLT (or STI with IF = 0); the single-step trap follows (waking the HLT), and
    /// delivering the #DB writes a stack page EPT12 does not map: L1 gets the EPT violation with
    /// the #DB as IDT-vectoring information, guest activity state "active" and no STI blocking
    /// (HLT or STI blocking with TF and no pending BS would fail L1's next VM entry,
    /// §27.3.1.5). L1 maps the page, injects the #DB again and L2's handler runs. (Found by the
    /// hostile-L1 fuzz, where L0 itself filled EPT02 and its re-entry of VMCS02 failed.)
    func testAnExitDuringDeliveryOfASingleStepTrapSavesActiveUnblockedState() throws {
        for sti in [false, true] {
            let m = try NestedMachine(), p = m.program()
            let a = p.a, handler = a.label()
            let code = p.l2Code {
                if sti { a.sti() } else { a.hlt() }
                p.l2Done()
                a.bind(handler)
                a.mov(ebx, 1); a.vmcall()
                p.l2Done()
            }
            var g = L2Guest(code: code)
            g.idt = p.l2IDT([1: handler])
            g.overrides = [(.guestRFLAGS, 0x102)]
            let exits = try Self.runWithTheStackMappedAtTheFirstExit(m, p, g), what = sti ? "STI" : "HLT"
            XCTAssertEqual(exits.reasons, [.eptViolation, .vmcall, .vmcall], "\(what): \(exits)")
            guard exits.count == 3 else { continue }
            XCTAssertEqual(exits[0][.idtVectoring], 0x8000_0301, "\(what): #DB, hardware exception, valid")
            XCTAssertEqual(exits[0][.activityState], 0, "\(what): active")
            XCTAssertEqual(exits[0][.interruptibility] & 3, 0, "\(what): no blocking by STI or MOV SS")
            XCTAssertEqual(exits[0].guestRIP, code.address! + 1, "\(what): after the instruction")
            XCTAssertEqual(exits[1][.rbx], 1, "\(what): L2's #DB handler ran")
        }
    }

    /// §28.3.4: a VM exit saves BS in the pending debug exceptions only for a single-step trap
    /// an instruction owes, never with IA32_DEBUGCTL.BTF = 1. L2 enters with RFLAGS.TF = 1,
    /// BTF = 1 in vmcs12's IA32_DEBUGCTL field and blocking by MOV SS (valid with BS = 0,
    /// §27.3.1.5, which reads the field whether or not "load debug controls" loads it, and
    /// before the VM-entry MSR-load list may write IA32_DEBUGCTL); its first access misses in
    /// EPT02, L0 fills it and enters VMCS02 again, which must still pass the checks. (Found by
    /// the hostile-L1 fuzz: the exit saved BS for the trap TF had armed for the next
    /// instruction; without "load debug controls", or after the list, VMCS02 had BTF = 0.)
    /// This processor single-steps with BTF = 1 too, so L2's #DB handler reports the first trap.
    func testL0sEntriesOfVMCS02KeepAValidPendingDebugState() throws {
        for (load, list) in [(true, false), (false, false), (true, true)] {
            let m = try NestedMachine(), p = m.program()
            let a = p.a, handler = a.label()
            let code = p.l2Code {
                a.nop()
                p.l2Done()
                a.bind(handler)
                a.mov(ebx, 1); a.vmcall()
                p.l2Done()
            }
            var g = L2Guest(code: code)
            g.idt = p.l2IDT([1: handler])
            if load { g.entry = [.loadDebugControls] }
            g.overrides = [(.guestRFLAGS, 0x102), (.guestIA32DebugCtl, 2), (.guestInterruptibilityState, 2)]
            p.enableVMX()
            if list {
                let l = p.area.entryMSRLoadList
                a.mov(qword[Int64(l)], Int64(MSRIndex.debugCtl)); a.mov(qword[Int64(l + 8)], 0)     // IA32_DEBUGCTL ← 0
                g.overrides += [(.entryMSRLoadAddress, l), (.entryMSRLoadCount, 1)]
            }
            p.buildEPT12()
            g.eptPointer = p.ept12Pointer()
            let log = p.runL2(g)
            p.finish()
            try m.run(p)
            let exits = m.exits(log)
            XCTAssertEqual(exits.reasons.first, .vmcall, "load debug controls \(load), MSR-load list \(list): \(exits)")
        }
    }

    /// EPT02 starts empty, so the first delivery of an event L1 injects reads L2's IDT and
    /// writes its stack through EPT02 misses that EPT12 does map: L0 fills EPT02 and delivers
    /// the event again itself (the IDT-vectoring information of its own exit) — L1 sees only
    /// what L2's handler does.
    func testL0FillingEPT02DuringEventDeliveryKeepsTheEvent() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, handler = a.label(), vector = 0x62
        let code = p.l2Code {
            p.l2Done()
            a.bind(handler)
            a.mov(ebx, Int64(vector)); a.vmcall()
            a.iretq()
        }
        var g = L2Guest(code: code)
        g.idt = p.l2IDT([vector: handler])
        g.overrides = [(.guestRFLAGS, 0x202), (.entryInterruptionInformation, 0x8000_0000 | UInt64(vector))]
        p.enableVMX()
        p.buildEPT12()
        g.eptPointer = p.ept12Pointer()
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmcall, .vmcall], "\(exits)")
        XCTAssertEqual(exits.first?[.rbx], UInt64(vector))
        XCTAssertGreaterThan(m.vm.exitTrace.count(.eptViolation, level: .l2), 0, "EPT02 was filled on demand")
    }

    /// Table 28-7 bit 8: an EPT violation on an access to one of L2's own paging structures
    /// (here L2's PML4, in a page EPT12 does not map yet) reports bit 8 = 0, bit 7 = 1 (the
    /// linear address being translated — L2's RIP — is in the guest-linear address field) and
    /// the entry's guest-physical address.
    func testEPTViolationOnL2sPagingStructureReportsItAsSuch() throws {
        let m = try NestedMachine(), p = m.program()
        let l2PML4 = L1Program.lazyAddress(12)
        let code = p.l2Code { p.l2Done() }
        var g = L2Guest(code: code)
        g.overrides = [(.guestCR3, l2PML4)]
        p.enableVMX()
        p.buildEPT12()
        p.zeroPage(Self.target(8))
        p.store(Self.target(8), L1Layout.pdpt | 7)                 // L2's PML4[0]: L1's PDPT
        g.eptPointer = p.ept12Pointer()
        let log = p.runL2(g) {
            p.ifExit(number: 1) { p.mapLazyPage(12, to: Self.target(8)) }
        }
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.eptViolation, .vmcall], "\(exits)")
        guard exits.count == 2 else { return }
        XCTAssertEqual(exits[0].qualification, 0x81, "read of a paging-structure entry, linear address valid")
        XCTAssertEqual(exits[0].guestPhysicalAddress, l2PML4, "PML4 entry 0")
        XCTAssertEqual(exits[0].guestLinearAddress, code.address!)
        XCTAssertEqual(exits[0].guestRIP, code.address!)
    }

    /// EPT12 may map an L2 page onto one of L1's device windows: L2's access then reaches the
    /// device L0 emulates for L1 — here the local APIC's version register (offset 30H) at
    /// L1-physical FEE00000H, through an L2-physical page in the lazy region.
    func testEPT12MappingOntoAnL1DeviceReachesTheDevice() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, apicPage = L1Program.lazyAddress(13)
        let code = p.l2Code {
            a.mov(rcx, Int64(apicPage)); a.mov(ebx, dword[rcx + 0x30]); a.vmcall()
            p.l2Done()
        }
        var g = L2Guest(code: code)
        p.enableVMX()
        p.buildEPT12()
        p.mapLazyPage(13, to: L1Layout.localAPIC, rights: 3, memoryType: 0)
        g.eptPointer = p.ept12Pointer()
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmcall, .vmcall], "\(exits)")
        XCTAssertEqual(exits.first.map { $0[.rbx] & 0xFF }, 0x14, "the local APIC's version")
    }

    /// §29.3.2 Table 29-3: an EPT12 PDPTE with bit 7 maps a 1-GByte page. L2-physical 1 GiB on
    /// maps to L1-physical 0 on, so L2's read of 1 GiB + X returns L1's memory at X.
    func testEPT12OneGBytePageTranslates() throws {
        let m = try NestedMachine(), p = m.program()
        let a = p.a, x = Self.target(9) + 0x48, gib: UInt64 = 1 << 30
        let code = p.l2Code {
            a.mov(rcx, Int64(gib + x)); a.mov(rbx, qword[rcx])
            p.l2Done()
        }
        var g = L2Guest(code: code)
        p.enableVMX()
        p.buildEPT12()
        p.store(p.area.ept12PDPT + 8, 0 | L1Program.eptLargePage | L1Program.eptWriteBack | L1Program.eptRWX)
        p.store(x, 0x1_6B_0000)
        g.eptPointer = p.ept12Pointer()
        let log = p.runL2(g)
        p.finish()
        try m.run(p)
        let exits = m.exits(log)
        XCTAssertEqual(exits.reasons, [.vmcall], "\(exits)")
        XCTAssertEqual(exits.first?[.rbx], 0x1_6B_0000)
    }
}
