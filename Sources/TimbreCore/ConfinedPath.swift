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
        guard let rootPath = real(root.standardizedFileURL.path), let path = real(candidate.path), contains(rootPath, path) else { return nil }
        return candidate
    }

    /// The path with every symbolic link resolved, as far as the path exists; the rest is
    /// kept as written (a missing file is reported when it is opened). Resolved through the
    /// system's bytes, as the file will be opened (`FileSystemName`). Nil when an entry
    /// exists but cannot be resolved (a loop of links, say): it is refused, not guessed.
    private static func real(_ path: String) -> String? {
        if let resolved = FileSystemName.withPath(path, { realpath($0, nil) }) {
            defer { free(resolved) }
            return FileSystemName.decode(UnsafeBufferPointer(start: UnsafeRawPointer(resolved).assumingMemoryBound(to: UInt8.self), count: strlen(resolved)))
        }
        var status = stat()
        guard FileSystemName.withPath(path, { lstat($0, &status) }) != 0 else { return nil }
        let parent = (path as NSString).deletingLastPathComponent
        guard parent != path, !parent.isEmpty else { return path }
        return real(parent).map { ($0 as NSString).appendingPathComponent((path as NSString).lastPathComponent) }
    }

    private static func contains(_ root: String, _ path: String) -> Bool {
        path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }
}
