import Foundation

/// The bundled guest hypervisor (L1): a Multiboot kernel written in Embedded Swift and assembly
/// (Guests/Hypervisor, docs/GUEST_HYPERVISOR.md) that uses VMX to run two L2 guests and prints
/// their output and its exit counts. The GuestHypervisorBuilder plugin compiles it from source
/// during the package build and embeds the linked image here.
public enum HypervisorGuest {
    /// The image as a file: an ELF64 executable whose Multiboot header has the address fields
    /// (the "a.out kludge"), so Multiboot loaders that only take ELF32 load it too.
    public static func image() -> [UInt8] {
        guard let data = Data(base64Encoded: encodedImage) else {
            preconditionFailure("the embedded guest hypervisor image is not valid base64 (GuestHypervisorBuildTool)")
        }
        return [UInt8](data)
    }
}
