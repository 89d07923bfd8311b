import Foundation

/// Writes whole texts to standard output or standard error through the descriptor, so a
/// failed write (a full disk, a closed pipe) is an error the caller sees rather than a
/// trap (Foundation's `FileHandle.write(_:)` stops the process on one).
enum StandardStream {
    /// Writes all of `text` to `descriptor`; returns 0, or the error number of the write
    /// that failed.
    static func write(_ text: String, to descriptor: Int32) -> Int32 {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                // A descriptor shared with a parent may be non-blocking: wait until it drains.
                var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, 1000)
                continue
            }
            if n <= 0 { return n < 0 ? errno : EIO }
            written += n
        }
        return 0
    }
}
