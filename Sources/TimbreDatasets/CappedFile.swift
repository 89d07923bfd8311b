import Foundation
import TimbreCore

/// A small file a data set names (metadata, labels), read only when its size is within a
/// limit, so that a huge or endless file costs one `stat`.
enum CappedFile {
    enum Outcome {
        case missing
        case tooLarge
        case contents(Data)
    }

    static func read(_ url: URL, limit: Int) -> Outcome {
        guard let stamp = FileStamp.of(path: url.path) else { return .missing }
        guard stamp.size <= Int64(limit) else { return .tooLarge }
        return FileManager.default.contents(atPath: url.path).map(Outcome.contents) ?? .missing
    }
}
