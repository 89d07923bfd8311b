import Foundation
import TimbreCore

/// Lists audio files under a folder, recursively, in a stable order.
public enum AudioFileFinder {
    /// Extensions of formats libsndfile decodes.
    public static let audioExtensions: Set<String> = [
        "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au", "snd", "caf", "w64", "rf64",
    ]

    public static func isAudio(_ url: URL) -> Bool {
        audioExtensions.contains(url.pathExtension.lowercased())
    }

    /// Every regular file under `root` (symbolic links to files included), sorted by
    /// relative path; hidden files and folders skipped. Symbolic links to folders are not
    /// followed, so a link cannot lead the walk outside `root` or round in a loop.
    ///
    /// Reads folders with `readdir`, whose entry types spare a `stat` per file; only links
    /// and entries of unknown type are looked up.
    public static func allFiles(under root: URL) -> [URL] {
        var files: [URL] = []
        var folders = [root.path]
        while let folder = folders.popLast() {
            guard let directory = FileSystemName.withPath(folder, { opendir($0) }) else { continue }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                // Names that are not UTF-8 keep their bytes (`FileSystemName`).
                let name = withUnsafeBytes(of: entry.pointee.d_name) { FileSystemName.decode($0.prefix { $0 != 0 }) }
                guard !name.hasPrefix(".") else { continue }
                let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
                switch kind(of: path, type: entry.pointee.d_type) {
                case .file: files.append(URL(fileURLWithPath: path, isDirectory: false))
                case .folder: folders.append(path)
                case .other: break
                }
            }
        }
        return files.sorted { $0.path < $1.path }
    }

    private enum EntryKind { case file, folder, other }

    private static func kind(of path: String, type: UInt8) -> EntryKind {
        switch Int32(type) {
        case Int32(DT_REG): return .file
        case Int32(DT_DIR): return .folder
        case Int32(DT_LNK): return linkedFileKind(path)
        default:
            var status = stat()
            guard FileSystemName.withPath(path, { lstat($0, &status) }) == 0 else { return .other }
            switch status.st_mode & S_IFMT {
            case S_IFREG: return .file
            case S_IFDIR: return .folder
            case S_IFLNK: return linkedFileKind(path)
            default: return .other
            }
        }
    }

    /// A link counts when it leads to a regular file; links to folders are not followed.
    private static func linkedFileKind(_ path: String) -> EntryKind {
        var status = stat()
        return FileSystemName.withPath(path, { stat($0, &status) }) == 0 && (status.st_mode & S_IFMT) == S_IFREG ? .file : .other
    }

    public static func audioFiles(under root: URL) -> [URL] {
        allFiles(under: root).filter(isAudio)
    }

    /// `url`'s path relative to `root` (or its last component if outside it).
    public static func relativePath(of url: URL, to root: URL) -> String {
        let rootPath = root.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        if path.hasPrefix(rootPath + "/") { return String(path.dropFirst(rootPath.count + 1)) }
        return url.lastPathComponent
    }
}
