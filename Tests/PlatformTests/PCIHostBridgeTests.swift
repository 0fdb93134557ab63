import XCTest
@testable import Platform

/// PCI configuration mechanism #1 through ports 0xCF8/0xCFC.
final class PCIHostBridgeTests: XCTestCase {
    func testHostBridgeIdentityAbsentDevicesAndWriteMasks() {
        let pci = PCIHostBridge()
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0000)
        XCTAssertEqual(pci.ioRead(port: 0xCF8, size: 4), 0x8000_0000)
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 4), 0x1237_8086)
        XCTAssertEqual(pci.ioRead(port: 0xCFE, size: 2), 0x1237)
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0008)
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 4) >> 8, 0x06_0000, "class code: host bridge")
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0800)       // device 1: absent
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 4), 0xFFFF_FFFF)
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x0000_0000)       // enable bit clear
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 2), 0xFFFF)
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0000)
        pci.ioWrite(port: 0xCFC, size: 4, value: 0)                  // vendor/device are read-only
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 4), 0x1237_8086)
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0004)
        pci.ioWrite(port: 0xCFC, size: 2, value: 0xFFFF)             // command: bits 10:0 writable
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 2), 0x07FF)
        pci.ioWrite(port: 0xCF8, size: 1, value: 0x12)               // byte access isn't CONFIG_ADDRESS
        XCTAssertEqual(pci.ioRead(port: 0xCF8, size: 4), 0x8000_0004)
    }

    func testQ35IdentityAndRegisterSelectionByTheLowAddressBits() {
        let pci = PCIHostBridge(chipset: .q35)
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0000)
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 4), 0x29C0_8086)
        // kvm-unit-tests' pci_config_readw(dev, 2): CONFIG_ADDRESS ...02, a 16-bit read of 0xCFC.
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x8000_0002)
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 2), 0x29C0)
        pci.ioWrite(port: 0xCF8, size: 4, value: 0x8000_000B)
        XCTAssertEqual(pci.ioRead(port: 0xCFC, size: 1), 0x06, "class code byte at 0BH")
        XCTAssertNotNil(pci.function(bus: 0, device: 0, function: 0))
        XCTAssertNil(pci.function(bus: 0, device: 1, function: 0))
    }
}
