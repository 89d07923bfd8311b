import Foundation

/// Finds the resource folders Timbre ships with its binary (`Timbre_*.resources`: the
/// bundled models and the label tables).
///
/// They sit beside the executable in a build folder or with a copied binary, or in
/// `PREFIX/share/timbre` when `make install` put the binary in `PREFIX/bin`. The executable
/// is found through `/proc/self/exe`, so a binary reached through `PATH` or a link finds
/// them too.
public enum ResourceFolders {
    /// The folders searched, in order.
    public static var searched: [URL] {
        var folders: [URL] = []
        for executable in [runningExecutable, URL(fileURLWithPath: CommandLine.arguments.first ?? "")].compactMap({ $0 }) {
            let bin = executable.resolvingSymlinksInPath().deletingLastPathComponent()
            folders += [bin, bin.deletingLastPathComponent().appendingPathComponent("share/timbre")]
        }
        folders.append(Bundle.main.bundleURL)
        var seen = Set<String>()
        return folders.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    /// The first `folder/relativePath` that exists among `searched`, e.g.
    /// `locate("Timbre_TimbreModel.resources/default-model.h5")`.
    public static func locate(_ relativePath: String) -> URL? {
        searched.map { $0.appendingPathComponent(relativePath) }.first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// The running binary's path from the kernel, or nil where there is no `/proc`.
    public static var runningExecutable: URL? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return URL(fileURLWithPath: String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
