/// One check VM entry performs (SDM Vol. 3C ch. 27): on the VMX controls (§27.2.1 → VMfailValid
/// with error 7), on the host-state area (§27.2.2–§27.2.4 → error 8), or on the guest-state
/// area (§27.3.1 → VM-entry failure, exit reason 33 with bit 31 and the row's qualification).
/// Every row has this one shape: a stable id, the SDM section, the requirement in words, the
/// VMCS field it reports, what a failure causes, and a plain function (no closure context, so
/// nothing is retained per call: every VM entry runs the rows).
public struct VMEntryCheck: Sendable {
    public enum Consequence: Equatable, Sendable {
        /// VMfailValid with this error; nothing is loaded (§27.2).
        case vmFail(VMInstructionError)
        /// VM-entry failure due to invalid guest state with this exit qualification (§27.8:
        /// 0, 2 for a PDPTE, 4 for the VMCS link pointer).
        case invalidGuestState(qualification: UInt64)
    }

    /// Stable name, used by tests, logs and docs/VMENTRY_CHECKS.md.
    public let id: String
    /// SDM Vol. 3C section, e.g. "27.2.1.1".
    public let section: String
    public let requirement: String
    /// The field a failure names (with its value).
    public let field: VMCSField
    public let consequence: Consequence
    /// The predicate: control/host rows read fields (and, through the context, capabilities and
    /// memory); guest-state rows read the guest-state area. Plain functions (no closure context
    /// is retained per call) taking their large inputs in place: `inout` only so they are
    /// passed by address (by value, Swift 6.3's LoadableByAddress pass crashes on a table of
    /// such functions); no row writes them.
    typealias FieldsPredicate = @convention(thin) (VMCS, inout GuestStateCheckContext) -> Bool
    typealias GuestPredicate = @convention(thin) (inout GuestStateArea, inout GuestStateCheckContext) -> Bool
    let fieldsCheck: FieldsPredicate
    let guestCheck: GuestPredicate
    let onGuestState: Bool
    /// Every VMCS field the predicate reads (for a guest-state row also the controls its
    /// context is made of, `GuestStateChecks.contextFields`): `VMEntryCheckCache` runs the row
    /// again only when one of them changed value (or it read memory last time).
    let reads: DirtyFields

    /// A check on control or host-state fields (against `context.capabilities`; it may read
    /// memory through the context's readers).
    init(_ id: String, _ section: String, _ requirement: String, field: VMCSField, _ consequence: Consequence,
         reads: [VMCSField], fields: FieldsPredicate) {
        self.id = id
        self.section = section
        self.requirement = requirement
        self.field = field
        self.consequence = consequence
        fieldsCheck = fields
        guestCheck = { _, _ in true }
        onGuestState = false
        self.reads = DirtyFields(reads + [field])
    }

    /// A check on the guest-state area and the entry settings it depends on.
    init(_ id: String, _ section: String, _ requirement: String, field: VMCSField, _ consequence: Consequence,
         reads: [VMCSField], guest: GuestPredicate) {
        self.id = id
        self.section = section
        self.requirement = requirement
        self.field = field
        self.consequence = consequence
        fieldsCheck = { _, _ in true }
        guestCheck = guest
        onGuestState = true
        self.reads = DirtyFields(reads + [field] + GuestStateChecks.contextFields)
    }

    /// Whether the check passes for `input`.
    public func holds(_ input: VMEntryCheckInput) -> Bool {
        var input = input
        return holds(&input)
    }

    /// Whether a guest-state row passes for `state` under `context` (control rows: true).
    public func holds(_ state: GuestStateArea, _ context: GuestStateCheckContext) -> Bool {
        var s = state, c = context
        return !onGuestState || guestCheck(&s, &c)
    }

    func holds(_ input: inout VMEntryCheckInput) -> Bool {
        onGuestState ? guestCheck(&input.guestState, &input.context) : fieldsCheck(input.vmcs, &input.context)
    }
}

/// What the checks read: the VMCS, the capabilities it is checked against (the processor's
/// own, or those L0 offers a guest hypervisor), and — for the guest-state rows — the
/// guest-state area and entry settings taken from that VMCS.
public struct VMEntryCheckInput {
    public let vmcs: VMCS
    public var guestState: GuestStateArea
    public var context: GuestStateCheckContext

    /// The guest-state area and context are read from `vmcs` (§25.4); `readPhysical32/64` read
    /// the memory the link-pointer and PDPTE checks look at (nil: not readable memory).
    public init(vmcs: VMCS, capabilities: VMXCapabilities,
                readPhysical32: @escaping @Sendable (UInt64) -> UInt32?,
                readPhysical64: @escaping @Sendable (UInt64) -> UInt64?) {
        self.vmcs = vmcs
        guestState = GuestStateArea(vmcs)
        context = GuestStateCheckContext(vmcs: vmcs, capabilities: capabilities,
                                         readPhysical32: readPhysical32, readPhysical64: readPhysical64)
    }

    /// For checks of a guest-state area alone (tests): the VMCS holds the same state.
    public init(guestState: GuestStateArea, context: GuestStateCheckContext, capabilities: VMXCapabilities = VMXCapabilities()) {
        vmcs = VMCS()
        guestState.store(into: vmcs)
        self.guestState = guestState
        self.context = context
        self.context.capabilities = capabilities
    }
}

extension VMEntryCheckInput {
    /// SDM Vol. 3C §27.2 — the first failing control or host-state check (VMfailValid 7/8).
    public var firstControlOrHostFailure: VMEntryCheckFailure? {
        VMEntryCheck.firstFailure(of: VMEntryChecks.controlAndHostRows, self)
    }
    /// SDM Vol. 3C §27.3.1 — the first failing guest-state check (exit reason 33).
    public var firstGuestStateFailure: VMEntryCheckFailure? { GuestStateChecks.firstViolation(self) }
}

/// The first VM-entry check that failed: which rule, on which field, with which value.
public struct VMEntryCheckFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public let id: String
    public let section: String
    public let requirement: String
    public let field: VMCSField
    public let value: UInt64
    public let consequence: VMEntryCheck.Consequence

    public init(_ check: VMEntryCheck, value: UInt64) {
        id = check.id
        section = check.section
        requirement = check.requirement
        field = check.field
        self.value = value
        consequence = check.consequence
    }

    /// The exit qualification of a guest-state failure, nil for a VMfail.
    public var qualification: UInt64? {
        if case .invalidGuestState(let q) = consequence { return q }
        return nil
    }

    /// "VMfailValid 7" or "VM-entry failure 33 (qualification 0)".
    public var outcome: String {
        switch consequence {
        case .vmFail(let e): return "VMfailValid \(e.rawValue) (\(e))"
        case .invalidGuestState(let q): return "VM-entry failure, exit reason 33, qualification \(q)"
        }
    }

    public var description: String {
        "\(outcome) — check '\(id)': \(field) = 0x\(String(value, radix: 16)); \(requirement) (SDM Vol. 3C §\(section))"
    }
}

extension VMEntryCheck {
    /// Runs `rows` in order and returns the first that fails for `input`.
    static func firstFailure(of rows: [VMEntryCheck], _ input: VMEntryCheckInput) -> VMEntryCheckFailure? {
        var input = input
        return rows.withUnsafeBufferPointer { rows in
            for k in rows.indices where !rows[k].holds(&input) {
                return VMEntryCheckFailure(rows[k], value: input.vmcs[rows[k].field])
            }
            return nil
        }
    }
}
