// The VMX instructions (Assembly/VMXInstructions.S). Each returns how it completed; the checked
// wrappers below stop the machine with the instruction, the failure kind and, for VMfailValid,
// the VM-instruction error — an L1 that carried on after a VMfail would run on a VMCS it did
// not set up.

@_extern(c, "vmx_on") func vmxOn(_ region: UInt64) -> Int32
@_extern(c, "vmx_off") func vmxOff() -> Int32
@_extern(c, "vmx_clear") func vmxClear(_ region: UInt64) -> Int32
@_extern(c, "vmx_pointer_load") func vmxPointerLoad(_ region: UInt64) -> Int32
@_extern(c, "vmx_write") func vmxWrite(_ field: UInt64, _ value: UInt64) -> Int32
@_extern(c, "vmx_read") func vmxRead(_ field: UInt64, _ value: UnsafeMutablePointer<UInt64>) -> Int32
@_extern(c, "vmx_invept") func vmxINVEPT(_ type: UInt64, _ descriptor: UnsafePointer<UInt64>) -> Int32
@_extern(c, "vmx_invvpid") func vmxINVVPID(_ type: UInt64, _ descriptor: UnsafePointer<UInt64>) -> Int32
@_extern(c, "vmx_run") func vmxRun(_ saveArea: UnsafeMutablePointer<UInt64>, _ launched: Int32) -> Int32

/// SDM Vol. 3C §31.2 — VMsucceed (0), VMfailInvalid (1: no current VMCS, CF = 1), VMfailValid
/// (2: ZF = 1, error number in the current VMCS).
enum VMX {
    static func check(_ status: Int32, _ instruction: StaticString, field: VMCSField? = nil) {
        guard status != 0 else { return }
        var error: UInt64 = 0
        if status == 2 { _ = vmxRead(UInt64(VMCSField.vmInstructionError.rawValue), &error) }
        Console.line {
            Console.put("L1: ")
            Console.put(instruction)
            if let field {
                Console.put(" of field ")
                Console.hex(UInt64(field.rawValue))
            }
            if status == 1 {
                Console.put(" failed: VMfailInvalid (no current VMCS)\n")
            } else if status == 2 {
                Console.put(" failed: VMfailValid, VM-instruction error ")
                Console.decimal(error)
                Console.put(" (")
                Console.put(VMInstructionError.description(error))
                Console.put(")\n")
            } else {
                Console.put(" failed: the HOST_RSP VMWRITE before it failed\n")
            }
        }
        PowerOff.failure()
    }

    static func write(_ field: VMCSField, _ value: UInt64) {
        check(vmxWrite(UInt64(field.rawValue), value), "VMWRITE", field: field)
    }

    static func read(_ field: VMCSField) -> UInt64 {
        var v: UInt64 = 0
        check(vmxRead(UInt64(field.rawValue), &v), "VMREAD", field: field)
        return v
    }

    static func on(_ region: UInt64) { check(vmxOn(region), "VMXON") }
    static func off() { check(vmxOff(), "VMXOFF") }
    static func clear(_ region: UInt64) { check(vmxClear(region), "VMCLEAR") }
    static func pointerLoad(_ region: UInt64) { check(vmxPointerLoad(region), "VMPTRLD") }

    /// INVEPT single-context (type 1) for `eptp` (SDM Vol. 3C §31.3, "INVEPT").
    static func invalidateEPT(_ eptp: UInt64) {
        var descriptor: (UInt64, UInt64) = (eptp, 0)
        let status = withUnsafePointer(to: &descriptor) { $0.withMemoryRebound(to: UInt64.self, capacity: 2) { vmxINVEPT(1, $0) } }
        check(status, "INVEPT")
    }

    /// INVVPID single-context (type 1) for `vpid` (SDM Vol. 3C §31.3, "INVVPID").
    static func invalidateVPID(_ vpid: UInt16) {
        var descriptor: (UInt64, UInt64) = (UInt64(vpid), 0)
        let status = withUnsafePointer(to: &descriptor) { $0.withMemoryRebound(to: UInt64.self, capacity: 2) { vmxINVVPID(1, $0) } }
        check(status, "INVVPID")
    }
}
