/// Why an image cannot be loaded: one precise sentence for the user (exit status 2).
public enum LoaderError: Error, CustomStringConvertible, Equatable {
    case notELF
    case truncated(what: String, size: Int)
    case unsupportedELF(String)
    case noMultibootHeader
    case badMultibootChecksum
    case unsupportedMultibootFlags(UInt32)
    case doesNotFit(what: String, address: UInt64, size: UInt64, ramSize: UInt64)
    case unknownFormat
    case noteOutsideSegment(offset: UInt64, nameSize: UInt64, descriptorSize: UInt64, segmentEnd: UInt64)
    case badPVHEntryNote(descriptorSize: Int)
    case pvhEntryOutsideImage(UInt64)

    public var description: String {
        switch self {
        case .notELF: return "not an ELF file (no \\x7FELF magic)"
        case .truncated(let what, let size): return "image is truncated: \(what) extends past the end of the \(size)-byte file"
        case .unsupportedELF(let why): return "unsupported ELF image: \(why)"
        case .noMultibootHeader: return "no Multiboot header (magic 0x1BADB002) in the first 8192 bytes"
        case .badMultibootChecksum: return "Multiboot header checksum is wrong (magic + flags + checksum ≠ 0)"
        case .unsupportedMultibootFlags(let f):
            return "Multiboot header requests unsupported features (flags 0x\(String(f, radix: 16)): video mode or unknown bits)"
        case .doesNotFit(let what, let a, let s, let r):
            return "\(what) at 0x\(String(a, radix: 16)) (0x\(String(s, radix: 16)) bytes) does not fit in guest RAM (0x\(String(r, radix: 16)) bytes)"
        case .unknownFormat: return "unrecognised kernel image format (expected Multiboot ELF/a.out, an ELF with a PVH entry note, or a Linux bzImage)"
        case .noteOutsideSegment(let o, let n, let d, let end):
            return "ELF note at file offset 0x\(String(o, radix: 16)) (name \(n) bytes, descriptor \(d) bytes) extends past the end of its note segment at 0x\(String(end, radix: 16))"
        case .badPVHEntryNote(let n):
            return "XEN_ELFNOTE_PHYS32_ENTRY note has a \(n)-byte descriptor (4 or 8 bytes holding a 32-bit address expected)"
        case .pvhEntryOutsideImage(let a):
            return "PVH entry point 0x\(String(a, radix: 16)) is not inside a loaded segment of the image"
        }
    }
}
