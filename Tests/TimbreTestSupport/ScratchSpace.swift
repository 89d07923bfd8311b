import Foundation

/// Where tests write their files: one folder per test process in the temporary directory,
/// removed when the process exits, so that running the tests again and again leaves nothing behind.
///
/// A run that was killed cannot remove its folder; the next run removes every such folder whose
/// process is gone.
public enum ScratchSpace {
    /// This process's folder, made on first use.
    public static let root: URL = {
        let temporary = FileManager.default.temporaryDirectory
        removeFoldersOfEndedRuns(in: temporary)
        let root = temporary.appendingPathComponent("\(prefix)\(getpid())")
        try? FileManager.default.removeItem(at: root)
        try! FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: ScratchSpace.root) }
        return root
    }()

    private static let prefix = "timbre-tests-pid"

    /// Removes the folders left by test processes that no longer run.
    private static func removeFoldersOfEndedRuns(in temporary: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = pid_t(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
        }
    }
}

/// A unique path in the scratch space, named after `purpose`; nothing is created there.
public func scratchPath(_ purpose: String) -> URL {
    ScratchSpace.root.appendingPathComponent("\(purpose)-\(UUID().uuidString)")
}

/// A new empty folder in the scratch space, named after `purpose`.
public func scratchFolder(_ purpose: String) -> URL {
    let url = scratchPath(purpose)
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
