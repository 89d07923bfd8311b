import Foundation

/// Resolves paths named inside untrusted files (data-set metadata, instrument
/// definitions) so that they cannot lead outside the folder they belong to: neither with
/// `..`, nor with an absolute path, nor through a symbolic link.
public enum ConfinedPath {
    /// `relative` taken from `base`, with `..` and symbolic links resolved; nil when the
    /// result is not inside `root` (or is `root` itself), or `relative` is absolute.
    public static func resolve(_ relative: String, from base: URL, inside root: URL) -> URL? {
        guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.contains("\0") else { return nil }
        let candidate = base.appendingPathComponent(relative, isDirectory: false).standardizedFileURL
        let rootPath = real(root.standardizedFileURL.path)
        guard contains(rootPath, real(candidate.path)) else { return nil }
        return candidate
    }

    /// The path with every symbolic link resolved, as far as the path exists; the rest is
    /// kept as written (a missing file is reported when it is opened).
    private static func real(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let parent = (path as NSString).deletingLastPathComponent
        guard parent != path, !parent.isEmpty else { return path }
        return (real(parent) as NSString).appendingPathComponent((path as NSString).lastPathComponent)
    }

    private static func contains(_ root: String, _ path: String) -> Bool {
        path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}
