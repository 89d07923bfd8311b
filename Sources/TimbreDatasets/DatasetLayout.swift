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
    public static func importRoot(_ root: URL, layout: DatasetLayout?, taxonomy: Taxonomy = .standard) throws -> ImportResult {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory) else {
            throw FileError(path: root.path, reason: "no such file or folder")
        }
        guard isDirectory.boolValue else {
            throw FileError(path: root.path, reason: "is a file; give the folder that holds the data set")
        }
        switch layout ?? DatasetLayout.detect(root) {
        case .irmas: return IRMASTrainingImporter.importRoot(root, taxonomy: taxonomy)
        case .irmasTest: return IRMASTestingImporter.importRoot(root, taxonomy: taxonomy)
        case .medleydb: return MedleyDBImporter.importRoot(root, taxonomy: taxonomy)
        case .folders: return FolderImporter.importRoot(root, taxonomy: taxonomy)
        }
    }
}
