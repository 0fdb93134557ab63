// swift-tools-version: 6.1
import PackageDescription

// The CPU module is the emulated processor. Its state lives in a final class touched on
// every guest instruction; dynamic exclusivity checks on those accesses would dominate the
// interpreter's cost, so they are off for this module (accesses are single-threaded). The
// same holds for the per-exit path: L0's run loop and exit handlers (Hypervisor) and the
// devices they reach (Platform) and the trace they record every exit and slice in (Tracing)
// run on the vCPU thread for every VM exit.
let hotPath: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"]),
]

let package = Package(
    name: "Matryoshka",
    products: [
        .library(name: "CPU", targets: ["CPU"]),
        .library(name: "Platform", targets: ["Platform"]),
        .library(name: "Hypervisor", targets: ["Hypervisor"]),
        .library(name: "NestedVMX", targets: ["NestedVMX"]),
        .library(name: "Tracing", targets: ["Tracing"]),
        .library(name: "X86Assembler", targets: ["X86Assembler"]),
        .executable(name: "matryoshka", targets: ["matryoshka"]),
        .executable(name: "matryoshka-qemu", targets: ["matryoshka-qemu"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CPU", swiftSettings: hotPath),
        .target(name: "Platform", dependencies: ["CPU"], swiftSettings: hotPath),
        .target(name: "Tracing", dependencies: ["CPU"], swiftSettings: hotPath),
        .target(name: "NestedVMX", dependencies: ["CPU"], swiftSettings: hotPath),
        .target(name: "Hypervisor", dependencies: ["CPU", "Platform", "Tracing", "NestedVMX"], swiftSettings: hotPath),
        .target(name: "X86Assembler"),
        // The bundled guest hypervisor (Guests/Hypervisor, Embedded Swift + assembly), built from
        // source by the plugin with the toolchain's swiftc, clang and ld.lld and embedded here.
        .target(name: "GuestImages", plugins: ["GuestHypervisorBuilder"]),
        .plugin(name: "GuestHypervisorBuilder", capability: .buildTool(), dependencies: ["GuestHypervisorBuildTool"]),
        .executableTarget(name: "GuestHypervisorBuildTool"),
        .executableTarget(name: "matryoshka", dependencies: [
            "Hypervisor", "Platform", "CPU", "Tracing", "X86Assembler", "QEMUFrontend", "CommandLineSupport", "GuestImages",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "CommandLineSupport", dependencies: ["Hypervisor", "CPU"]),
        .target(name: "QEMUFrontend", dependencies: ["CPU", "CommandLineSupport"]),
        .executableTarget(name: "matryoshka-qemu", dependencies: ["QEMUFrontend", "CommandLineSupport", "Hypervisor", "Platform", "CPU"]),
        // Shared by the test targets: test buses, bare and VMX test machines.
        .target(name: "TestSupport", dependencies: ["CPU", "X86Assembler"], path: "Tests/TestSupport"),
        .testTarget(name: "CPUTests", dependencies: ["CPU", "X86Assembler", "TestSupport"]),
        .testTarget(name: "VMXTests", dependencies: ["CPU", "X86Assembler", "TestSupport"]),
        .testTarget(name: "PlatformTests", dependencies: ["Platform", "CPU", "X86Assembler", "TestSupport"]),
        .testTarget(name: "TracingTests", dependencies: ["Tracing", "CPU"]),
        .testTarget(name: "QEMUFrontendTests", dependencies: ["QEMUFrontend", "CPU"]),
        // Runs the built executables (`matryoshka`, `matryoshka-qemu`) on bad input and small guests.
        .testTarget(name: "CommandLineTests", dependencies: ["CommandLineSupport", "Hypervisor", "X86Assembler"]),
        .testTarget(name: "HypervisorTests", dependencies: ["Hypervisor", "Platform", "CPU", "X86Assembler", "TestSupport"]),
        // Assembler-DSL guest hypervisors (L1) exercising nested VMX end to end.
        .testTarget(name: "NestedVMXTests", dependencies: ["Hypervisor", "NestedVMX", "Platform", "CPU", "X86Assembler", "TestSupport"]),
        .testTarget(name: "GuestImagesTests", dependencies: ["GuestImages", "Hypervisor", "Platform", "CPU"]),
    ]
)
