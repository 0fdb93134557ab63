/// An error a front end reports as one line on stderr and an exit status.
public struct CommandLineError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Bad flags or values, output files (the user's invocation).
        case usage
        /// Input files: missing, unreadable or malformed images.
        case image
    }
    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    public static func usage(_ d: String) -> Self { Self(.usage, d) }
    public static func image(_ d: String) -> Self { Self(.image, d) }

    /// `matryoshka run`'s status for it.
    public var runStatus: Int32 {
        kind == .usage ? RunExitStatus.usageError.rawValue : RunExitStatus.imageError.rawValue
    }
}
