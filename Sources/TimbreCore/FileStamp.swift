import Foundation

/// A file's size and modification time, as `stat` reports them: what tells a resume
/// record that the file it was computed from has not changed since.
public struct FileStamp: Sendable, Equatable, Hashable {
    public let size: Int64
    /// Modification time in nanoseconds since 1970.
    public let modifiedNanoseconds: Int64

    public init(size: Int64, modifiedNanoseconds: Int64) {
        self.size = size
        self.modifiedNanoseconds = modifiedNanoseconds
    }

    public init(_ status: stat) {
        size = Int64(status.st_size)
        modifiedNanoseconds = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
    }

    /// The stamp of the file at `path` (symbolic links followed); nil when it cannot be read.
    public static func of(path: String) -> FileStamp? {
        var status = stat()
        guard FileSystemName.withPath(path, { stat($0, &status) }) == 0 else { return nil }
        return FileStamp(status)
    }
}
