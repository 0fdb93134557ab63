/// Every VM-entry check in the order VM entry performs them (SDM Vol. 3C §27.2 controls and
/// host state, then §27.3.1 guest state), laid out flat for evaluation: the predicates as plain
/// function pointers (running a row copies and retains nothing) and, per VMCS field, the rows
/// that read it.
final class VMEntryCheckTable: @unchecked Sendable {
    static let shared = VMEntryCheckTable(VMEntryChecks.controlAndHostRows + GuestStateChecks.all,
                                          controlAndHostCount: VMEntryChecks.controlAndHostRows.count)

    let rows: [VMEntryCheck]
    let count: Int
    /// Rows 0..<controlAndHostCount are §27.2's (VMfailValid), the rest §27.3.1's (exit 33).
    let controlAndHostCount: Int
    let fieldsChecks: UnsafeMutablePointer<VMEntryCheck.FieldsPredicate>
    let guestChecks: UnsafeMutablePointer<VMEntryCheck.GuestPredicate>
    let onGuestState: UnsafeMutablePointer<Bool>
    /// Per field table index: the rows that read the field.
    let rowsReading: UnsafeMutablePointer<RowSet>
    /// Every row.
    let allRows: RowSet
    /// Fields the guest-state check context is made of (controls and the injected event).
    let contextFields: DirtyFields
    /// Every field but the exit-information fields (read by no row, not in the guest-state
    /// area).
    let fieldsRead: DirtyFields
    /// `fieldsRead` without RIP and RFLAGS (`VMEntryCheckCache.unchangedSinceLastEntry`).
    let fieldsReadButRIPAndRFLAGS: DirtyFields
    /// RIP's and RFLAGS' indices, from the processor's field layout.
    let layout = VMCSLayout.shared

    init(_ rows: [VMEntryCheck], controlAndHostCount: Int) {
        precondition(rows.count <= RowSet.capacity, "more entry-check rows than a RowSet holds")
        self.rows = rows
        count = rows.count
        self.controlAndHostCount = controlAndHostCount
        fieldsChecks = .allocate(capacity: rows.count)
        guestChecks = .allocate(capacity: rows.count)
        onGuestState = .allocate(capacity: rows.count)
        let fieldCount = VMCSFieldTable.entries.count
        let reading = UnsafeMutablePointer<RowSet>.allocate(capacity: fieldCount)
        reading.initialize(repeating: RowSet(), count: fieldCount)
        rowsReading = reading
        var all = RowSet()
        for (r, row) in rows.enumerated() {
            (fieldsChecks + r).initialize(to: row.fieldsCheck)
            (guestChecks + r).initialize(to: row.guestCheck)
            (onGuestState + r).initialize(to: row.onGuestState)
            row.reads.forEach { reading[$0].insert(r) }
            all.insert(r)
        }
        allRows = all
        contextFields = DirtyFields(GuestStateChecks.contextFields + [.entryInterruptionInformation])
        var read = DirtyFields()
        for (k, e) in VMCSFieldTable.entries.enumerated() where e.field.type != .exitInformation { read.insert(k) }
        fieldsRead = read
        var rest = read
        rest.remove(VMCSLayout.shared.rip); rest.remove(VMCSLayout.shared.rflags)
        fieldsReadButRIPAndRFLAGS = rest
    }

    /// Whether row `r` holds.
    @inline(__always)
    func holds(_ r: Int, _ v: VMCS, _ guest: inout GuestStateArea, _ context: inout GuestStateCheckContext) -> Bool {
        onGuestState[r] ? guestChecks[r](&guest, &context) : fieldsChecks[r](v, &context)
    }

    /// The failure record of row `r` for `v`.
    func failure(_ r: Int, _ v: VMCS) -> VMEntryCheckFailure {
        VMEntryCheckFailure(rows[r], value: v[rows[r].field])
    }

    /// The full check (no cache): rows in order, the first failing one.
    func firstFailingRow(_ input: inout VMEntryCheckInput, from: Int = 0) -> Int? {
        for r in from..<count where !holds(r, input.vmcs, &input.guestState, &input.context) { return r }
        return nil
    }
}

/// A set of entry-check rows by table position (two words: up to 128 rows).
struct RowSet: Equatable, Sendable {
    static let capacity = 128
    var w0: UInt64 = 0, w1: UInt64 = 0

    @inline(__always) mutating func insert(_ r: Int) {
        if r < 64 { w0 |= UInt64(1) << UInt64(r) } else { w1 |= UInt64(1) << UInt64(r - 64) }
    }
    @inline(__always) mutating func remove(_ r: Int) {
        if r < 64 { w0 &= ~(UInt64(1) << UInt64(r)) } else { w1 &= ~(UInt64(1) << UInt64(r - 64)) }
    }
    @inline(__always) mutating func formUnion(_ o: RowSet) { w0 |= o.w0; w1 |= o.w1 }
    @inline(__always) var isEmpty: Bool { w0 | w1 == 0 }
    /// The lowest row in the set at or above `from`.
    @inline(__always) func first(from: Int = 0) -> Int? {
        if from < 64 {
            let a = w0 & (~0 << UInt64(from))
            if a != 0 { return a.trailingZeroBitCount }
        }
        let b = from <= 64 ? w1 : w1 & (~0 << UInt64(from - 64))
        return b != 0 ? 64 + b.trailingZeroBitCount : nil
    }
    @inline(__always) func forEach(_ body: (Int) -> Void) {
        var a = w0
        while a != 0 { body(a.trailingZeroBitCount); a &= a &- 1 }
        var b = w1
        while b != 0 { body(64 + b.trailingZeroBitCount); b &= b &- 1 }
    }
}

/// The VM-entry checks' results for one VMCS, kept between entries (SDM Vol. 3C §27.2,
/// §27.3.1 are functions of the VMCS, the capabilities and — for three rows — memory). At an
/// entry only the rows that read a field whose value changed since the last entry run again
/// (`VMCS.dirty`, consumer `.entryChecks`), plus the rows that read memory last time (VTPR on
/// the virtual-APIC page, the revision at the VMCS link pointer, PDPTEs at CR3 under PAE
/// paging without EPT); everything runs when the capabilities differ. Every row's last result
/// is kept, so the first failing row is the one the full check, which stops there, reports.
public final class VMEntryCheckCache {
    /// Whether VM entries use the cache (false: every row at every entry, as the full check).
    nonisolated(unsafe) public static var enabled = true
    /// Tests: every cached answer is compared with the full check's (a difference traps).
    nonisolated(unsafe) public static var verify = false

    var capabilities: VMXCapabilities
    /// Who vouches that `capabilities` did not change (`CapabilitiesKey`).
    var key: CapabilitiesKey
    var failing = RowSet()
    /// Rows that read memory at their last run.
    var volatileRows = RowSet()
    /// The guest-state area and check context as of the last entry, updated field by field.
    var guestState: GuestStateArea
    var context: GuestStateCheckContext

    init(_ v: VMCS, _ caps: VMXCapabilities, _ key: CapabilitiesKey, _ readers: GuestStateCheckContext.Readers) {
        capabilities = caps
        self.key = key
        guestState = GuestStateArea(v)
        context = GuestStateCheckContext(vmcs: v, capabilities: caps, readPhysical32: readers.0, readPhysical64: readers.1)
    }

    /// RIP is the value last checked (an exit saves RIP and L0 advances it past the
    /// instruction, often back to that value): no row runs again for it.
    @inline(__always)
    func ripIsLastChecked(_ new: UInt64) -> Bool { new == guestState.rip }

    /// RFLAGS changed only in bits no row reads (the status flags): no row runs again for it.
    @inline(__always)
    func rflagsChangeIsUnread(_ new: UInt64) -> Bool { (new ^ guestState.rflags) & GuestStateChecks.rflagsReadBits == 0 }

    /// The first failing row for entering `v` under `caps`, or nil; `readers` reach the memory
    /// the three memory rows read.
    static func firstFailingRow(_ v: VMCS, _ capabilities: @autoclosure () -> VMXCapabilities, key: CapabilitiesKey,
                                readers readersNow: @autoclosure () -> GuestStateCheckContext.Readers, from: Int = 0) -> Int? {
        let table = VMEntryCheckTable.shared
        guard enabled else {
            let readers = readersNow()
            var input = VMEntryCheckInput(vmcs: v, capabilities: capabilities(), readPhysical32: readers.0, readPhysical64: readers.1)
            return table.firstFailingRow(&input, from: from)
        }
        var rerun: RowSet
        let cache: VMEntryCheckCache
        let dirty = v.takeDirty(.entryChecks)
        if let c = v.checkCache, c.key == key || c.capabilities == capabilities() {
            c.key = key
            cache = c
            rerun = c.volatileRows
            if !dirty.isEmpty {
                if dirty.intersects(table.contextFields) {
                    let readers = readersNow()
                    c.context = GuestStateCheckContext(vmcs: v, capabilities: c.capabilities, readPhysical32: readers.0,
                                                       readPhysical64: readers.1)
                }
                // Each changed field but the exit-information ones (which change at every exit
                // and which neither a row nor the guest-state area reads).
                let relevant = dirty.intersection(table.fieldsRead)
                for w in 0..<DirtyFields.words {
                    var bits = relevant.word(w)
                    while bits != 0 {
                        let k = w << 6 | bits.trailingZeroBitCount
                        bits &= bits &- 1
                        if k == table.layout.rflags {
                            let new = v[index: k], unread = c.rflagsChangeIsUnread(new)
                            c.guestState.rflags = new
                            if unread { continue }
                        } else if k == table.layout.rip {
                            let new = v[index: k]
                            if c.ripIsLastChecked(new) { continue }
                            c.guestState.rip = new
                        } else {
                            c.guestState.reload(VMCSFieldTable.entries[k].field, from: v)
                        }
                        rerun.formUnion(table.rowsReading[k])
                    }
                }
            }
        } else {
            cache = VMEntryCheckCache(v, capabilities(), key, readersNow())
            v.checkCache = cache
            rerun = table.allRows
        }
        if !rerun.isEmpty { cache.run(rerun, v, table) }
        let first = cache.failing.first(from: from)
        if verify {
            let readers = readersNow()
            var input = VMEntryCheckInput(vmcs: v, capabilities: capabilities(), readPhysical32: readers.0, readPhysical64: readers.1)
            let full = table.firstFailingRow(&input, from: from)
            precondition(full == first, "entry-check cache: cached \(first.map { table.rows[$0].id } ?? "pass") but the full check says \(full.map { table.rows[$0].id } ?? "pass")")
        }
        return first
    }

    /// The usual entry after an exit L0 resolved, decided without running anything: the cache
    /// is current under `key`, no row failed or read memory last time, and of the fields the
    /// rows read only RIP and RFLAGS changed — back to the RIP last checked, RFLAGS in bits no
    /// row reads. Every row's result is then the last one (all hold), as the full check would
    /// find; the changes are taken as `firstFailingRow` takes them. False: call it.
    @inline(__always)
    static func unchangedSinceLastEntry(_ v: VMCS, key: CapabilitiesKey, table: VMEntryCheckTable) -> Bool {
        guard enabled, let cache = v.checkCacheUnretained else { return false }
        // Borrowed, not retained: `v` holds the cache for the whole call.
        return cache._withUnsafeGuaranteedRef { c in
            guard c.key == key, c.failing.isEmpty, c.volatileRows.isEmpty else { return false }
            let d = v.dirty + DirtyFields.Consumer.entryChecks.rawValue * DirtyFields.words
            let rest = table.fieldsReadButRIPAndRFLAGS
            guard (d[0] & rest.w0) | (d[1] & rest.w1) | (d[2] & rest.w2) == 0 else { return false }
            // Nothing changes in the cache unless both hold: otherwise `firstFailingRow` takes them.
            let rflags = v[index: table.layout.rflags]
            guard c.ripIsLastChecked(v[index: table.layout.rip]), c.rflagsChangeIsUnread(rflags) else { return false }
            c.guestState.rflags = rflags
            d[0] = 0; d[1] = 0; d[2] = 0
            return true
        }
    }

    /// Which rows `firstFailure` consults: §27.2's (VMfailValid 7/8) or §27.3.1's (exit 33).
    public enum Rows: Sendable { case controlAndHost, guestState }

    /// The first failing check of `rows` for entering `v` under `capabilities` (named by
    /// `key`), from the VMCS's cached results; `readers` reach the memory the memory rows read.
    /// What the full check in SDM order reports (`VMEntryCheckInput.firstControlOrHostFailure`,
    /// `firstGuestStateFailure`).
    public static func firstFailure(_ v: VMCS, _ rows: Rows, capabilities: @autoclosure () -> VMXCapabilities,
                                    key: CapabilitiesKey,
                                    readers: @autoclosure () -> GuestStateCheckContext.Readers) -> VMEntryCheckFailure? {
        let table = VMEntryCheckTable.shared
        let from = rows == .controlAndHost ? 0 : table.controlAndHostCount
        guard let r = firstFailingRow(v, capabilities(), key: key, readers: readers(), from: from),
              rows == .guestState || r < table.controlAndHostCount else { return nil }
        return table.failure(r, v)
    }

    /// Runs `rows`, recording which fail and which read memory.
    private func run(_ rows: RowSet, _ v: VMCS, _ table: VMEntryCheckTable) {
        rows.forEach { r in
            context.readMemory = false
            if table.holds(r, v, &guestState, &context) { failing.remove(r) } else { failing.insert(r) }
            if context.readMemory { volatileRows.insert(r) } else { volatileRows.remove(r) }
        }
    }
}

/// Names a capabilities value that does not change under the same key: its owner (the
/// processor, or nested VMX's offer to L1) and the owner's generation of it. A cache checked
/// under another key compares the values themselves.
public struct CapabilitiesKey: Equatable, Sendable {
    public let owner: ObjectIdentifier
    public let generation: UInt64
    public init(owner: AnyObject, generation: UInt64 = 0) {
        self.owner = ObjectIdentifier(owner)
        self.generation = generation
    }
}
