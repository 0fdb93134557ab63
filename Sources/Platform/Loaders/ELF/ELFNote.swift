/// One entry of an ELF note segment (System V ABI "Note Section"): a 4-byte name size,
/// descriptor size and type, then the name and the descriptor, each padded to 4 bytes (the
/// layout x86 toolchains use for ELF32 and ELF64 alike).
public struct ELFNote: Equatable, Sendable {
    /// The owner's name without its terminating NUL (e.g. "Xen", "GNU").
    public var name: String
    public var type: UInt32
    public var descriptor: [UInt8]

    /// The notes of `image`'s PT_NOTE segments in `file`, in file order. A note whose sizes
    /// run past its segment is an error naming where; trailing bytes too few for a note
    /// header are ignored.
    public static func notes(of image: ELFImage, in file: [UInt8]) throws -> [ELFNote] {
        var notes: [ELFNote] = []
        for segment in image.noteSegments {
            var o = segment.lowerBound
            while o + 12 <= segment.upperBound {
                let nameSize = ELFImage.u32(file, Int(o)), descSize = ELFImage.u32(file, Int(o) + 4)
                let type = UInt32(ELFImage.u32(file, Int(o) + 8))
                let nameStart = o + 12
                let descStart = nameStart + ((nameSize + 3) & ~3)
                let next = descStart + ((descSize + 3) & ~3)
                // The last note's padding may be cut off by the segment's end; its bytes may not.
                guard descStart + descSize <= segment.upperBound else {
                    throw LoaderError.noteOutsideSegment(offset: o, nameSize: nameSize, descriptorSize: descSize, segmentEnd: segment.upperBound)
                }
                var name = file[Int(nameStart)..<Int(nameStart + nameSize)]
                if name.last == 0 { name = name.dropLast() }
                notes.append(ELFNote(name: String(decoding: name, as: UTF8.self), type: type,
                                     descriptor: Array(file[Int(descStart)..<Int(descStart + descSize)])))
                o = next
            }
        }
        return notes
    }
}
