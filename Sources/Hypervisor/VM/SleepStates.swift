import CPU
import Platform

/// ACPI sleep states for the whole machine: the PM block's SLP_EN with the `\_S3` sleep type
/// stops every processor with memory kept, and a wake event (the RTC alarm with RTC_EN)
/// resumes the machine at the OS waking vector in the FACS, as firmware would; with the
/// `\_S5` sleep type the machine powers off and `run` ends.
extension VirtualMachine {
    /// ACPI 6.4 §16.1.5 (S5, soft off: no context kept, no wake here) and §4.8.3.2.1
    /// (SLP_EN): the writing processor stops at once; `run` returns `.poweredOff`.
    func enterS5() {
        stopRunningProcessors()
    }

    /// ACPI 6.4 §16.1.3 (S3: processor context lost, memory kept), §4.8.3.2.1 (SLP_EN):
    /// no vCPU runs until a wake event; virtual time skips to the next timer.
    func enterS3() {
        sleptAt = clock.nanoseconds
        stopRunningProcessors()
    }

    /// The vCPU executing the sleep write stops after it; `run` checks the state before
    /// starting any other.
    private func stopRunningProcessors() {
        for v in vcpus where v.isRunning { v.processor.requestStop() }
    }

    /// What a front end says when `run` ends in a deadlock while the machine sleeps.
    public static let sleepingWithoutWakeEvent =
        "the guest is in ACPI S3 (suspend to RAM) and no wake event is armed (RTC alarm with AIE, PM1_EN.RTC_EN)"

    /// Whether a wake event can still end S3: the RTC alarm is the only wake source, so it
    /// needs PM1_EN.RTC_EN and the RTC's alarm interrupt (AIE), and an alarm of valid values
    /// matches within a day. Otherwise the machine would sleep forever while periodic
    /// timers keep virtual time moving, and `run` reports a deadlock instead.
    var canWakeFromS3: Bool {
        guard let board, board.acpiPM.rtcWakeEnabled, board.rtc.alarmInterruptEnabled else { return false }
        return clock.nanoseconds &- sleptAt <= 86_401 * 1_000_000_000
    }

    /// ACPI 6.4 §16.3 (waking from S3) and §5.2.10 (FACS waking vectors): the processors leave
    /// reset and the bootstrap processor enters the OS waking vector. X_Firmware_Waking_Vector,
    /// when nonzero, is entered in 32-bit protected mode with flat segments and paging off (the
    /// FACS does not offer 64-bit wake, so OSPM cannot ask for it); otherwise
    /// Firmware_Waking_Vector in real mode at CS = vector >> 4, IP = vector & 0xF. With no
    /// usable vector the machine resets as after a triple fault.
    func resumeFromS3() {
        let facs = ACPITables.facsAddress()
        let x = (try? memory.load(UInt64.self, at: facs + ACPITables.FACS.xFirmwareWakingVector)) ?? 0
        let real = UInt64((try? memory.load(UInt32.self, at: facs + ACPITables.FACS.firmwareWakingVector)) ?? 0)
        resetProcessors()
        let bsp = vcpus[0].processor
        if x != 0 && x <= 0xFFFF_FFFF {
            bsp.setControlRegisters(cr0: CR0.resetValue | CR0.pe, cr3: 0, cr4: 0, efer: 0)
            let code = SegmentRegister(selector: 0x08, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC09B)
            let data = SegmentRegister(selector: 0x10, base: 0, limit: 0xFFFF_FFFF, accessRights: 0xC093)
            for s in [SegmentRegisterIndex.ds, .es, .fs, .gs, .ss] { bsp.setSegment(s, data) }
            bsp.setSegment(.cs, code)
            bsp.rip = x
        } else if real != 0 && real <= 0xF_FFFF {
            let selector = UInt16(real >> 4)
            bsp.setSegment(.cs, SegmentRegister(selector: selector, base: UInt64(selector) << 4,
                                                limit: 0xFFFF, accessRights: 0x9B))
            bsp.rip = real & 0xF
        } else {
            resets += 1
            return
        }
        s3Resumes += 1
    }
}
