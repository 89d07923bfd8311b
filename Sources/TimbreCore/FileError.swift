/// A file or folder that could not be used: which one, and why, in one line.
///
/// Every layer that touches files (audio decoding, HDF5, data-set layouts) reports through
/// this type, so the command line prints every failure the same way: `PATH: reason`.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
