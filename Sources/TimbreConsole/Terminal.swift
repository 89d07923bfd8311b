import Foundation

/// Facts about the terminal Timbre talks to.
public enum Terminal {
    /// True when standard error is an interactive terminal (progress bars draw only then).
    public static var stderrIsInteractive: Bool { isatty(STDERR_FILENO) == 1 }

    /// Columns of the terminal on standard error, 80 when unknown.
    public static var width: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// Writes one line to standard error, with control characters shown as `\x1B` and the
    /// like: a file name or a label cannot move the cursor or start an escape sequence.
    public static func printError(_ line: String) {
        writeError(escapingControls(line) + "\n")
    }

    /// Writes `text` to standard error as it is; a failure is remembered, not fatal.
    public static func writeError(_ text: String) {
        let failure = StandardStream.write(text, to: STDERR_FILENO)
        if failure != 0 { errorLock.withLock { if errorFailure == 0 { errorFailure = failure } } }
    }

    /// Why a message could not be written to standard error, nil when all were.
    public static var errorFailureReason: String? {
        let failure = errorLock.withLock { errorFailure }
        return failure == 0 ? nil : String(cString: strerror(failure)).lowercased()
    }

    private static let errorLock = NSLock()
    nonisolated(unsafe) private static var errorFailure: Int32 = 0

    /// `text` with C0 and C1 control characters (newlines and tabs included) and DEL as
    /// `\xNN`, and the stray bytes of file names that are not UTF-8 (U+EF80–U+EFFF, see
    /// `FileSystemName` in TimbreCore) as the bytes they stand for.
    /// With `keepingNewlines`, line feeds stay as they are (for multi-line usage text).
    public static func escapingControls(_ text: String, keepingNewlines: Bool = false) -> String {
        func escaped(_ scalar: Unicode.Scalar) -> Bool { isControl(scalar) && !(keepingNewlines && scalar == "\n") }
        guard text.unicodeScalars.contains(where: { escaped($0) || isStrayByte($0) }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if escaped(scalar) {
                out += String(format: "\\x%02X", scalar.value)
            } else if isStrayByte(scalar) {
                out += String(format: "\\x%02X", scalar.value - 0xEF00)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static func isStrayByte(_ scalar: Unicode.Scalar) -> Bool { (0xEF80...0xEFFF).contains(scalar.value) }

    /// "1:05:09", "4:09" or "12s".
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}
