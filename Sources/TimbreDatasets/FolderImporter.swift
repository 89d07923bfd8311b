import Foundation
import TimbreCore

/// Folder-per-class collections: `root/<class>/**/<audio>`, where `<class>` is a class
/// code, name or a synonym from `labels/folder-names.csv`. Every file is its own group.
public enum FolderImporter {
    public static func importRoot(_ root: URL, taxonomy: Taxonomy, names: LabelMap = .folderNames) -> ImportResult {
        var result = ImportResult(layout: .folders)
        var unmapped: [String: Int] = [:]
        for url in AudioFileFinder.audioFiles(under: root) {
            let relative = AudioFileFinder.relativePath(of: url, to: root)
            let parts = relative.split(separator: "/")
            guard parts.count >= 2 else {
                result.failures.append(FileError(path: relative, reason: "is not inside a class folder"))
                continue
            }
            let folder = String(parts[0])
            guard let code = names.code(for: folder), let index = taxonomy.index(of: code) else {
                unmapped[folder, default: 0] += 1
                continue
            }
            result.jobs.append(.single(LabelledAudio(url: url, relativePath: relative, classIndices: [index]), group: "file:\(relative)"))
        }
        for (folder, count) in unmapped.sorted(by: { $0.key < $1.key }) {
            result.failures.append(FileError(path: folder, reason: "folder names no known class (\(count) file(s) skipped); see labels/folder-names.csv"))
        }
        return result
    }
}
