import CPU
import Foundation
import XCTest

/// docs/VMCS12.md documents the region format L0 reads and writes (`VMCS12.load`/`store`):
/// this keeps its field table true to `VMCSFieldTable.entries`, slot by slot.
final class VMCS12DocumentTests: XCTestCase {
    func testDocumentListsEveryFieldAtItsOffset() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/VMCS12.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains(" | 0x") }
        XCTAssertEqual(rows.count, VMCSFieldTable.entries.count, "one row per field")
        for (k, e) in VMCSFieldTable.entries.enumerated() {
            let encoding = String(e.field.encoding, radix: 16, uppercase: true)
            let expected = "| \(16 + 8 * k) | 0x\(String(repeating: "0", count: 4 - encoding.count))\(encoding) | \(e.name) |"
            XCTAssertTrue(k < rows.count && rows[k].hasPrefix(expected), "row \(k): expected \(expected)")
        }
        XCTAssertTrue(text.contains(String(VMXCapabilities.revisionIdentifier, radix: 16, uppercase: true) + "H"),
                      "the revision identifier IA32_VMX_BASIC reports")
    }
}
