/// Mode bookkeeping: which operating mode the processor is in and the values derived from
/// it that the hot path reads (SDM Vol. 3A §2.2 "Modes of operation", §9.8 "IA-32e mode").
extension Processor {
    /// Recomputes the mode, CPL, default sizes, segment fast-path limits and TLB access masks.
    /// Call after any change to CR0.PE, EFER.LMA, RFLAGS.VM, CS or SS.
    func updateMode() {
        modeEpoch &+= 1
        let cs = segments[SegmentRegisterIndex.cs.rawValue]
        let ss = segments[SegmentRegisterIndex.ss.rawValue]
        if cr0 & CR0.pe == 0 {
            mode = .real
            cpl = 0
        } else if flagsOther & RFLAGS.vm != 0 && efer & EFER.lma == 0 {
            mode = .virtual8086
            cpl = 3
        } else if efer & EFER.lma != 0 {
            mode = cs.longMode ? .long64 : .compatibility
            cpl = ss.dpl
        } else {
            mode = .protected
            cpl = ss.dpl
        }
        is64 = mode == .long64
        codeSize = is64 ? 8 : (cs.defaultBig ? 4 : 2)
        stackSize = is64 ? 8 : (ss.defaultBig ? 4 : 2)
        ripMask = codeSize == 8 ? ~0 : (codeSize == 4 ? 0xFFFF_FFFF : 0xFFFF)
        // The cached limits serve only outside 64-bit mode, and leaving 64-bit mode comes
        // through here, which then refreshes them all.
        if !is64 { for i in 0..<6 { refreshSegmentCheck(i) } }
        updateAccessMasks()
        pending |= PendingBit.modeChanged
    }

    /// Recomputes the fast-path limits of segment `i` (see `SegmentCheck`).
    func refreshSegmentCheck(_ i: Int) {
        let s = segments[i]
        let end = UInt64(s.limit) + 1
        if mode == .real || mode == .virtual8086 {
            segmentChecks[i] = SegmentCheck(readEnd: end, writeEnd: end)
            return
        }
        if s.unusable || !s.present || s.isExpandDown || s.isSystem {
            segmentChecks[i] = SegmentCheck()
            return
        }
        let readable = !s.isCode || s.type & 2 != 0
        let writable = !s.isCode && s.type & 2 != 0
        segmentChecks[i] = SegmentCheck(readEnd: readable ? end : 0, writeEnd: writable ? end : 0)
    }

    /// Loads a segment register's visible and hidden parts, keeping derived state current.
    public func setSegment(_ index: SegmentRegisterIndex, _ s: SegmentRegister) {
        segments[index.rawValue] = s
        systemStateEpoch &+= 1
        if index == .cs || index == .ss { updateMode() } else { refreshSegmentCheck(index.rawValue) }
    }

    public func segment(_ index: SegmentRegisterIndex) -> SegmentRegister {
        segments[index.rawValue]
    }

    /// The current operating mode.
    public var executionMode: ExecutionMode { mode }
}

extension Processor {
    /// Loads CR0, CR3, CR4 and EFER directly, without the checks MOV to CR performs (VM entry,
    /// reset and boot-state setup). Flushes the TLB and recomputes the mode.
    public func setControlRegisters(cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64) {
        self.cr0 = cr0
        self.cr3 = cr3
        self.cr4 = cr4
        self.efer = efer
        updateMode()
        flushTLB()
    }
}
