import Foundation

/// File names are bytes, Timbre's paths are Strings. A name that is not valid UTF-8 (an old
/// Latin-1 archive, say) would lose its stray bytes in a String, and the file could not be
/// opened again. Such bytes are therefore decoded to private-use characters, byte b
/// (0x80–0xFF) to U+EF00 + b, and encoded back to the same byte whenever a path reaches
/// the system. Valid UTF-8 names are unchanged. (The cost: a name that really contains
/// U+EF80–U+EFFF is not found.)
public enum FileSystemName {
    /// `bytes` as a String, every byte that is not part of valid UTF-8 kept as U+EF00 + b.
    public static func decode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        var out = String.UnicodeScalarView()
        var input = Array(bytes)[...]
        while !input.isEmpty {
            var parser = Unicode.UTF8.ForwardParser()
            var next = input.makeIterator()
            switch parser.parseScalar(from: &next) {
            case .valid(let encoded):
                out.append(Unicode.UTF8.decode(encoded))
                input = input.dropFirst(encoded.count)
            case .error(let length):
                for byte in input.prefix(length) { out.append(Unicode.Scalar(0xEF00 + UInt32(byte))!) }
                input = input.dropFirst(length)
            case .emptyInput:
                input = input.dropFirst(input.count)
            }
        }
        return String(out)
    }

    /// The bytes of `path` for the system: UTF-8, with U+EF80–U+EFFF back as the bytes
    /// they stand for.
    public static func encode(_ path: String) -> [CChar] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(path.utf8.count + 1)
        for scalar in path.unicodeScalars {
            if (0xEF80...0xEFFF).contains(scalar.value) {
                bytes.append(UInt8(scalar.value - 0xEF00))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        bytes.append(0)
        return bytes.map { CChar(bitPattern: $0) }
    }

    /// Calls `body` with `path` as the system's bytes.
    public static func withPath<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try encode(path).withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// The process's arguments, decoded from their bytes the same way.
    public static var arguments: [String] {
        (0..<Int(CommandLine.argc)).map { index in
            guard let argument = CommandLine.unsafeArgv[index] else { return "" }
            return decode(UnsafeBufferPointer(start: UnsafeRawPointer(argument).assumingMemoryBound(to: UInt8.self), count: strlen(argument)))
        }
    }

    /// The names in the folder at `path` (without "." and ".."), decoded from their bytes;
    /// empty when it cannot be read.
    public static func entries(of path: String) -> [String] {
        guard let directory = withPath(path, { opendir($0) }) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { decode($0.prefix { $0 != 0 }) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Creates the folder `path` and any missing parents (as `mkdir -p`), each by its bytes.
    public static func makeFolders(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if withPath(prefix, { mkdir($0, 0o755) }) != 0, errno != EEXIST {
                throw FileError(path: path, reason: "cannot create the folder (\(String(cString: strerror(errno))))")
            }
        }
        guard status(of: path).isFolder else { throw FileError(path: path, reason: "cannot create the folder (a file is in the way)") }
    }

    /// Renames `source` to `destination` by their bytes; false (with `errno` set) on failure.
    public static func rename(_ source: String, to destination: String) -> Bool {
        withPath(source) { from in withPath(destination) { to in Foundation.rename(from, to) == 0 } }
    }

    /// Writes `data` to a hidden file beside `path`, then renames it into place, by bytes.
    public static func write(_ data: Data, atomicallyTo path: String) throws {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let partial = String(path[..<slash]) + "." + String(path[slash...]) + ".partial"
        let descriptor = withPath(partial) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard descriptor >= 0 else { throw FileError(path: path, reason: "cannot write (\(String(cString: strerror(errno))))") }
        let complete = data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                guard written > 0 else { return false }
                offset += written
            }
            return true
        }
        let closed = close(descriptor) == 0
        guard complete, closed, rename(partial, to: path) else {
            let reason = String(cString: strerror(errno))
            remove(partial)
            throw FileError(path: path, reason: "cannot write (\(reason))")
        }
    }

    /// Runs `write` on a hidden file beside `url`, then renames it into place, so `url` is
    /// either the file that was there or the whole new one: a write that fails (a full disk,
    /// a missing value) removes the hidden file and leaves `url` as it was.
    public static func replace(_ url: URL, writing write: (URL) throws -> Void) throws {
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        remove(partial.path)
        do {
            try write(partial)
        } catch {
            remove(partial.path)
            throw error
        }
        guard rename(partial.path, to: url.path) else {
            let reason = String(cString: strerror(errno))
            remove(partial.path)
            throw FileError(path: url.path, reason: "cannot move the finished file into place (\(reason))")
        }
    }

    /// Removes the file `path` if it exists.
    public static func remove(_ path: String) {
        _ = withPath(path) { unlink($0) }
    }

    /// Whether `path` exists, and whether it is a folder (links followed).
    public static func status(of path: String) -> (exists: Bool, isFolder: Bool) {
        var info = stat()
        guard withPath(path, { stat($0, &info) }) == 0 else { return (false, false) }
        return (true, (info.st_mode & S_IFMT) == S_IFDIR)
    }
}
