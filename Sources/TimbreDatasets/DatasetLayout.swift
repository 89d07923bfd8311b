import Foundation
import TimbreCore

/// How a folder of audio is organised, and so where its labels come from.
public enum DatasetLayout: String, Sendable, CaseIterable {
    /// IRMAS training data: the first `[code]` of each file name is the class.
    case irmas
    /// IRMAS testing data: each audio file has a `.txt` beside it listing its codes.
    case irmasTest = "irmas-test"
    /// MedleyDB: song folders with `<Song>_METADATA.yaml`, a mix and stems.
    case medleydb
    /// One sub-folder per class, named by the class (code, name or a listed synonym).
    case folders

    /// Decides the layout from the files under `root`: MedleyDB metadata wins, then
    /// audio with sibling label files, then IRMAS-style bracketed names, else folders.
    public static func detect(_ root: URL) -> DatasetLayout {
        let files = AudioFileFinder.allFiles(under: root)
        if files.contains(where: { $0.lastPathComponent.hasSuffix("_METADATA.yaml") }) { return .medleydb }
        let audio = files.filter(AudioFileFinder.isAudio)
        let paths = Set(files.map(\.path))
        let labelled = audio.filter { paths.contains($0.deletingPathExtension().appendingPathExtension("txt").path) }
        if !audio.isEmpty && labelled.count * 2 >= audio.count { return .irmasTest }
        let bracketed = audio.filter { IRMASTrainingImporter.parse($0.lastPathComponent) != nil }
        if !audio.isEmpty && bracketed.count * 2 >= audio.count { return .irmas }
        return .folders
    }
}

/// Reads an input root in a given (or detected) layout into preparation jobs.
public enum DatasetImporter {
    /// A root whose top-level folders hold different layouts side by side (for example
    /// `timbre synth`'s `IRMAS-TrainingData/` and `MedleyDB/`) is read part by part when the
    /// layout is detected, so no half of it is ignored. Files in formats libsndfile cannot
    /// read (`.m4a`, ...) are named in a note instead of being skipped silently.
    public static func importRoot(_ root: URL, layout: DatasetLayout?, taxonomy: Taxonomy = .standard) throws -> ImportResult {
        let status = FileSystemName.status(of: root.path)
        guard status.exists else {
            throw FileError(path: root.path, reason: "no such file or folder")
        }
        guard status.isFolder else {
            throw FileError(path: root.path, reason: "is a file; give the folder that holds the data set")
        }
        var result: ImportResult
        if layout == nil, let parts = mixedParts(of: root) {
            result = ImportResult(layout: parts.first!.layout)
            for (folder, partLayout) in parts {
                let part = importWhole(root.appendingPathComponent(folder), layout: partLayout, taxonomy: taxonomy).prefixed(folder + "/")
                result.jobs += part.jobs
                result.failures += part.failures
                result.notes += part.notes
                result.parts += part.parts
            }
            let used = Set(parts.map(\.folder))
            for folder in topLevelFolders(of: root) where !used.contains(folder) {
                result.notes.append("\(folder)/: no data set layout found beside the others; not used")
            }
        } else {
            result = importWhole(root, layout: layout ?? DatasetLayout.detect(root), taxonomy: taxonomy)
        }
        if let note = unreadableFormatsNote(under: root) { result.notes.append(note) }
        return result
    }

    private static func importWhole(_ root: URL, layout: DatasetLayout, taxonomy: Taxonomy) -> ImportResult {
        var result: ImportResult
        switch layout {
        case .irmas: result = IRMASTrainingImporter.importRoot(root, taxonomy: taxonomy)
        case .irmasTest: result = IRMASTestingImporter.importRoot(root, taxonomy: taxonomy)
        case .medleydb: result = MedleyDBImporter.importRoot(root, taxonomy: taxonomy)
        case .folders: result = FolderImporter.importRoot(root, taxonomy: taxonomy)
        }
        result.parts = [ImportPart(folder: "", layout: result.layout, jobs: result.jobs.count)]
        return result
    }

    /// The top-level folders and their layouts when they hold at least two different
    /// data set layouts (IRMAS training or testing, MedleyDB); nil otherwise. A root of
    /// class folders or of songs detects one layout in every folder, so it is read whole.
    static func mixedParts(of root: URL) -> [(folder: String, layout: DatasetLayout)]? {
        let parts = topLevelFolders(of: root).compactMap { folder -> (folder: String, layout: DatasetLayout)? in
            let layout = DatasetLayout.detect(root.appendingPathComponent(folder))
            return layout == .folders ? nil : (folder, layout)
        }
        return Set(parts.map(\.layout)).count >= 2 ? parts : nil
    }

    private static func topLevelFolders(of root: URL) -> [String] {
        FileSystemName.entries(of: root.path).filter { !$0.hasPrefix(".") && FileSystemName.status(of: root.path + "/" + $0).isFolder }.sorted()
    }

    /// Audio in formats libsndfile does not decode, which the layouts never list.
    static let unreadableExtensions: Set<String> = ["m4a", "m4b", "mp4", "aac", "alac", "wma", "ape", "webm", "mka", "ac3", "dts", "amr"]

    /// "3 audio files in formats libsndfile cannot read were skipped (m4a: 3), e.g. a/b.m4a; …".
    static func unreadableFormatsNote(under root: URL) -> String? {
        let skipped = AudioFileFinder.allFiles(under: root).filter { unreadableExtensions.contains($0.pathExtension.lowercased()) }
        guard let first = skipped.first else { return nil }
        var counts: [String: Int] = [:]
        for url in skipped { counts[url.pathExtension.lowercased(), default: 0] += 1 }
        let byFormat = counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        let files = skipped.count == 1 ? "1 audio file in a format libsndfile cannot read was" : "\(skipped.count) audio files in formats libsndfile cannot read were"
        return "\(files) skipped (\(byFormat)), "
            + "e.g. \(AudioFileFinder.relativePath(of: first, to: root)); convert them to FLAC or WAV"
    }
}
