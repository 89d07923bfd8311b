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
        guard failure == 0 else { return }
        failure = StandardStream.write((toTerminal ? Terminal.escapingControls(line) : line) + "\n", to: STDOUT_FILENO)
    }

    /// Writes each line of `text` (a table, say) as `line` does.
    public static func lines(_ text: String) {
        for part in text.split(separator: "\n", omittingEmptySubsequences: false) { line(String(part)) }
    }

    /// The reason the results could not all be written, nil when they were.
    public static var failureReason: String? {
        failure == 0 ? nil : String(cString: strerror(failure)).lowercased()
    }
}
