import Foundation
import TimbreCore
import TimbreModel
import TimbreSeparation
import TimbreNN
import TimbreTagging
import TimbreTraining

/// `tag --separate` and `evaluate --separate`: a file is split into stems by the separator,
/// each stem is tagged on its own, and the stems' tags are merged (`StemTagMerger`). What
/// one stem hears of another is not tagged: a stem's windows more than `gateDB` under the
/// mix's count as silent.
enum SeparatedTagging {
    /// Options for tagging stems: no forced top class (leakage from the other stems must
    /// not make a tag), and a floor of `stemThreshold` under every class's threshold.
    /// `tag` then spares each stem's own classes the floor (`StemGroups.ownClasses`:
    /// voice in the vocals stem is not leakage).
    static func stemOptions(from options: TagOptions, stemThreshold: Double) -> TagOptions {
        var stemOptions = options
        stemOptions.reportsTopClass = false
        stemOptions.thresholdFloor = stemThreshold
        return stemOptions
    }

    /// The classifier for the stems: the one at `path` (read safely first, `FileProbe`), else
    /// `classifier`. Its tags are merged with the classifier's by class, so it must name the
    /// same classes.
    static func loadStemClassifier(_ path: String?, classifier: ModelFile) throws -> ModelFile {
        guard let path else { return classifier }
        try FileProbe.check(path, as: .model)
        let stemClassifier = try ModelFile.read(from: URL(fileURLWithPath: path))
        guard stemClassifier.features.classCodes == classifier.features.classCodes else {
            throw FileError(path: path, reason: "names the classes \(stemClassifier.features.classCodes.joined(separator: ",")), not the classifier's \(classifier.features.classCodes.joined(separator: ","))")
        }
        return stemClassifier
    }

    /// A tagger for the stems with the stem classifier's own thresholds (or `threshold` for
    /// every class), the rest of `options`, and `stemOptions`' floor; `network` is the stem
    /// classifier's network when the caller has built it already.
    static func stemTagger(_ stemClassifier: ModelFile, network: Sequential? = nil, options: TagOptions, threshold: Double?, stemThreshold: Double,
                           rmsThresholdDB: Double? = nil) throws -> Tagger {
        var options = options
        (options.threshold, options.classThresholds) = stemClassifier.decisionThresholds(override: threshold)
        let features = stemClassifier.features
        var settings = features.settings
        if let rmsThresholdDB { settings.rmsThresholdDB = rmsThresholdDB }
        return Tagger(model: try network ?? stemClassifier.makeModel(), settings: settings, classCodes: features.classCodes, classNames: features.classNames,
                      options: stemOptions(from: options, stemThreshold: stemThreshold))
    }

    /// The separator at `path` (read safely first, `FileProbe`), or the bundled one.
    static func loadSeparator(_ path: String?) throws -> SeparatorModel {
        guard let path else { return try BundledSeparator.load() }
        try FileProbe.check(path, as: .separator)
        return try SeparatorModel.read(from: URL(fileURLWithPath: path))
    }

    /// Each stem's own classes (`StemGroups.ownClasses`), worked out once from the label tables.
    static let ownClassesOfStem = Dictionary(uniqueKeysWithValues: SeparationStem.allCases.map { ($0, StemGroups.standard.ownClasses(of: $0)) })

    /// The default of `--stem-gate-db`, chosen on held-out validation songs: a separated
    /// stem's window more than 17 dB under the mix's is what the other stems leaked into it.
    static let defaultGateDB = -17.0

    /// Separates `file` into a temporary folder, tags every stem, silences the windows where
    /// a stem is more than `gateDB` under the mix, and merges the tags. A file the separator
    /// lifted to its training level (`--input-gain lift`) has its stems gated as lifted: the
    /// classifier's silence gate moves down by the same gain, so a quiet recording's stems
    /// are not silenced where the recording played louder would be tagged.
    static func tag(_ file: (url: URL, path: String), separator: BlockSeparator, tagger: Tagger, gateDB: Double = defaultGateDB) -> Result<FileTags, FileError> {
        let merged = tag(file, tagger: {
            let lift = separator.lastInputGainDecibels
            return lift > 0 ? tagger.gateLowered(by: lift) : tagger
        }, gateDB: gateDB) { folder in
            var output = BlockSeparator.Output(folder: folder, stems: separator.model.settings.stems)
            output.format = .wavFloat
            try separator.separate(file.url, into: output)
            return output.stems
        }
        return merged.map { tags in
            var tags = tags
            tags.silencedSamples = separator.lastSilencedSamples
            return tags
        }
    }

    /// Tags the stems `writeStems` puts into a temporary folder (`<stem>.wav`, returning
    /// which) as `tag --separate` tags separated ones, with the tagger `tagger` gives once
    /// they are written: `evaluate --oracle-stems` gives it a song's own stems.
    static func tag(_ file: (url: URL, path: String), tagger makeTagger: () -> Tagger, gateDB: Double, writeStems: (URL) throws -> [SeparationStem]) -> Result<FileTags, FileError> {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-stems-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let written: [SeparationStem]
        do {
            written = try writeStems(folder)
        } catch let error as FileError {
            // A song's own stem that cannot be read is named; the separator's errors are the input's.
            return .failure(FileError(path: file.path, reason: error.path == file.url.path ? error.reason : "\(error.path): \(error.reason)"))
        } catch {
            return .failure(FileError(path: file.path, reason: ErrorDescription.line(error)))
        }
        var stems: [(stem: String, tags: FileTags)] = []
        var failure: FileError?
        var mixLevels: [Double]?
        let tagger = makeTagger()
        let stemFiles = written.map { (url: folder.appendingPathComponent("\($0.rawValue).wav"), path: $0.rawValue) }
        tagger.tag(stemFiles) { outcome in
            do {
                let tags = try outcome.get()
                let spans = tags.timeline.map { (start: $0.start, end: $0.end) }
                let mix = try mixLevels ?? WindowLevels.decibels(of: file.url, spans: spans)
                mixLevels = mix
                let stemLevels = try WindowLevels.decibels(of: folder.appendingPathComponent("\(tags.path).wav"), spans: spans)
                let leaked = Set(stemLevels.indices.filter { !(stemLevels[$0] - mix[$0] >= gateDB) })
                let ownClasses = SeparationStem(rawValue: tags.path).flatMap { ownClassesOfStem[$0] } ?? []
                stems.append((tags.path, tagger.silencing(tags, windows: leaked, floorExempt: ownClasses)))
            } catch let error as FileError {
                failure = FileError(path: file.path, reason: "stem \(error.path): \(error.reason)")
            } catch {
                failure = FileError(path: file.path, reason: ErrorDescription.line(error))
            }
        }
        if let failure { return .failure(failure) }
        return .success(StemTagMerger.merge(path: file.path, stems: stems))
    }
}
