import Foundation

/// Checks made on an output path before any work starts, so that a read-only folder or a
/// folder in the way is reported at once, not after hours of computing.
public enum OutputPath {
    /// Throws unless a file can be written at `url`: its folder exists, is a folder and is
    /// writable, and `url` is not itself a folder.
    public static func checkFile(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw FileError(path: path, reason: "is a folder, not a file that can be written")
        }
        try checkWritableFolder((path as NSString).deletingLastPathComponent, for: path)
    }

    /// Throws unless `url` is a folder that exists or can be made: the nearest existing
    /// folder above it is writable, and nothing that is not a folder stands in the way.
    public static func checkFolder(_ url: URL) throws {
        var path = url.standardizedFileURL.path
        var isFolder: ObjCBool = false
        while !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            let parent = (path as NSString).deletingLastPathComponent
            if parent == path || parent.isEmpty { return }
            path = parent
        }
        guard isFolder.boolValue else { throw FileError(path: path, reason: "is a file where a folder is needed") }
        try checkWritableFolder(path, for: url.path)
    }

    private static func checkWritableFolder(_ folder: String, for path: String) throws {
        let folder = folder.isEmpty ? "." : folder
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw FileError(path: path, reason: "its folder \(folder) does not exist")
        }
        guard isFolder.boolValue else { throw FileError(path: path, reason: "\(folder) is not a folder") }
        guard access(folder, W_OK) == 0 else {
            throw FileError(path: path, reason: "cannot write in \(folder) (\(String(cString: strerror(errno)).lowercased()))")
        }
    }
}
