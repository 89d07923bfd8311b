import Foundation

/// Opens a file named by an untrusted source for reading, only when it is a regular file:
/// non-blocking, so that a named pipe returns at once (reads of regular files ignore the
/// flag), and by the name's bytes (`FileSystemName`).
public enum RegularFile {
    public enum Opened {
        /// The open descriptor (the caller closes it) and what `fstat` said of it.
        case file(descriptor: Int32, status: stat)
        case missing
        /// It exists but is not a regular file, or cannot be opened; the reason in words.
        case unusable(String)
    }

    public static func open(_ path: String) -> Opened {
        let descriptor = FileSystemName.withPath(path) { Foundation.open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard descriptor >= 0 else {
            return errno == ENOENT || errno == ENOTDIR ? .missing : .unusable(String(cString: strerror(errno)).lowercased())
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            return .unusable("not a regular file")
        }
        return .file(descriptor: descriptor, status: status)
    }
}
