import Foundation
import TimbreCore
import TimbreModel
import TimbreSeparation
import TimbreTagging

/// `tag --separate` and `evaluate --separate`: a file is split into stems by the separator,
/// each stem is tagged on its own, and the stems' tags are merged (`StemTagMerger`).
enum SeparatedTagging {
    /// Options for tagging stems: no forced top class (leakage from the other stems must
    /// not make a tag), and a floor of `stemThreshold` under every class's threshold.
    static func stemOptions(from options: TagOptions, stemThreshold: Double) -> TagOptions {
        var stemOptions = options
        stemOptions.reportsTopClass = false
        stemOptions.thresholdFloor = stemThreshold
        return stemOptions
    }

    /// The separator at `path` (read safely first, `FileProbe`), or the bundled one.
    static func loadSeparator(_ path: String?) throws -> SeparatorModel {
        guard let path else { return try BundledSeparator.load() }
        try FileProbe.check(path, as: .separator)
        return try SeparatorModel.read(from: URL(fileURLWithPath: path))
    }

    /// Separates `file` into a temporary folder, tags every stem and merges the tags.
    static func tag(_ file: (url: URL, path: String), separator: BlockSeparator, tagger: Tagger) -> Result<FileTags, FileError> {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-stems-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var output = BlockSeparator.Output(folder: folder, stems: separator.model.settings.stems)
        output.format = .wavFloat
        do {
            try separator.separate(file.url, into: output)
        } catch let error as FileError {
            return .failure(FileError(path: file.path, reason: error.reason))
        } catch {
            return .failure(FileError(path: file.path, reason: ErrorDescription.line(error)))
        }
        var stems: [(stem: String, tags: FileTags)] = []
        var failure: FileError?
        let stemFiles = output.stems.map { (url: folder.appendingPathComponent("\($0.rawValue).wav"), path: $0.rawValue) }
        tagger.tag(stemFiles) { outcome in
            switch outcome {
            case .success(let tags): stems.append((tags.path, tags))
            case .failure(let error): failure = FileError(path: file.path, reason: "stem \(error.path): \(error.reason)")
            }
        }
        if let failure { return .failure(failure) }
        return .success(StemTagMerger.merge(path: file.path, stems: stems))
    }
}
