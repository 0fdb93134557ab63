/// An interrupt controller wired to the processor's INTR pin (the 8259A pair): the vCPU loop
/// asks it for a vector when the interrupt window is open and the local APIC passes ExtINT
/// (virtual-wire mode, SDM Vol. 3A §12.5.1).
public protocol ExternalInterruptSource: AnyObject {
    /// INTR is asserted.
    var interruptRequested: Bool { get }
    /// The interrupt-acknowledge cycle: the vector to deliver (nil if the request went away).
    func acknowledgeInterrupt() -> UInt8?
}
