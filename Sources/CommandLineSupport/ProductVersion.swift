/// Version strings both front ends print for `--version`.
public enum ProductVersion {
    /// Matryoshka's own version (the command line's exit-status contract is part of it).
    public static let matryoshka = "0.1.0"
    /// The qemu-system-x86_64 whose command line `matryoshka-qemu` follows; kvm-unit-tests
    /// reads it from the first line of `-h`.
    public static let qemu = "7.2.0"
}
