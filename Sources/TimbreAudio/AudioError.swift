import Foundation

/// Why an audio file could not be read or written, always naming the file.
public struct AudioError: Error, CustomStringConvertible, Equatable {
    /// The file the operation was about.
    public let path: String
    /// A one-line reason, as the underlying library or Timbre states it.
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
