import Foundation
import TimbreCore

/// A small file a data set names (metadata, labels), read only when it is a regular file
/// within a size limit, so that a huge or endless file costs one `fstat` and a named pipe
/// or a device is never waited on.
enum CappedFile {
    enum Outcome {
        case missing
        case tooLarge
        /// It exists but is not a regular file, or cannot be read; the reason in words.
        case unreadable(String)
        case contents(Data)
    }

    static func read(_ url: URL, limit: Int) -> Outcome {
        let (descriptor, status): (Int32, stat)
        switch RegularFile.open(url.path) {
        case .file(let opened, let info): (descriptor, status) = (opened, info)
        case .missing: return .missing
        case .unusable(let reason): return .unreadable(reason)
        }
        defer { close(descriptor) }
        guard status.st_size <= Int64(limit) else { return .tooLarge }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .unreadable(String(cString: strerror(errno)).lowercased()) }
            if n == 0 { break }
            count += n
        }
        // A file that grew past the limit since `fstat` is refused as well.
        return count > limit ? .tooLarge : .contents(Data(bytes[..<count]))
    }
}
