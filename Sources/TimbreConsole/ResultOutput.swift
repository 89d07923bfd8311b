import Foundation

/// Result lines on standard output, written straight to the descriptor so that a failed
/// write (a full disk, a closed pipe) is seen: the run then ends with an error instead of
/// status 0. Call from one thread.
public enum ResultOutput {
    nonisolated(unsafe) private static var failure: Int32 = 0

    /// On a terminal, result lines get their control characters escaped, as messages do;
    /// into a file or a pipe they go as they are.
    private static let toTerminal = isatty(STDOUT_FILENO) == 1

    /// Writes `line` and a newline; remembers the first error.
    public static func line(_ line: String) {
        let bytes = Array(((toTerminal ? Terminal.escapingControls(line) : line) + "\n").utf8)
        var written = 0
        while written < bytes.count, failure == 0 {
            let n = bytes.withUnsafeBytes { Foundation.write(STDOUT_FILENO, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                // A descriptor shared with a parent may be non-blocking: wait until it drains.
                var ready = pollfd(fd: STDOUT_FILENO, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, 1000)
                continue
            }
            if n <= 0 { failure = n < 0 ? errno : EIO } else { written += n }
        }
    }

    /// The reason the results could not all be written, nil when they were.
    public static var failureReason: String? {
        failure == 0 ? nil : String(cString: strerror(failure)).lowercased()
    }
}
