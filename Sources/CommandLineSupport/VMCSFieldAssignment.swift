import CPU
import Foundation

/// `FIELD=VALUE` for `run --vmcs01-write`: the field by its encoding (`0x4000`, SDM Vol. 3D
/// Appendix B) or by its SDM name as `VMCSFieldTable` spells it (case ignored), the value in
/// hexadecimal (`0x…`) or decimal. Only fields this processor implements are accepted.
public struct VMCSFieldAssignment: Equatable, Sendable {
    public let field: VMCSField
    public let value: UInt64

    public static func parse(_ text: String) throws -> VMCSFieldAssignment {
        guard let eq = text.lastIndex(of: "=") else {
            throw CommandLineError.usage("--vmcs01-write '\(text)': expected FIELD=VALUE (e.g. 0x4000=0x16)")
        }
        let name = text[..<eq].trimmingCharacters(in: .whitespaces), valueText = String(text[text.index(after: eq)...])
        guard let entry = entry(named: name) else {
            throw CommandLineError.usage("--vmcs01-write: '\(name)' is not a VMCS field (an encoding such as 0x4000, or a name such as 'guest CR0')")
        }
        guard entry.supported else {
            throw CommandLineError.usage("--vmcs01-write: \(entry.field) belongs to a feature this processor does not implement")
        }
        guard let value = number(valueText) else {
            throw CommandLineError.usage("--vmcs01-write: '\(valueText)' is not a number (decimal, or hexadecimal with 0x)")
        }
        return VMCSFieldAssignment(field: entry.field, value: value)
    }

    static func entry(named name: String) -> VMCSFieldTable.Entry? {
        if let n = number(name), n <= UInt32.max {
            return VMCSFieldTable.entries.first { $0.field.encoding == UInt32(n) }
        }
        return VMCSFieldTable.entries.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    static func number(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        return t.hasPrefix("0x") ? UInt64(t.dropFirst(2), radix: 16) : UInt64(t)
    }
}
