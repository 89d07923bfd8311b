import Foundation

/// Checks made on an output path before any work starts, so that a read-only folder or a
/// folder in the way is reported at once, not after hours of computing.
public enum OutputPath {
    /// Throws unless a file can be written at `url`: its folder exists, is a folder and is
    /// writable, and `url` is not itself a folder.
    public static func checkFile(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        if FileSystemName.status(of: path).isFolder {
            throw FileError(path: path, reason: "is a folder, not a file that can be written")
        }
        try checkWritableFolder((path as NSString).deletingLastPathComponent, for: path)
    }

    /// Throws unless `url` is a folder that exists or can be made: the nearest existing
    /// folder above it is writable, and nothing that is not a folder stands in the way.
    public static func checkFolder(_ url: URL) throws {
        var path = url.standardizedFileURL.path
        var status = FileSystemName.status(of: path)
        while !status.exists {
            let parent = (path as NSString).deletingLastPathComponent
            if parent == path || parent.isEmpty { return }
            path = parent
            status = FileSystemName.status(of: path)
        }
        guard status.isFolder else { throw FileError(path: path, reason: "is a file where a folder is needed") }
        try checkWritableFolder(path, for: url.path)
    }

    /// Throws when the file at `url` is one of `inputs` (the same file under any name):
    /// replacing it would destroy what the run reads.
    public static func checkNotAnInput(_ url: URL, inputs: [String]) throws {
        var output = stat()
        guard FileSystemName.withPath(url.path, { stat($0, &output) }) == 0 else { return }
        for input in inputs {
            var status = stat()
            if FileSystemName.withPath(input, { stat($0, &status) }) == 0, status.st_dev == output.st_dev, status.st_ino == output.st_ino {
                throw FileError(path: url.path, reason: "is also an input (\(input)); write to another file")
            }
        }
    }

    private static func checkWritableFolder(_ folder: String, for path: String) throws {
        let folder = folder.isEmpty ? "." : folder
        let status = FileSystemName.status(of: folder)
        guard status.exists else { throw FileError(path: path, reason: "its folder \(folder) does not exist") }
        guard status.isFolder else { throw FileError(path: path, reason: "\(folder) is not a folder") }
        guard FileSystemName.withPath(folder, { access($0, W_OK) }) == 0 else {
            throw FileError(path: path, reason: "cannot write in \(folder) (\(String(cString: strerror(errno)).lowercased()))")
        }
    }
}
