/// File-name handling on plain strings. Foundation's `NSString.deletingPathExtension`
/// traps on some strings (e.g. slashes around an invalid byte), and these names come from
/// untrusted folders and label files.
public enum FileName {
    /// `name`'s last path component without its extension: "take 1.wav" → "take 1",
    /// ".hidden" → ".hidden", "a/b.c.wav" → "b.c".
    public static func withoutExtension(_ name: String) -> String {
        let last = name.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(name)
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return String(last) }
        return String(last[..<dot])
    }
}
